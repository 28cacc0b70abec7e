"""geth's chain-file format: blocks as concatenated RLP, optionally gzip-compressed (name ending in .gz)."""

from __future__ import annotations

import gzip
import mmap
import os
from collections.abc import Iterator
from typing import BinaryIO

from .errors import UserError


def _item_length(data: bytes | memoryview, pos: int) -> int:
    """Total length (prefix + payload) of the RLP item starting at `pos`."""
    b = data[pos]
    if b < 0x80:
        return 1
    if b < 0xB8:
        return 1 + b - 0x80
    if b < 0xC0:
        n = b - 0xB7
        return 1 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
    if b < 0xF8:
        return 1 + b - 0xC0
    n = b - 0xF7
    return 1 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")


def block_spans(data, source: str = "chain file") -> list[tuple[int, int]]:
    """(offset, length) of each top-level RLP item (block) of a chain file's bytes; checks the framing."""
    out = []
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] < 0xC0:
            raise UserError(f"{source}: byte {pos}: not an RLP list (not a chain file?)")
        n = _item_length(data, pos)
        if pos + n > end:
            raise UserError(f"{source}: truncated block at byte {pos} ({n} bytes announced, {end - pos} left)")
        out.append((pos, n))
        pos += n
    return out


def split_blocks(data: bytes, source: str = "chain file") -> list[bytes]:
    """The top-level RLP items (blocks) of a chain file's bytes."""
    return [bytes(data[p : p + n]) for p, n in block_spans(data, source)]


class ChainFile:
    """The blocks of one chain file, read lazily: a plain file is memory-mapped (a big chain is not read into
    memory), a .gz one decompressed. `len()` is known up front (the framing is scanned first)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mmap: mmap.mmap | None = None
        self._data: bytes | mmap.mmap
        try:
            if path.endswith(".gz"):
                with gzip.open(path, "rb") as fh:
                    self._data = fh.read()
            else:
                with open(path, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    if size:
                        self._mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                        self._data = self._mmap
                    else:
                        self._data = b""
        except FileNotFoundError:
            raise UserError(f"chain file not found: {path}") from None
        except IsADirectoryError:
            raise UserError(f"chain file is a directory: {path}") from None
        except (OSError, EOFError) as exc:
            raise UserError(f"cannot read chain file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        self.spans = block_spans(self._data, path)

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[bytes]:
        data = self._data
        for pos, n in self.spans:
            yield bytes(data[pos : pos + n])

    def close(self) -> None:
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None


def open_for_writing(path: str, compress: bool | None = None) -> BinaryIO:
    try:
        if path.endswith(".gz") if compress is None else compress:
            return gzip.open(path, "wb")  # type: ignore[return-value]
        return open(path, "wb")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def iter_canonical_rlp(store, first: int, last: int) -> Iterator[tuple[int, bytes]]:
    for n in range(first, last + 1):
        h = store.canonical_hash(n)
        if h is None:
            raise UserError(f"no canonical block {n} in the datadir")
        raw = store.get_block_rlp(h)
        if raw is None:
            raise UserError(f"block {n} (0x{h.hex()}) has no body in the datadir")
        yield n, raw
