"""Transactions: by hash or position (decoded or raw), receipts, and sending: raw transactions (blob ones in their
network form, with their sidecar) and eth_sendTransaction for the dev accounts and impersonated ones."""

from __future__ import annotations

from hashlib import sha256
from typing import TYPE_CHECKING, Any

from common import rlp
from evm.blobs import BYTES_PER_BLOB, CELLS_PER_EXT_BLOB
from evm.transactions import Transaction, decode_transaction

from ..header import Header
from ..node.txpool import BlobSidecar
from . import types as T
from .errors import InvalidParams, ServerError
from .format import _hb, format_tx, receipt_json
from .topic import Topic

if TYPE_CHECKING:
    from ..node.node import Node
    from .calls import CallsApi


class TransactionsApi(Topic):
    def __init__(self, node: Node, calls: CallsApi) -> None:
        super().__init__(node)
        self.calls = calls  # eth_sendTransaction fills its fields in as a call's are

    def eth_getTransactionByHash(self, tx_hash: Any) -> dict | None:
        h = T.hash32(tx_hash, 0)
        loc = self.node.tx_location(h)
        if loc is not None:
            header, i = loc
            return format_tx(self.node.block(header).transactions[i], header, i)
        tx = self.node.pool.get(h)
        return format_tx(tx) if tx is not None else None

    def eth_getTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> dict | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        i = T.quantity(index, 1, 64)
        if header is None:
            return None
        txs = self.node.block(header).transactions
        return format_tx(txs[i], header, i) if i < len(txs) else None

    def eth_getTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> dict | None:
        header = self.node.header_by_hash(T.hash32(block_hash, 0))
        i = T.quantity(index, 1, 64)
        if header is None:
            return None
        txs = self.node.block(header).transactions
        return format_tx(txs[i], header, i) if i < len(txs) else None

    def eth_getRawTransactionByHash(self, tx_hash: Any) -> str | None:
        h = T.hash32(tx_hash, 0)
        loc = self.node.tx_location(h)
        if loc is not None:
            header, i = loc
            return _hb(self.node.block(header).transactions[i].encode())
        tx = self.node.pool.get(h)
        return _hb(tx.encode()) if tx is not None else None

    def debug_getRawTransaction(self, tx_hash: Any) -> str | None:
        return self.eth_getRawTransactionByHash(tx_hash)

    def eth_getRawTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> str | None:
        header = self.node.resolve(T.block_id(block, 0), required=False)
        return self._raw_at(header, T.quantity(index, 1, 64))

    def eth_getRawTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> str | None:
        header = self.node.header_by_hash(T.hash32(block_hash, 0))
        return self._raw_at(header, T.quantity(index, 1, 64))

    def _raw_at(self, header: Header | None, i: int) -> str | None:
        if header is None:
            return None
        txs = self.node.block(header).transactions
        return _hb(txs[i].encode()) if i < len(txs) else None

    def eth_getTransactionReceipt(self, tx_hash: Any) -> dict | None:
        h = T.hash32(tx_hash, 0)
        loc = self.node.tx_location(h)
        if loc is None:
            return None
        header, i = loc
        txs = self.node.block(header).transactions
        receipts = self.node.receipts(header)
        first = sum(len(r.logs) for r in receipts[:i])
        return receipt_json(self.node, header, txs, receipts, i, first)

    def eth_sendRawTransaction(self, raw: Any) -> str:
        data = T.data(raw, 0)
        tx, size, sidecar = decode_network_transaction(data)
        return _hb(self.node.submit(tx, size, sidecar))

    def eth_sendTransaction(self, args: Any) -> str:
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction object")
        sender = T.address(args.get("from"), 0) if args.get("from") is not None else None
        if sender is None:
            raise ServerError("missing from address")
        key = self.node.dev_keys.get(sender)
        if key is None and not self.node.dev.is_impersonated(sender):
            raise ServerError("unknown account")
        head = self.node.head()
        tx = self.calls.transaction_from_args(args, head, sign=True)
        if key is not None:
            tx.sign(key)
        else:  # anvil_impersonateAccount: no key, a placeholder signature and the sender recorded
            self.node.dev.placeholder_sign(tx, sender)
        return _hb(self.node.submit(tx))


def decode_network_transaction(data: bytes) -> tuple[Transaction, int, BlobSidecar | None]:
    """The canonical encoding, or a blob transaction in its network form with sidecar
    (`3 || rlp([tx, blobs, commitments, proofs])`, Osaka: `[tx, version, blobs, commitments, cell_proofs]`):
    the sidecar's commitments must match the versioned hashes; the pool keeps it for the consensus client
    (Engine API). Returns the transaction, its size without the sidecar, and the sidecar."""
    if data[:1] == b"\x03":
        try:
            items = rlp.decode(data[1:])
        except Exception:
            items = None
        if isinstance(items, list) and items and isinstance(items[0], list):
            inner = b"\x03" + rlp.encode(items[0])
            try:
                tx = decode_transaction(inner)
            except ValueError as exc:
                raise ServerError(f"rlp: {exc}") from None
            commitments = items[3] if len(items) == 5 else items[2] if len(items) == 4 else None
            if commitments is None or len(commitments) != len(tx.blob_versioned_hashes):
                raise ServerError("invalid blob sidecar: commitment count does not match the versioned hashes")
            for c, vh in zip(commitments, tx.blob_versioned_hashes):
                if b"\x01" + sha256(c).digest()[1:] != vh:
                    raise ServerError("blob versioned hash mismatch")
            return tx, len(inner), _sidecar(items, len(commitments))
    try:
        tx = decode_transaction(data)
    except ValueError as exc:
        raise ServerError(f"rlp: {exc}") from None
    return tx, len(data), None


def _sidecar(items: list, count: int) -> BlobSidecar:
    """The sidecar of a network-form blob transaction whose commitments matched its versioned hashes."""
    version = 0
    if len(items) == 5:
        version = int.from_bytes(items[1], "big") if isinstance(items[1], bytes) else -1
        blobs, commitments, proofs = items[2:5]
    else:
        blobs, commitments, proofs = items[1:4]
    if version not in (0, 1):
        raise ServerError(f"invalid blob sidecar: unknown version {version}")
    per_blob = CELLS_PER_EXT_BLOB if version == 1 else 1
    if (
        not (isinstance(blobs, list) and isinstance(proofs, list))
        or len(blobs) != count
        or len(proofs) != count * per_blob
    ):
        raise ServerError("invalid blob sidecar: blob or proof count does not match the versioned hashes")
    if any(not isinstance(b, bytes) or len(b) != BYTES_PER_BLOB for b in blobs) or any(
        not isinstance(x, bytes) or len(x) != 48 for x in list(commitments) + list(proofs)
    ):
        raise ServerError("invalid blob sidecar: wrong blob, commitment or proof size")
    return BlobSidecar(version, tuple(blobs), tuple(commitments), tuple(proofs))
