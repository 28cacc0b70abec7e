"""A small, strict RLP codec (bytes, unsigned ints, nested lists).

Ours rather than the `rlp` package on the hot and start-up paths: importing `rlp` pulls in eth_utils and
pydantic (over 100 ms), and building the exact bytes by hand is faster for trie nodes and headers.
Decoding returns nested lists of `bytes`, as `rlp.decode` does, and rejects non-canonical encodings.
"""

from __future__ import annotations

from typing import Any


class DecodingError(ValueError):
    pass


def _length_prefix(n: int, short: int) -> bytes:
    if n < 56:
        return bytes((short + n,))
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((short + 55 + len(ln),)) + ln


def encode(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        b = bytes(item)
        if len(b) == 1 and b[0] < 0x80:
            return b
        return _length_prefix(len(b), 0x80) + b
    if isinstance(item, bool):
        raise TypeError("RLP does not encode bool")
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP encodes unsigned integers only")
        if item == 0:
            return b"\x80"
        return encode(item.to_bytes((item.bit_length() + 7) // 8, "big"))
    if isinstance(item, (list, tuple)):
        payload = b"".join([encode(x) for x in item])
        return _length_prefix(len(payload), 0xC0) + payload
    raise TypeError(f"cannot RLP-encode {type(item).__name__}")


def _item(data: bytes, pos: int, end: int) -> tuple[Any, int]:
    """Decode the item at `pos`; returns (item, position after it)."""
    if pos >= end:
        raise DecodingError("unexpected end of RLP data")
    b0 = data[pos]
    if b0 < 0x80:
        return data[pos : pos + 1], pos + 1
    if b0 < 0xB8:
        n = b0 - 0x80
        start = pos + 1
        if start + n > end:
            raise DecodingError("RLP string runs past the end")
        if n == 1 and data[start] < 0x80:
            raise DecodingError("non-canonical RLP: single byte below 0x80 with a length prefix")
        return data[start : start + n], start + n
    if b0 < 0xC0:
        n, start = _long_length(data, pos, b0 - 0xB7, end)
        if start + n > end:
            raise DecodingError("RLP string runs past the end")
        return data[start : start + n], start + n
    if b0 < 0xF8:
        n = b0 - 0xC0
        start = pos + 1
    else:
        n, start = _long_length(data, pos, b0 - 0xF7, end)
    stop = start + n
    if stop > end:
        raise DecodingError("RLP list runs past the end")
    out = []
    p = start
    while p < stop:
        x, p = _item(data, p, stop)
        out.append(x)
    return out, stop


def _long_length(data: bytes, pos: int, ll: int, end: int) -> tuple[int, int]:
    start = pos + 1 + ll
    if start > end:
        raise DecodingError("RLP length runs past the end")
    if data[pos + 1] == 0:
        raise DecodingError("non-canonical RLP: length with leading zero")
    n = int.from_bytes(data[pos + 1 : start], "big")
    if n < 56:
        raise DecodingError("non-canonical RLP: long form for a short length")
    return n, start


def decode(data: bytes) -> Any:
    data = bytes(data)
    item, pos = _item(data, 0, len(data))
    if pos != len(data):
        raise DecodingError("trailing bytes after the RLP item")
    return item
