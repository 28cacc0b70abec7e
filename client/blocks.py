"""Blocks, withdrawals, receipts, logs blooms, the block's tries and the EIP-7685 requests hash.

A block's RLP is `[header, transactions, ommers(, withdrawals)]`: a legacy transaction is an RLP list inside the
transaction list, a typed one (EIP-2718) a byte string `type || rlp(payload)`. Ommers must be empty after the
Merge (block validation rejects them; the codec still reads them so the rejection can name the reason).

Transactions, receipts and withdrawals roots are Merkle-Patricia roots with non-secure keys `rlp(index)`, built
with `state.trie.build_root` (the same code that builds state roots). The value stored for a legacy transaction
or receipt is its RLP; for a typed one the `type || rlp` bytes — as execution-specs' `trie_set` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

from common import rlp
from common.constants import EMPTY_OMMERS_HASH, EMPTY_ROOT, U64_MAX
from common.keccak import keccak
from evm.transactions import Transaction, decode_transaction
from state.trie import build_root, enc_bytes, enc_list, enc_uint

from .header import Header, HeaderDecodeError

U256_MAX = 2**256 - 1
GWEI = 10**9  # withdrawal amounts are in Gwei

Log = tuple[bytes, tuple[bytes, ...], bytes]  # (address, topics, data), as JournaledState.logs holds them


class BlockDecodeError(ValueError):
    """Malformed block RLP; `code` names it as execution-spec-tests' BlockException does."""

    def __init__(self, message: str, code: str = "RLP_STRUCTURES_ENCODING") -> None:
        super().__init__(message)
        self.code = code


def _uint(raw, what: str, limit: int = U256_MAX) -> int:
    if not isinstance(raw, bytes):
        raise BlockDecodeError(f"{what} is a list, not an integer")
    if raw[:1] == b"\x00":
        raise BlockDecodeError(f"{what} has leading zero bytes")
    v = int.from_bytes(raw, "big")
    if v > limit:
        raise BlockDecodeError(
            f"{what} overflows {limit.bit_length()} bits",
            "RLP_INVALID_FIELD_OVERFLOW_64" if limit == U64_MAX else "RLP_STRUCTURES_ENCODING",
        )
    return v


# ---------------------------------------------------------------------------------------------- withdrawals


@dataclass(slots=True, frozen=True)
class Withdrawal:
    """EIP-4895: a transfer from the consensus layer; `amount` is in gwei."""

    index: int
    validator_index: int
    address: bytes
    amount: int

    def encode(self) -> bytes:
        return enc_list(
            enc_uint(self.index) + enc_uint(self.validator_index) + enc_bytes(self.address) + enc_uint(self.amount)
        )

    @classmethod
    def from_rlp_list(cls, item) -> Withdrawal:
        if not isinstance(item, list) or len(item) != 4:
            raise BlockDecodeError("withdrawal must be a list of 4 items")
        index, validator, address, amount = item
        if not isinstance(address, bytes) or len(address) != 20:
            raise BlockDecodeError("withdrawal address must be 20 bytes")
        return cls(
            _uint(index, "withdrawal index", U64_MAX),
            _uint(validator, "withdrawal validator index", U64_MAX),
            address,
            _uint(amount, "withdrawal amount"),
        )

    @classmethod
    def from_json(cls, obj) -> Withdrawal:
        def num(v):
            return v if isinstance(v, int) else int(v, 16)

        return cls(num(obj["index"]), num(obj["validatorIndex"]), bytes.fromhex(obj["address"][2:]), num(obj["amount"]))

    def to_json(self) -> dict:
        return {
            "index": hex(self.index),
            "validatorIndex": hex(self.validator_index),
            "address": "0x" + self.address.hex(),
            "amount": hex(self.amount),
        }


# ---------------------------------------------------------------------------------------------- blooms


def bloom_add(bloom: int, entry: bytes) -> int:
    """Set the 3 bits of `entry` in a 2048-bit bloom held as a big-endian integer."""
    h = keccak(entry)
    return (
        bloom
        | (1 << (((h[0] << 8) | h[1]) & 0x7FF))
        | (1 << (((h[2] << 8) | h[3]) & 0x7FF))
        | (1 << (((h[4] << 8) | h[5]) & 0x7FF))
    )


def logs_bloom_int(logs: Iterable[Log]) -> int:
    bloom = 0
    for address, topics, _ in logs:
        bloom = bloom_add(bloom, address)
        for topic in topics:
            bloom = bloom_add(bloom, topic)
    return bloom


def logs_bloom(logs: Iterable[Log]) -> bytes:
    """The 256-byte logs bloom (yellow paper M3:2048) of `logs`."""
    return logs_bloom_int(logs).to_bytes(256, "big")


def encode_logs(logs: Iterable[Log]) -> bytes:
    return enc_list(
        b"".join(
            enc_list(enc_bytes(a) + enc_list(b"".join(enc_bytes(t) for t in topics)) + enc_bytes(d))
            for a, topics, d in logs
        )
    )


# ---------------------------------------------------------------------------------------------- receipts


@dataclass(slots=True)
class Receipt:
    """A transaction's receipt: RLP [status, cumulative gas used, bloom, logs], prefixed by the type byte for
    typed transactions (EIP-2718)."""

    tx_type: int
    succeeded: bool
    cumulative_gas_used: int
    bloom: bytes
    logs: list[Log] = field(default_factory=list)

    def encode(self) -> bytes:
        """The encoding stored in the receipts trie (and in the datadir)."""
        payload = enc_list(
            (b"\x01" if self.succeeded else b"\x80")
            + enc_uint(self.cumulative_gas_used)
            + enc_bytes(self.bloom)
            + encode_logs(self.logs)
        )
        return payload if self.tx_type == 0 else bytes((self.tx_type,)) + payload

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        tx_type = 0
        if data[:1] and data[0] < 0xC0:
            tx_type, data = data[0], data[1:]
        status, cumulative, bloom, logs = rlp.decode(data)
        return cls(
            tx_type,
            status == b"\x01",
            int.from_bytes(cumulative, "big"),
            bloom,
            [(a, tuple(topics), d) for a, topics, d in logs],
        )

    @classmethod
    def make(cls, tx_type: int, succeeded: bool, cumulative_gas_used: int, logs: Sequence[Log]) -> Receipt:
        return cls(tx_type, succeeded, cumulative_gas_used, logs_bloom(logs), list(logs))


# ---------------------------------------------------------------------------------------------- tries


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie {rlp(i): values[i]} (transactions, receipts, withdrawals)."""
    if not values:
        return EMPTY_ROOT
    return build_root([(rlp.encode(i).hex(), v) for i, v in enumerate(values)])


def compute_requests_hash(requests: Sequence[bytes]) -> bytes:
    """EIP-7685: sha256 of the concatenated sha256 of each non-empty `type || data` request."""
    m = sha256()
    for request in requests:
        m.update(sha256(request).digest())
    return m.digest()


# ---------------------------------------------------------------------------------------------- blocks


@dataclass(slots=True)
class Block:
    header: Header
    transactions: list[Transaction] = field(default_factory=list)
    ommers: list[Header] = field(default_factory=list)
    withdrawals: list[Withdrawal] | None = None
    # the canonical encoding of each transaction (what the transactions trie stores), kept from decoding
    tx_encodings: list[bytes] | None = None

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def number(self) -> int:
        return self.header.number

    def encoded_transactions(self) -> list[bytes]:
        if self.tx_encodings is None or len(self.tx_encodings) != len(self.transactions):
            self.tx_encodings = [tx.encode() for tx in self.transactions]
        return self.tx_encodings

    def transactions_root(self) -> bytes:
        return ordered_trie_root(self.encoded_transactions())

    def withdrawals_root(self) -> bytes | None:
        if self.withdrawals is None:
            return None
        return ordered_trie_root([w.encode() for w in self.withdrawals])

    def ommers_hash(self) -> bytes:
        if not self.ommers:
            return EMPTY_OMMERS_HASH
        return keccak(enc_list(b"".join(o.encode() for o in self.ommers)))

    # -- RLP

    def body_rlp(self) -> bytes:
        """RLP of the items after the header: [transactions, ommers(, withdrawals)] (as ChainStore keeps it)."""
        return enc_list(self._body_payload())

    def _body_payload(self) -> bytes:
        txs = enc_list(b"".join(e if e[0] >= 0xC0 else enc_bytes(e) for e in self.encoded_transactions()))
        ommers = enc_list(b"".join(o.encode() for o in self.ommers))
        out = txs + ommers
        if self.withdrawals is not None:
            out += enc_list(b"".join(w.encode() for w in self.withdrawals))
        return out

    def encode(self) -> bytes:
        return enc_list(self.header.encode() + self._body_payload())

    @classmethod
    def decode(cls, data: bytes) -> Block:
        try:
            items = rlp.decode(data)
        except (rlp.DecodingError, ValueError, IndexError) as exc:
            raise BlockDecodeError(f"bad block RLP: {exc}") from None
        if not isinstance(items, list) or len(items) < 3:
            raise BlockDecodeError("a block is a list [header, transactions, ommers(, withdrawals)]")
        header_items = items[0]
        try:
            header = Header.from_rlp_list(header_items)
        except HeaderDecodeError as exc:
            raise BlockDecodeError(f"bad header: {exc}") from None
        return cls.from_parts(header, items[1:])

    @classmethod
    def from_body_rlp(cls, header: Header, body: bytes) -> Block:
        return cls.from_parts(header, rlp.decode(body))

    @classmethod
    def from_parts(cls, header: Header, rest: list) -> Block:
        if len(rest) not in (2, 3):
            raise BlockDecodeError(f"a block has 3 or 4 items, got {len(rest) + 1}")
        tx_items, ommer_items = rest[0], rest[1]
        if not isinstance(tx_items, list) or not isinstance(ommer_items, list):
            raise BlockDecodeError("transactions and ommers must be lists")
        txs, encodings = [], []
        for i, item in enumerate(tx_items):
            if isinstance(item, list):
                raw = rlp.encode(item)  # legacy: the list itself
            else:
                if not item or item[0] > 0x7F or item[0] == 0:
                    # a typed transaction is a byte string starting with its type (1..0x7f)
                    raise BlockDecodeError(f"transaction {i}: not a typed transaction envelope")
                raw = item
            try:
                tx = decode_transaction(raw)
            except ValueError as exc:
                raise BlockDecodeError(f"transaction {i}: {exc}") from None
            txs.append(tx)
            encodings.append(raw)
        ommers = []
        for item in ommer_items:
            try:
                ommers.append(Header.from_rlp_list(item))
            except HeaderDecodeError as exc:
                raise BlockDecodeError(f"bad ommer header: {exc}") from None
        withdrawals = None
        if len(rest) == 3:
            if not isinstance(rest[2], list):
                raise BlockDecodeError("withdrawals must be a list")
            withdrawals = [Withdrawal.from_rlp_list(w) for w in rest[2]]
        return cls(header, txs, ommers, withdrawals, encodings)
