"""Blocks: the head's number, blocks by number or hash, their transaction counts and receipts, uncles (none after
the Merge)."""

from __future__ import annotations

from typing import Any

from . import types as T
from .format import _hx, block_json, block_receipts
from .topic import Topic


class BlocksApi(Topic):
    def eth_blockNumber(self) -> str:
        return _hx(self.node.head().number)

    def eth_getBlockByNumber(self, block: Any, full: Any = False) -> dict | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        return block_json(self.node, header, T.boolean(full, 1)) if header else None

    def eth_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict | None:
        header = self.node.header_by_hash(T.hash32(block_hash, 0))
        return block_json(self.node, header, T.boolean(full, 1)) if header else None

    def eth_getBlockTransactionCountByNumber(self, block: Any) -> str | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        return _hx(len(self.node.block(header).transactions)) if header else None

    def eth_getBlockTransactionCountByHash(self, block_hash: Any) -> str | None:
        header = self.node.header_by_hash(T.hash32(block_hash, 0))
        return _hx(len(self.node.block(header).transactions)) if header else None

    def eth_getUncleCountByBlockNumber(self, block: Any) -> str | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        return "0x0" if header else None

    def eth_getUncleCountByBlockHash(self, block_hash: Any) -> str | None:
        return "0x0" if self.node.header_by_hash(T.hash32(block_hash, 0)) else None

    def eth_getUncleByBlockNumberAndIndex(self, block: Any, index: Any) -> None:
        T.block_id(block, 0), T.quantity(index, 1, 64)
        return None  # no uncles after the Merge

    def eth_getUncleByBlockHashAndIndex(self, block_hash: Any, index: Any) -> None:
        T.hash32(block_hash, 0), T.quantity(index, 1, 64)
        return None

    def eth_getBlockReceipts(self, block: Any) -> list | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        return block_receipts(self.node, header) if header else None
