"""Parsing JSON-RPC parameters (geth's strictness and messages) and formatting results."""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import InvalidParams

# int(s, 16) and bytes.fromhex also take signs, underscores and whitespace; geth takes hex digits only
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")

BLOCK_TAGS = ("latest", "pending", "earliest", "safe", "finalized")


def _arg(i: int | None, msg: str) -> InvalidParams:
    return InvalidParams(f"invalid argument {i}: {msg}" if i is not None else msg)


def quantity(v: Any, i: int | None = None, bits: int = 256) -> int:
    """A 0x-hex quantity without leading zeros (geth: hexutil.Big / Uint64)."""
    if not isinstance(v, str):
        raise _arg(i, "json: cannot unmarshal non-string into Go value of type hexutil.Big")
    if not v.startswith(("0x", "0X")):
        raise _arg(i, "hex string without 0x prefix")
    digits = v[2:]
    if not digits:
        raise _arg(i, 'hex string "0x"')
    if len(digits) > 1 and digits[0] == "0":
        raise _arg(i, "hex number with leading zero digits")
    if not _HEX_DIGITS.fullmatch(digits):
        raise _arg(i, "invalid hex string")
    n = int(digits, 16)
    if n.bit_length() > bits:
        raise _arg(i, f"hex number > {bits} bits")
    return n


def data(v: Any, i: int | None = None, size: int | None = None) -> bytes:
    if not isinstance(v, str):
        raise _arg(i, "json: cannot unmarshal non-string into Go value of type hexutil.Bytes")
    if not v.startswith(("0x", "0X")):
        raise _arg(i, "hex string without 0x prefix")
    digits = v[2:]
    if len(digits) % 2:
        raise _arg(i, "hex string of odd length")
    if not _HEX_DIGITS.fullmatch(digits):
        raise _arg(i, "invalid hex string")
    b = bytes.fromhex(digits)
    if size is not None and len(b) != size:
        what = {20: "common.Address", 32: "common.Hash"}.get(size, f"[{size}]byte")
        raise _arg(i, f"hex string has length {len(digits)}, want {size * 2} for {what}")
    return b


def address(v: Any, i: int | None = None) -> bytes:
    return data(v, i, 20)


def hash32(v: Any, i: int | None = None) -> bytes:
    return data(v, i, 32)


def storage_key(v: Any, i: int | None = None) -> int:
    """geth accepts any hex up to 32 bytes (odd length too) for eth_getStorageAt's slot."""
    if not isinstance(v, str) or not v.startswith(("0x", "0X")):
        raise _arg(i, "hex string without 0x prefix")
    digits = v[2:] or "0"
    if len(digits) > 64:
        raise _arg(i, "hex string too long, want at most 32 bytes")
    if not _HEX_DIGITS.fullmatch(digits):
        raise _arg(i, "invalid hex string")
    return int(digits, 16)


def block_id(v: Any, i: int | None = None) -> tuple[str, Any]:
    """A block number or tag, or an EIP-1898 object; returns ('tag', name) | ('number', n) | ('hash', h)."""
    if v is None:
        return ("tag", "latest")
    if isinstance(v, str):
        if v in BLOCK_TAGS:
            return ("tag", v)
        if v.startswith(("0x", "0X")) and len(v) == 66:
            return ("hash", hash32(v, i))
        return ("number", quantity(v, i, 64))
    if isinstance(v, dict):
        if "blockHash" in v and "blockNumber" in v:
            raise _arg(i, "cannot specify both BlockHash and BlockNumber, choose one or the other")
        if "blockHash" in v:
            return ("hash", hash32(v["blockHash"], i))
        if "blockNumber" in v:
            return block_id(v["blockNumber"], i)
    raise _arg(i, "invalid block number or tag")


def boolean(v: Any, i: int | None = None) -> bool:
    if not isinstance(v, bool):
        raise _arg(i, "json: cannot unmarshal into Go value of type bool")
    return v


# -- formatting -------------------------------------------------------------------------------------------


def hx(n: int) -> str:
    return hex(n)


def hb(b: bytes) -> str:
    return "0x" + b.hex()


@functools.lru_cache(maxsize=4096)  # the same few addresses fill every receipt and block of a dev chain
def checksum(a: bytes) -> str:
    from common.keccak import keccak

    h = a.hex()
    digest = keccak(h.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[k], 16) >= 8 else c for k, c in enumerate(h))


def number(v: Any, i: int | None = None, bits: int = 256) -> int:
    """anvil's lenient number (its `deserialize_number`): a JSON integer, a 0x-hex string (leading zeros
    allowed) or a decimal string."""
    if isinstance(v, bool):
        raise _arg(i, "expected a number")
    if isinstance(v, int):
        n = v
    elif isinstance(v, float) and v.is_integer():
        n = int(v)
    elif isinstance(v, str) and v.startswith(("0x", "0X")):
        if not v[2:] or not _HEX_DIGITS.fullmatch(v[2:]):
            raise _arg(i, "invalid hex string")
        n = int(v[2:], 16)
    elif isinstance(v, str) and v.isdigit():
        n = int(v)
    else:
        raise _arg(i, "expected a number (integer, hex or decimal string)")
    if n < 0 or n.bit_length() > bits:
        raise _arg(i, f"number out of range (0 to 2^{bits} - 1)")
    return n
