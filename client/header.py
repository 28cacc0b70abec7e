"""Block header: every field through Osaka, RLP encode/decode and the block hash.

Fields added by later forks are None when absent; the RLP list simply stops after the last present one
(London adds base_fee_per_gas, Shanghai withdrawals_root, Cancun blob_gas_used / excess_blob_gas /
parent_beacon_block_root, Prague requests_hash; Osaka adds no header field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from common import rlp
from common.constants import EMPTY_OMMERS_HASH, EMPTY_ROOT, ZERO_ADDRESS, ZERO_HASH
from common.keccak import memoized_hash

EMPTY_BLOOM = b"\x00" * 256
# sha256 of nothing: the EIP-7685 requests hash of a block without requests
EMPTY_REQUESTS_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# (attribute, kind, fixture JSON name, JSON-RPC name); kinds: h32 = 32 bytes, a20 = 20 bytes,
# b256 = 256-byte bloom, n8 = 8-byte nonce, int, bytes = variable length
_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("parent_hash", "h32", "parentHash", "parentHash"),
    ("ommers_hash", "h32", "uncleHash", "sha3Uncles"),
    ("coinbase", "a20", "coinbase", "miner"),
    ("state_root", "h32", "stateRoot", "stateRoot"),
    ("transactions_root", "h32", "transactionsTrie", "transactionsRoot"),
    ("receipts_root", "h32", "receiptTrie", "receiptsRoot"),
    ("logs_bloom", "b256", "bloom", "logsBloom"),
    ("difficulty", "int", "difficulty", "difficulty"),
    ("number", "int", "number", "number"),
    ("gas_limit", "int", "gasLimit", "gasLimit"),
    ("gas_used", "int", "gasUsed", "gasUsed"),
    ("timestamp", "int", "timestamp", "timestamp"),
    ("extra_data", "bytes", "extraData", "extraData"),
    ("mix_hash", "h32", "mixHash", "mixHash"),
    ("nonce", "n8", "nonce", "nonce"),
    ("base_fee_per_gas", "int", "baseFeePerGas", "baseFeePerGas"),
    ("withdrawals_root", "h32", "withdrawalsRoot", "withdrawalsRoot"),
    ("blob_gas_used", "int", "blobGasUsed", "blobGasUsed"),
    ("excess_blob_gas", "int", "excessBlobGas", "excessBlobGas"),
    ("parent_beacon_block_root", "h32", "parentBeaconBlockRoot", "parentBeaconBlockRoot"),
    ("requests_hash", "h32", "requestsHash", "requestsHash"),
)
_MANDATORY = 15
_NAMES = tuple(f[0] for f in _FIELDS)
# The fields forks added after the original 15 (which ones a block has is its fork's `header_fields`).
OPTIONAL_FIELDS = tuple(name for name, *_ in _FIELDS[_MANDATORY:])
_SIZES = {"h32": 32, "a20": 20, "b256": 256, "n8": 8}


# Header integers are uint64 (as geth decodes them) except these two 256-bit ones.
_WIDE_INTS = frozenset({"difficulty", "base_fee_per_gas"})


class HeaderDecodeError(ValueError):
    pass


@dataclass(slots=True)
class Header:
    parent_hash: bytes = ZERO_HASH
    ommers_hash: bytes = EMPTY_OMMERS_HASH
    coinbase: bytes = ZERO_ADDRESS
    state_root: bytes = EMPTY_ROOT
    transactions_root: bytes = EMPTY_ROOT
    receipts_root: bytes = EMPTY_ROOT
    logs_bloom: bytes = EMPTY_BLOOM
    difficulty: int = 0
    number: int = 0
    gas_limit: int = 0
    gas_used: int = 0
    timestamp: int = 0
    extra_data: bytes = b""
    mix_hash: bytes = ZERO_HASH  # prevRandao after the Merge
    nonce: bytes = b"\x00" * 8
    base_fee_per_gas: int | None = None
    withdrawals_root: bytes | None = None
    blob_gas_used: int | None = None
    excess_blob_gas: int | None = None
    parent_beacon_block_root: bytes | None = None
    requests_hash: bytes | None = None
    # (the fields, the hash) when last hashed (common.keccak.memoized_hash)
    _hashed: tuple | None = field(default=None, init=False, repr=False, compare=False)

    # -- RLP

    def rlp_fields(self) -> list:
        out: list = []
        values = [getattr(self, name) for name, *_ in _FIELDS]
        last = len(values)
        while last > _MANDATORY and values[last - 1] is None:
            last -= 1
        for i in range(last):
            v = values[i]
            if v is None:
                # an optional field may only be absent if all later ones are: the list has no holes
                raise ValueError(f"header field {_FIELDS[i][0]} is missing but a later fork's field is set")
            out.append(v)
        return out

    def encode(self) -> bytes:
        return rlp.encode(self.rlp_fields())

    @property
    def hash(self) -> bytes:
        return memoized_hash(self, tuple([getattr(self, name) for name in _NAMES]))

    @classmethod
    def from_rlp_list(cls, items: list) -> Header:
        """From the decoded RLP list (e.g. an element of a block's RLP); checks sizes and canonical ints."""
        if not isinstance(items, list) or not _MANDATORY <= len(items) <= len(_FIELDS):
            raise HeaderDecodeError(f"header must be a list of {_MANDATORY}..{len(_FIELDS)} items")
        kwargs: dict[str, Any] = {}
        for (name, kind, *_), raw in zip(_FIELDS, items):
            if not isinstance(raw, bytes):
                raise HeaderDecodeError(f"header field {name} is a list")
            if kind == "int":
                if raw[:1] == b"\x00":
                    raise HeaderDecodeError(f"header field {name} has leading zero bytes")
                if len(raw) > (32 if name in _WIDE_INTS else 8):
                    raise HeaderDecodeError(
                        f"header field {name} does not fit in {256 if name in _WIDE_INTS else 64} bits"
                    )
                kwargs[name] = int.from_bytes(raw, "big")
            elif kind in _SIZES:
                if len(raw) != _SIZES[kind]:
                    raise HeaderDecodeError(f"header field {name} must be {_SIZES[kind]} bytes, got {len(raw)}")
                kwargs[name] = raw
            else:
                kwargs[name] = raw
        return cls(**kwargs)

    @classmethod
    def decode(cls, data: bytes) -> Header:
        try:
            items = rlp.decode(data)
        except rlp.DecodingError as exc:
            raise HeaderDecodeError(f"bad header RLP: {exc}") from None
        return cls.from_rlp_list(items)

    # -- JSON (fixtures and JSON-RPC)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Header:
        """From fixture (`uncleHash`, `transactionsTrie`, ...) or JSON-RPC (`sha3Uncles`, `miner`, ...) names;
        fields absent from `obj` keep their defaults (None for later forks' fields)."""
        kwargs: dict[str, Any] = {}
        for name, kind, fixture_name, rpc_name in _FIELDS:
            raw = obj.get(fixture_name, obj.get(rpc_name))
            if raw is None:
                continue
            if kind == "int":
                kwargs[name] = int(raw, 16) if isinstance(raw, str) else int(raw)
            else:
                data = bytes.fromhex(raw[2:] if raw.startswith(("0x", "0X")) else raw)
                if kind in _SIZES and len(data) != _SIZES[kind]:
                    raise ValueError(f"{fixture_name} must be {_SIZES[kind]} bytes, got {len(data)}")
                kwargs[name] = data
        return cls(**kwargs)

    def to_json(self, rpc: bool = True) -> dict[str, Any]:
        """0x-hex fields under JSON-RPC names (or fixture names), with `hash`; absent forks' fields left out."""
        out: dict[str, Any] = {}
        for name, kind, fixture_name, rpc_name in _FIELDS:
            v = getattr(self, name)
            if v is None:
                continue
            out[rpc_name if rpc else fixture_name] = hex(v) if kind == "int" else "0x" + v.hex()
        out["hash"] = "0x" + self.hash.hex()
        return out

    def copy(self, **changes: Any) -> Header:
        return replace(self, **changes)
