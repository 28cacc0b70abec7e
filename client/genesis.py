"""Genesis files in geth's JSON format: strict parsing, the chain config, and the genesis block header.

Header rules follow geth's `Genesis.ToBlock`: the fields of every fork active at block 0 and the genesis
timestamp are present (base fee 1 gwei by default when London is active at block 0, an empty withdrawals
root for Shanghai, zero blob gas and a zero parent beacon root for Cancun, the empty requests hash for
Prague); a network that predates London (mainnet) has the 15 original fields only.

Everything a user could get wrong raises `UserError` with one line naming the file and the field.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from common.constants import EMPTY_ROOT, U64_MAX, ZERO_HASH
from state.db import alloc_root

from . import jsonsafe
from .errors import UserError
from .header import EMPTY_REQUESTS_HASH, Header

INITIAL_BASE_FEE = 1_000_000_000  # EIP-1559: base fee of the first London block
GENESIS_GAS_LIMIT = 4_712_388  # geth's default when the file gives none
GENESIS_DIFFICULTY = 131_072  # geth's default for ethash chains without a mix hash
UINT256_MAX = 2**256 - 1

# Forks activated by block number, then by timestamp, in order (geth's config keys).
BLOCK_FORKS = (
    ("Homestead", "homesteadBlock"),
    ("TangerineWhistle", "eip150Block"),
    ("SpuriousDragon", "eip158Block"),
    ("Byzantium", "byzantiumBlock"),
    ("Constantinople", "constantinopleBlock"),
    ("Petersburg", "petersburgBlock"),
    ("Istanbul", "istanbulBlock"),
    ("Berlin", "berlinBlock"),
    ("London", "londonBlock"),
)
TIME_FORKS = (
    ("Shanghai", "shanghaiTime"),
    ("Cancun", "cancunTime"),
    ("Prague", "pragueTime"),
    ("Osaka", "osakaTime"),
    ("BPO1", "bpo1Time"),  # EIP-7892 blob-parameter-only forks
    ("BPO2", "bpo2Time"),
    ("BPO3", "bpo3Time"),
    ("BPO4", "bpo4Time"),
    ("BPO5", "bpo5Time"),
    ("Amsterdam", "amsterdamTime"),  # known so that a chain scheduling it is refused there, not misread
)
BPO_FORKS = tuple(name for name, _ in TIME_FORKS if name.startswith("BPO"))
# Forks without default blob parameters (Cancun..BPO2 have the EIPs' and mainnet's, evm/rules.py): a chain that
# schedules one must give them in its blobSchedule.
BLOB_PARAMS_REQUIRED = ("BPO3", "BPO4", "BPO5")

_HEX = re.compile(r"[0-9a-fA-F]+")
_DEC = re.compile(r"-?[0-9]+")
_ADDRESS = re.compile(r"[0-9a-fA-F]{40}")
_WORD = re.compile(r"[0-9a-fA-F]{1,64}")


class _Ctx:
    """Where a value came from, so an error message can name it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, msg: str) -> UserError:
        return UserError(f"{self.source}: {where}: {msg}")

    def uint(self, value: Any, where: str, limit: int = UINT256_MAX) -> int:
        """A non-negative integer: JSON number, "0x" hex or decimal string (geth's HexOrDecimal)."""
        if isinstance(value, bool):
            raise self.fail(where, f"expected a number, got {json.dumps(value)}")
        if isinstance(value, int):
            n = value
        elif isinstance(value, str):
            s = value.strip()
            try:
                if s[:2] in ("0x", "0X"):
                    if not _HEX.fullmatch(s, 2):
                        raise ValueError
                    n = int(s[2:], 16)
                else:
                    if not _DEC.fullmatch(s):
                        raise ValueError
                    n = int(s, 10)
            except ValueError:
                raise self.fail(where, f"not a number: {value!r}") from None
        else:
            raise self.fail(where, f"expected a number, got {json.dumps(value)[:40]}")
        if n < 0:
            raise self.fail(where, f"negative value {value!r}")
        if n > limit:
            raise self.fail(where, f"value {value!r} does not fit in {limit.bit_length()} bits")
        return n

    def data(self, value: Any, where: str, size: int | None = None) -> bytes:
        """0x-hex bytes (an empty string is empty bytes); `size` demands an exact length."""
        if not isinstance(value, str):
            raise self.fail(where, f"expected a hex string, got {json.dumps(value)[:40]}")
        s = value[2:] if value[:2] in ("0x", "0X") else value
        if len(s) % 2:
            raise self.fail(where, f"odd-length hex {value[:70]!r}")
        if s and not _HEX.fullmatch(s):  # bytes.fromhex alone would accept spaces
            raise self.fail(where, f"invalid hex {value[:70]!r}")
        b = bytes.fromhex(s)
        if size is not None and len(b) != size:
            raise self.fail(where, f"expected {size} bytes, got {len(b)} in {value[:70]!r}")
        return b

    def address(self, value: Any, where: str) -> bytes:
        if not isinstance(value, str):
            raise self.fail(where, f"expected an address, got {json.dumps(value)[:40]}")
        s = value[2:] if value[:2] in ("0x", "0X") else value
        if not _ADDRESS.fullmatch(s):
            raise self.fail(where, f"invalid address {value[:70]!r} (want 20 bytes of hex)")
        return bytes.fromhex(s)

    def word(self, value: Any, where: str) -> int:
        """A storage key or value: hex of at most 32 bytes (geth pads shorter ones on the left)."""
        if not isinstance(value, str):
            raise self.fail(where, f"expected a hex string, got {json.dumps(value)[:40]}")
        s = value[2:] if value[:2] in ("0x", "0X") else value
        if not _WORD.fullmatch(s):
            raise self.fail(where, f"invalid 32-byte hex {value[:70]!r}")
        return int(s, 16)


@dataclass
class ChainConfig:
    chain_id: int
    block_forks: dict[str, int] = field(default_factory=dict)  # fork name -> activation block
    time_forks: dict[str, int] = field(default_factory=dict)  # fork name -> activation timestamp
    terminal_total_difficulty: int | None = None
    merge_netsplit_block: int | None = None
    blob_schedule: dict[str, dict[str, int]] = field(default_factory=dict)  # lower-case fork -> params
    deposit_contract_address: bytes | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the config object as given, for storage
    # fork -> its ForkRules on this chain (client/forks.py fills it; this module stays free of evm/)
    rules_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def is_london(self, number: int) -> bool:
        n = self.block_forks.get("London")
        return n is not None and n <= number

    def is_active(self, fork: str, number: int, timestamp: int) -> bool:
        if fork in self.block_forks:
            return self.block_forks[fork] <= number
        t = self.time_forks.get(fork)
        # timestamp forks come after London (as geth's IsShanghai etc. require)
        return t is not None and t <= timestamp and self.is_london(number)

    def is_post_merge(self, number: int, timestamp: int) -> bool:
        """geth's IsPostMerge: merged at genesis (terminal total difficulty 0), past the merge netsplit block,
        or Shanghai active. A chain that merged by reaching its TTD later (mainnet) is known post-Merge from
        Shanghai on only: the total difficulty that tells is not in the config."""
        if not self.is_london(number):
            return False
        return (
            self.terminal_total_difficulty == 0
            or (self.merge_netsplit_block is not None and number >= self.merge_netsplit_block)
            or self.is_active("Shanghai", number, timestamp)
        )

    def fork_name(self, number: int, timestamp: int) -> str:
        """Name of the latest fork active at (number, timestamp), blob-parameter-only forks (BPO1...)
        included, as geth's LatestFork names it."""
        for name, _ in reversed(TIME_FORKS):
            if self.is_active(name, number, timestamp):
                return name
        if self.is_post_merge(number, timestamp):
            return "Paris"
        for name, _ in reversed(BLOCK_FORKS):
            if self.is_active(name, number, timestamp):
                return name
        return "Frontier"


@dataclass
class Genesis:
    config: ChainConfig
    alloc: dict[bytes, tuple[int, int, bytes, dict[int, int]]]
    nonce: int = 0
    timestamp: int = 0
    extra_data: bytes = b""
    gas_limit: int = GENESIS_GAS_LIMIT
    difficulty: int = 0
    mix_hash: bytes = ZERO_HASH
    coinbase: bytes = b"\x00" * 20
    number: int = 0
    gas_used: int = 0
    parent_hash: bytes = ZERO_HASH
    base_fee_per_gas: int | None = None
    excess_blob_gas: int | None = None
    blob_gas_used: int | None = None

    def header(self, state_root: bytes) -> Header:
        c = self.config
        h = Header(
            parent_hash=self.parent_hash,
            coinbase=self.coinbase,
            state_root=state_root,
            difficulty=self.difficulty,
            number=self.number,
            gas_limit=self.gas_limit,
            gas_used=self.gas_used,
            timestamp=self.timestamp,
            extra_data=self.extra_data,
            mix_hash=self.mix_hash,
            nonce=self.nonce.to_bytes(8, "big"),
            base_fee_per_gas=self.base_fee_per_gas,
        )
        n, t = self.number, self.timestamp
        if c.is_london(n) and h.base_fee_per_gas is None:
            h.base_fee_per_gas = INITIAL_BASE_FEE
        if c.is_active("Shanghai", n, t):
            h.withdrawals_root = EMPTY_ROOT
        if c.is_active("Cancun", n, t):
            h.blob_gas_used = self.blob_gas_used or 0
            h.excess_blob_gas = self.excess_blob_gas or 0
            h.parent_beacon_block_root = ZERO_HASH  # genesis has no parent (EIP-4788)
        if c.is_active("Prague", n, t):
            h.requests_hash = EMPTY_REQUESTS_HASH
        return h

    def state_root(self) -> bytes:
        return alloc_root(self.alloc)

    def block_body_rlp(self) -> bytes:
        """RLP of the block items after the header: [transactions, ommers(, withdrawals)] all empty."""
        shanghai = self.config.is_active("Shanghai", self.number, self.timestamp)
        return b"\xc3\xc0\xc0\xc0" if shanghai else b"\xc2\xc0\xc0"


def parse_config(obj: Any, ctx: _Ctx) -> ChainConfig:
    if not isinstance(obj, dict):
        raise ctx.fail("config", "missing or not an object")
    if "chainId" not in obj:
        raise ctx.fail("config.chainId", "missing")
    chain_id = ctx.uint(obj["chainId"], "config.chainId", U64_MAX)
    block_forks = {}
    for name, key in BLOCK_FORKS:
        if obj.get(key) is not None:
            block_forks[name] = ctx.uint(obj[key], f"config.{key}", U64_MAX)
    time_forks = {}
    for name, key in TIME_FORKS:
        if obj.get(key) is not None:
            time_forks[name] = ctx.uint(obj[key], f"config.{key}", U64_MAX)
    # geth's CheckConfigForkOrder: a fork needs every earlier one, no earlier than it (a genesis header with
    # Cancun's fields but not Shanghai's cannot even be encoded); BPO1 follows Osaka, BPOn follows BPOn-1.
    mainline = [(name, key) for name, key in TIME_FORKS if name not in BPO_FORKS]
    bpo = [(name, key) for name, key in TIME_FORKS if name == "Osaka" or name in BPO_FORKS]
    for chain in (mainline, bpo):
        for (prev, prev_key), (name, key) in zip(chain, chain[1:]):
            if name in time_forks:
                if prev not in time_forks:
                    raise ctx.fail(f"config.{key}", f"{prev} ({prev_key}) is not enabled, but {name} is")
                if time_forks[name] < time_forks[prev]:
                    raise ctx.fail(
                        f"config.{key}", f"{name} at {time_forks[name]} comes before {prev} at {time_forks[prev]}"
                    )
    netsplit = obj.get("mergeNetsplitBlock")
    netsplit = None if netsplit is None else ctx.uint(netsplit, "config.mergeNetsplitBlock", U64_MAX)
    ttd = obj.get("terminalTotalDifficulty")
    ttd = None if ttd is None else ctx.uint(ttd, "config.terminalTotalDifficulty")
    schedule: dict[str, dict[str, int]] = {}
    bs = obj.get("blobSchedule") or {}
    if not isinstance(bs, dict):
        raise ctx.fail("config.blobSchedule", "not an object")
    for fork, params in bs.items():
        if not isinstance(params, dict):
            raise ctx.fail(f"config.blobSchedule.{fork}", "not an object")
        entry = {}
        for k in ("target", "max", "baseFeeUpdateFraction"):
            if k not in params:
                raise ctx.fail(f"config.blobSchedule.{fork}.{k}", "missing")
            entry[k] = ctx.uint(params[k], f"config.blobSchedule.{fork}.{k}", U64_MAX)
        if entry["baseFeeUpdateFraction"] == 0:  # a divisor (geth refuses it too)
            raise ctx.fail(f"config.blobSchedule.{fork}.baseFeeUpdateFraction", "must not be 0")
        if entry["target"] > entry["max"]:
            raise ctx.fail(f"config.blobSchedule.{fork}", f"target {entry['target']} above max {entry['max']}")
        schedule[fork.lower()] = entry
    for name, key in TIME_FORKS:
        if name in BLOB_PARAMS_REQUIRED and name in time_forks and name.lower() not in schedule:
            raise ctx.fail(f"config.{key}", f"{name} is scheduled but config.blobSchedule has no {name.lower()} entry")
    deposit = obj.get("depositContractAddress")
    deposit = None if deposit is None else ctx.address(deposit, "config.depositContractAddress")
    return ChainConfig(chain_id, block_forks, time_forks, ttd, netsplit, schedule, deposit, dict(obj))


def parse_alloc(obj: Any, ctx: _Ctx) -> dict[bytes, tuple[int, int, bytes, dict[int, int]]]:
    if not isinstance(obj, dict):
        raise ctx.fail("alloc", "missing or not an object")
    alloc = {}
    for key, acc in obj.items():
        addr = ctx.address(key, f"alloc key {key[:50]!r}")
        where = f"alloc[{key}]"
        if addr in alloc:
            raise ctx.fail(where, "address given twice")
        if not isinstance(acc, dict):
            raise ctx.fail(where, "not an object")
        balance = ctx.uint(acc.get("balance", "0x0"), f"{where}.balance")
        nonce = ctx.uint(acc.get("nonce", "0x0"), f"{where}.nonce", U64_MAX)
        code = ctx.data(acc.get("code", "") or "", f"{where}.code")
        storage_obj = acc.get("storage") or {}
        if not isinstance(storage_obj, dict):
            raise ctx.fail(f"{where}.storage", "not an object")
        storage = {}
        for sk, sv in storage_obj.items():
            slot = ctx.word(sk, f"{where}.storage key")
            value = ctx.word(sv, f"{where}.storage[{sk}]")
            if value:
                storage[slot] = value
        alloc[addr] = (nonce, balance, code, storage)
    return alloc


def parse_genesis(obj: Any, source: str = "genesis") -> Genesis:
    ctx = _Ctx(source)
    if not isinstance(obj, dict):
        raise UserError(f"{source}: top level is not a JSON object")
    config = parse_config(obj.get("config"), ctx)
    alloc = parse_alloc(obj.get("alloc", {}), ctx)

    def opt(key: str, *alts: str):
        for k in (key, *alts):
            if obj.get(k) is not None:
                return k, obj[k]
        return key, None

    g = Genesis(config=config, alloc=alloc)
    k, v = opt("nonce")
    g.nonce = 0 if v is None else ctx.uint(v, k, U64_MAX)
    k, v = opt("timestamp")
    g.timestamp = 0 if v is None else ctx.uint(v, k, U64_MAX)
    k, v = opt("extraData")
    g.extra_data = b"" if v is None else ctx.data(v, k)
    if len(g.extra_data) > 32:
        raise ctx.fail("extraData", f"{len(g.extra_data)} bytes, at most 32 allowed")
    k, v = opt("gasLimit")
    g.gas_limit = 0 if v is None else ctx.uint(v, k, U64_MAX)
    if g.gas_limit == 0:
        g.gas_limit = GENESIS_GAS_LIMIT
    k, v = opt("mixHash", "mixhash")
    g.mix_hash = ZERO_HASH if v is None else ctx.data(v, k, 32)
    k, v = opt("difficulty")
    if v is not None:
        g.difficulty = ctx.uint(v, k)
    elif "ethash" in config.raw and g.mix_hash == ZERO_HASH:
        g.difficulty = GENESIS_DIFFICULTY  # as geth does for ethash chains
    k, v = opt("coinbase")
    if v is not None:
        g.coinbase = ctx.address(v, k)
    k, v = opt("number")
    g.number = 0 if v is None else ctx.uint(v, k, U64_MAX)
    k, v = opt("gasUsed")
    g.gas_used = 0 if v is None else ctx.uint(v, k, U64_MAX)
    k, v = opt("parentHash")
    g.parent_hash = ZERO_HASH if v is None else ctx.data(v, k, 32)
    k, v = opt("baseFeePerGas")
    g.base_fee_per_gas = None if v is None else ctx.uint(v, k)
    k, v = opt("excessBlobGas")
    g.excess_blob_gas = None if v is None else ctx.uint(v, k, U64_MAX)
    k, v = opt("blobGasUsed")
    g.blob_gas_used = None if v is None else ctx.uint(v, k, U64_MAX)
    return g


def load_genesis(path: str | os.PathLike) -> tuple[Genesis, bytes]:
    """Read and parse a genesis file; returns the Genesis and the file's bytes."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise UserError(f"genesis file not found: {name}") from None
    except IsADirectoryError:
        raise UserError(f"genesis path is a directory: {name}") from None
    except OSError as exc:
        raise UserError(f"cannot read genesis file {name}: {exc.strerror}") from None
    try:
        obj = jsonsafe.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise UserError(f"{name}: invalid JSON{line}") from None
    except (RecursionError, jsonsafe.TooDeep):
        raise UserError(f"{name}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of more than sys.get_int_max_str_digits() digits
        raise UserError(f"{name}: invalid JSON ({str(exc).split(':')[0]})") from None
    return parse_genesis(obj, name), raw
