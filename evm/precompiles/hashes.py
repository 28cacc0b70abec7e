"""0x02 SHA256, 0x03 RIPEMD160, 0x04 IDENTITY (hashlib; RIPEMD160 falls back to pycryptodome)."""

from __future__ import annotations

import hashlib

from evm.precompiles import PrecompileResult, fail, ok, words
from evm.spec import Fork

try:
    hashlib.new("ripemd160", b"")

    def _ripemd160(data: bytes) -> bytes:
        return hashlib.new("ripemd160", data).digest()
except ValueError:  # OpenSSL 3 without the legacy provider
    from Crypto.Hash import RIPEMD160

    def _ripemd160(data: bytes) -> bytes:
        return RIPEMD160.new(data).digest()


def sha256(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    cost = 60 + 12 * words(len(data))
    if gas < cost:
        return fail(gas)
    return ok(hashlib.sha256(data).digest(), cost)


def ripemd160(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    cost = 600 + 120 * words(len(data))
    if gas < cost:
        return fail(gas)
    return ok(b"\x00" * 12 + _ripemd160(data), cost)


def identity(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    cost = 15 + 3 * words(len(data))
    if gas < cost:
        return fail(gas)
    return ok(bytes(data), cost)
