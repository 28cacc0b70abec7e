"""keccak256, calling pycryptodome's C Keccak directly through cffi.

eth_hash's wrapper builds a new hash object per call (about 5 µs); re-using one C state per thread and
resetting it costs about 1.5 µs, which matters when a genesis hashes ~20,000 addresses and trie nodes.
Falls back to eth_hash when pycryptodome runs on its ctypes backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from eth_hash.auto import keccak as _eth_keccak

Hasher = Callable[[bytes], bytes]


def _make_fast() -> Hasher:
    from Crypto.Hash.keccak import _raw_keccak_lib as lib  # type: ignore[attr-defined]
    from Crypto.Util._raw_api import ffi  # only present with the cffi backend

    absorb, reset, digest, buffer = lib.keccak_absorb, lib.keccak_reset, lib.keccak_digest, ffi.buffer
    local = threading.local()  # a C state is not safe to share between threads

    def new_state() -> tuple[Any, Any]:
        pp = ffi.new("void **")
        if lib.keccak_init(pp, 64, 24):  # capacity 512 bits = keccak-256, 24 rounds
            raise RuntimeError("keccak_init failed")
        return ffi.gc(pp[0], lib.keccak_destroy), ffi.new("uint8_t[32]")

    def keccak256(data: bytes) -> bytes:
        try:
            st, out = local.s
        except AttributeError:
            st, out = local.s = new_state()
        if type(data) is not bytes:
            data = bytes(data)
        reset(st)
        absorb(st, data, len(data))
        digest(st, out, 32, 1)  # padding byte 0x01: original Keccak, not SHA-3
        digest_bytes: bytes = buffer(out)[:]
        return digest_bytes

    # never trust the fast path blindly: it must agree with the reference on known inputs
    for probe in (b"", b"abc", bytes(range(200))):
        if keccak256(probe) != _eth_keccak(probe):
            raise RuntimeError("fast keccak disagrees with eth_hash")
    return keccak256


keccak256: Hasher
try:
    keccak256 = _make_fast()
except Exception:  # pragma: no cover - depends on how pycryptodome was built
    keccak256 = _eth_keccak

keccak = keccak256


class Hashable(Protocol):
    """What `memoized_hash` keeps its hash in: an encoding and a `_hashed` slot."""

    _hashed: tuple[tuple[object, ...], bytes] | None

    def encode(self) -> bytes: ...


def memoized_hash(obj: Hashable, key: tuple[object, ...]) -> bytes:
    """keccak(obj.encode()), remembered in `obj._hashed` beside `key` (the fields the encoding is made of): asked
    again with the same fields, the hash is not computed again; any change of a field shows in the key. Headers
    and transactions are asked for their hash many times per request, and comparing their fields costs far less
    than encoding them again."""
    cached = obj._hashed
    if cached is not None and cached[0] == key:
        return cached[1]
    h = keccak256(obj.encode())
    obj._hashed = (key, h)
    return h
