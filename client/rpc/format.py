"""Results shaped as geth gives them: transactions, logs, blocks and receipts (shared by the blocks, transactions,
logs and subscription topics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evm.blobs import GAS_PER_BLOB
from evm.host import create_address as contract_address
from evm.transactions import Transaction

from ..blocks import Receipt
from ..header import Header
from . import types as T

if TYPE_CHECKING:
    from ..node.node import Node


def _hx(n: int) -> str:
    return hex(n)


def _hb(b: bytes) -> str:
    return "0x" + b.hex()


def effective_gas_price(tx: Transaction, base_fee: int | None) -> int:
    if tx.type >= 2:
        if base_fee is None:
            return tx.max_fee_per_gas
        return base_fee + min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)
    return tx.gas_price


def format_tx(tx: Transaction, header: Header | None = None, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "blockHash": _hb(header.hash) if header else None,
        "blockNumber": _hx(header.number) if header else None,
        "from": T.checksum(tx.recover_sender()),
        "gas": _hx(tx.gas),
        "gasPrice": _hx(effective_gas_price(tx, header.base_fee_per_gas if header else None)),
        "hash": _hb(tx.hash),
        "input": _hb(tx.data),
        "nonce": _hx(tx.nonce),
        "to": T.checksum(tx.to) if tx.to is not None else None,
        "transactionIndex": _hx(index) if index is not None else None,
        "value": _hx(tx.value),
        "type": _hx(tx.type),
        "v": _hx(tx.v),
        "r": _hx(tx.r),
        "s": _hx(tx.s),
    }
    if tx.chain_id is not None:
        out["chainId"] = _hx(tx.chain_id)
    if tx.type >= 1:
        out["accessList"] = [
            {"address": T.checksum(a), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in slots]}
            for a, slots in tx.access_list
        ]
        out["yParity"] = _hx(tx.v)
    if tx.type >= 2:
        out["maxFeePerGas"] = _hx(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = _hx(tx.max_priority_fee_per_gas)
    if tx.type == 3:
        out["maxFeePerBlobGas"] = _hx(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [_hb(h) for h in tx.blob_versioned_hashes]
    if tx.type == 4:
        out["authorizationList"] = [
            {
                "chainId": _hx(a.chain_id),
                "address": T.checksum(a.address),
                "nonce": _hx(a.nonce),
                "yParity": _hx(a.y_parity),
                "r": _hx(a.r),
                "s": _hx(a.s),
            }
            for a in tx.authorizations
        ]
    return out


def format_log(log: tuple, header: Header, tx_hash: bytes, tx_index: int, log_index: int) -> dict[str, Any]:
    address, topics, data = log
    return {
        "address": T.checksum(address),
        "topics": [_hb(t) for t in topics],
        "data": _hb(data),
        "blockNumber": _hx(header.number),
        "blockHash": _hb(header.hash),
        "blockTimestamp": _hx(header.timestamp),
        "transactionHash": _hb(tx_hash),
        "transactionIndex": _hx(tx_index),
        "logIndex": _hx(log_index),
        "removed": False,
    }


def block_json(node: Node, header: Header, full: bool) -> dict[str, Any]:
    block = node.block(header)
    out = header.to_json(rpc=True)
    raw = node.store.get_block_rlp(header.hash)  # stored as sealed: no need to encode it again
    out["size"] = _hx(len(raw) if raw is not None else len(block.encode()))
    out["totalDifficulty"] = _hx(0)
    out["uncles"] = []
    if full:
        out["transactions"] = [format_tx(tx, header, i) for i, tx in enumerate(block.transactions)]
    else:
        out["transactions"] = [_hb(tx.hash) for tx in block.transactions]
    if block.withdrawals is not None:
        out["withdrawals"] = [w.to_json() for w in block.withdrawals]
    return out


def receipt_json(
    node: Node, header: Header, txs: list[Transaction], receipts: list[Receipt], i: int, first_log_index: int
) -> dict[str, Any]:
    tx, r = txs[i], receipts[i]
    prev = receipts[i - 1].cumulative_gas_used if i else 0
    sender = tx.recover_sender()
    out = {
        "transactionHash": _hb(tx.hash),
        "transactionIndex": _hx(i),
        "blockHash": _hb(header.hash),
        "blockNumber": _hx(header.number),
        "from": T.checksum(sender),
        "to": T.checksum(tx.to) if tx.to is not None else None,
        "cumulativeGasUsed": _hx(r.cumulative_gas_used),
        "gasUsed": _hx(r.cumulative_gas_used - prev),
        "effectiveGasPrice": _hx(effective_gas_price(tx, header.base_fee_per_gas)),
        "contractAddress": T.checksum(contract_address(sender, tx.nonce)) if tx.to is None else None,
        "logs": [format_log(lg, header, tx.hash, i, first_log_index + k) for k, lg in enumerate(r.logs)],
        "logsBloom": _hb(r.bloom),
        "type": _hx(tx.type),
        "status": _hx(1 if r.succeeded else 0),
    }
    if tx.type == 3:
        out["blobGasUsed"] = _hx(len(tx.blob_versioned_hashes) * GAS_PER_BLOB)
        out["blobGasPrice"] = _hx(node.blob_base_fee(header))
    return out


def block_receipts(node: Node, header: Header) -> list[dict[str, Any]]:
    txs = node.block(header).transactions
    receipts = node.receipts(header)
    out, log_index = [], 0
    for i in range(len(txs)):
        out.append(receipt_json(node, header, txs, receipts, i, log_index))
        log_index += len(receipts[i].logs)
    return out
