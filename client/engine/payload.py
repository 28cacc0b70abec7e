"""Execution payloads (ExecutionPayloadV1..V3 of execution-apis) to blocks and back.

A payload is a block without the constant post-Merge header fields (ommers hash of an empty list, difficulty 0,
nonce 0) and with the trie roots left to the receiver: the execution client rebuilds the header from the
payload (plus the parent beacon block root and the execution requests of newPayloadV3/V4), and the block hash
of that header must equal the payload's `blockHash`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evm.spec import Fork
from evm.transactions import Transaction, decode_transaction

from ..blocks import Block, Withdrawal, compute_requests_hash, ordered_trie_root
from ..header import Header
from ..rpc import types as T
from ..rpc.errors import InvalidParams


@dataclass(slots=True)
class ExecutionPayload:
    parent_hash: bytes
    fee_recipient: bytes
    state_root: bytes
    receipts_root: bytes
    logs_bloom: bytes
    prev_randao: bytes
    number: int
    gas_limit: int
    gas_used: int
    timestamp: int
    extra_data: bytes
    base_fee_per_gas: int
    block_hash: bytes
    transactions: list[bytes]
    withdrawals: list[Withdrawal] | None = None
    blob_gas_used: int | None = None
    excess_blob_gas: int | None = None

    @property
    def version(self) -> int:
        """The structure this payload has: 3 with the blob gas fields, 2 with withdrawals, else 1."""
        if self.blob_gas_used is not None or self.excess_blob_gas is not None:
            return 3
        return 2 if self.withdrawals is not None else 1

    def header(self, parent_beacon_block_root: bytes | None = None, requests: list[bytes] | None = None) -> Header:
        """The execution block header this payload stands for (EIP-3675 constants, computed trie roots)."""
        return Header(
            parent_hash=self.parent_hash,
            coinbase=self.fee_recipient,
            state_root=self.state_root,
            transactions_root=ordered_trie_root(self.transactions),
            receipts_root=self.receipts_root,
            logs_bloom=self.logs_bloom,
            number=self.number,
            gas_limit=self.gas_limit,
            gas_used=self.gas_used,
            timestamp=self.timestamp,
            extra_data=self.extra_data,
            mix_hash=self.prev_randao,
            base_fee_per_gas=self.base_fee_per_gas,
            withdrawals_root=None
            if self.withdrawals is None
            else ordered_trie_root([w.encode() for w in self.withdrawals]),
            blob_gas_used=self.blob_gas_used,
            excess_blob_gas=self.excess_blob_gas,
            parent_beacon_block_root=parent_beacon_block_root,
            requests_hash=None if requests is None else compute_requests_hash(requests),
        )

    def decode_transactions(self) -> list[Transaction]:
        """ValueError naming the first transaction that does not decode."""
        out = []
        for i, raw in enumerate(self.transactions):
            try:
                out.append(decode_transaction(raw))
            except ValueError as exc:
                raise ValueError(f"transaction {i}: {exc}") from None
        return out


def _field(obj: dict, name: str, kind: str, size: int | None = None, bits: int = 64):
    if obj.get(name) is None:
        raise InvalidParams(f"missing required field '{name}' for ExecutionPayload")
    v = obj[name]
    try:
        if kind == "quantity":
            return T.quantity(v, None, bits)
        return T.data(v, None, size)
    except InvalidParams as exc:
        raise InvalidParams(f"field '{name}': {exc.message}") from None


def parse_withdrawals(value: Any, where: str = "withdrawals") -> list[Withdrawal]:
    if not isinstance(value, list):
        raise InvalidParams(f"{where} must be an array")
    out = []
    for w in value:
        if not isinstance(w, dict):
            raise InvalidParams(f"{where}: a withdrawal must be an object")
        out.append(
            Withdrawal(
                _field(w, "index", "quantity"),
                _field(w, "validatorIndex", "quantity"),
                _field(w, "address", "data", 20),
                _field(w, "amount", "quantity"),
            )
        )
    return out


def parse_payload(obj: Any) -> ExecutionPayload:
    """ExecutionPayloadV1/V2/V3 from JSON; a missing or malformed field is -32602 Invalid params."""
    if not isinstance(obj, dict):
        raise InvalidParams("ExecutionPayload must be an object")
    txs = obj.get("transactions")
    if not isinstance(txs, list):
        raise InvalidParams("missing required field 'transactions' for ExecutionPayload")
    raw_txs = []
    for i, t in enumerate(txs):
        try:
            raw_txs.append(T.data(t))
        except InvalidParams as exc:
            raise InvalidParams(f"transaction {i}: {exc.message}") from None
    extra = _field(obj, "extraData", "data")
    payload = ExecutionPayload(
        parent_hash=_field(obj, "parentHash", "data", 32),
        fee_recipient=_field(obj, "feeRecipient", "data", 20),
        state_root=_field(obj, "stateRoot", "data", 32),
        receipts_root=_field(obj, "receiptsRoot", "data", 32),
        logs_bloom=_field(obj, "logsBloom", "data", 256),
        prev_randao=_field(obj, "prevRandao", "data", 32),
        number=_field(obj, "blockNumber", "quantity"),
        gas_limit=_field(obj, "gasLimit", "quantity"),
        gas_used=_field(obj, "gasUsed", "quantity"),
        timestamp=_field(obj, "timestamp", "quantity"),
        extra_data=extra,
        base_fee_per_gas=_field(obj, "baseFeePerGas", "quantity", bits=256),
        block_hash=_field(obj, "blockHash", "data", 32),
        transactions=raw_txs,
    )
    if obj.get("withdrawals") is not None:
        payload.withdrawals = parse_withdrawals(obj["withdrawals"])
    if obj.get("blobGasUsed") is not None:
        payload.blob_gas_used = _field(obj, "blobGasUsed", "quantity")
    if obj.get("excessBlobGas") is not None:
        payload.excess_blob_gas = _field(obj, "excessBlobGas", "quantity")
    if (payload.blob_gas_used is None) != (payload.excess_blob_gas is None):
        raise InvalidParams("blobGasUsed and excessBlobGas must be given together")
    if payload.blob_gas_used is not None and payload.withdrawals is None:
        raise InvalidParams("missing required field 'withdrawals' for ExecutionPayloadV3")
    return payload


def payload_to_json(block: Block, version: int) -> dict[str, Any]:
    """The block as ExecutionPayloadV`version` (1: no withdrawals, 2: withdrawals, 3: blob gas fields)."""
    h = block.header
    out: dict[str, Any] = {
        "parentHash": T.hb(h.parent_hash),
        "feeRecipient": T.hb(h.coinbase),
        "stateRoot": T.hb(h.state_root),
        "receiptsRoot": T.hb(h.receipts_root),
        "logsBloom": T.hb(h.logs_bloom),
        "prevRandao": T.hb(h.mix_hash),
        "blockNumber": T.hx(h.number),
        "gasLimit": T.hx(h.gas_limit),
        "gasUsed": T.hx(h.gas_used),
        "timestamp": T.hx(h.timestamp),
        "extraData": T.hb(h.extra_data),
        "baseFeePerGas": T.hx(h.base_fee_per_gas or 0),
        "blockHash": T.hb(block.hash),
        "transactions": [T.hb(e) for e in block.encoded_transactions()],
    }
    if version >= 2:
        out["withdrawals"] = [w.to_json() for w in block.withdrawals or []]
    if version >= 3:
        out["blobGasUsed"] = T.hx(h.blob_gas_used or 0)
        out["excessBlobGas"] = T.hx(h.excess_blob_gas or 0)
    return out


def body_to_json(block: Block) -> dict[str, Any]:
    """ExecutionPayloadBodyV1: transactions, and withdrawals (null before Shanghai)."""
    return {
        "transactions": [T.hb(e) for e in block.encoded_transactions()],
        "withdrawals": None if block.withdrawals is None else [w.to_json() for w in block.withdrawals],
    }


def parse_requests(value: Any) -> list[bytes]:
    """newPayloadV4's executionRequests: `type || data` byte strings, types strictly ascending, data non-empty
    (EIP-7685 as execution-apis prague.md requires); anything else is -32602."""
    if not isinstance(value, list):
        raise InvalidParams("executionRequests must be an array")
    out: list[bytes] = []
    for i, r in enumerate(value):
        try:
            b = T.data(r)
        except InvalidParams as exc:
            raise InvalidParams(f"executionRequests[{i}]: {exc.message}") from None
        if len(b) <= 1:
            raise InvalidParams(f"executionRequests[{i}]: empty request data")
        if out and b[0] <= out[-1][0]:
            raise InvalidParams(f"executionRequests[{i}]: request types not in strictly ascending order")
        out.append(b)
    return out


def block_from_payload(
    payload: ExecutionPayload, parent_beacon_block_root: bytes | None, requests: list[bytes] | None
) -> tuple[Block | None, str | None]:
    """(block, None), or (None, why) when the block hash does not match or a transaction does not decode."""
    header = payload.header(parent_beacon_block_root, requests)
    computed = header.hash
    if computed != payload.block_hash:
        return None, f"blockhash mismatch: want 0x{payload.block_hash.hex()}, got 0x{computed.hex()}"
    try:
        txs = payload.decode_transactions()
    except ValueError as exc:
        return None, f"invalid transaction: {exc}"
    return Block(header, txs, [], payload.withdrawals, list(payload.transactions)), None


def _forks(first: Fork, last: Fork | None = None) -> frozenset[Fork]:
    """`first` through `last` (through the newest fork when None), in activation order."""
    forks = list(Fork)
    return frozenset(forks[forks.index(first) : None if last is None else forks.index(last) + 1])


# The forks whose payloads each method version serves (execution-apis src/engine/{paris,...,osaka}.md); a
# payload of another fork is -38005 Unsupported fork. Blob-parameter-only forks are served as Osaka is.
SERVES: dict[str, frozenset[Fork]] = {
    "engine_newPayloadV1": _forks(Fork.PARIS, Fork.PARIS),
    "engine_newPayloadV2": _forks(Fork.PARIS, Fork.SHANGHAI),
    "engine_newPayloadV3": _forks(Fork.CANCUN, Fork.CANCUN),
    "engine_newPayloadV4": _forks(Fork.PRAGUE),
    "engine_forkchoiceUpdatedV1": _forks(Fork.PARIS, Fork.PARIS),
    "engine_forkchoiceUpdatedV2": _forks(Fork.PARIS, Fork.SHANGHAI),
    "engine_forkchoiceUpdatedV3": _forks(Fork.CANCUN),
    "engine_getPayloadV1": _forks(Fork.PARIS, Fork.PARIS),
    "engine_getPayloadV2": _forks(Fork.PARIS, Fork.SHANGHAI),
    "engine_getPayloadV3": _forks(Fork.CANCUN, Fork.CANCUN),
    "engine_getPayloadV4": _forks(Fork.PRAGUE, Fork.PRAGUE),
    "engine_getPayloadV5": _forks(Fork.OSAKA),
}


def method_versions(fork: Fork) -> tuple[int, int]:
    """(engine_newPayload version, engine_forkchoiceUpdated version) a consensus client uses for `fork`'s blocks,
    the first version that serves it: Paris V1/V1, Shanghai V2/V2, Cancun V3/V3, Prague and later V4/V3."""

    def first(method: str) -> int:
        return min(v for v in range(1, 10) if fork in SERVES.get(f"{method}V{v}", ()))

    return first("engine_newPayload"), first("engine_forkchoiceUpdated")


def block_payload_json(block: Block) -> dict[str, Any]:
    """The block as a payload with exactly the fields its header and body have (an invalid block may lack a
    field its fork requires, or carry one it forbids: the receiver must notice)."""
    h = block.header
    out = payload_to_json(block, 1)
    if block.withdrawals is not None:
        out["withdrawals"] = [w.to_json() for w in block.withdrawals]
    if h.blob_gas_used is not None:
        out["blobGasUsed"] = T.hx(h.blob_gas_used)
    if h.excess_blob_gas is not None:
        out["excessBlobGas"] = T.hx(h.excess_blob_gas)
    return out
