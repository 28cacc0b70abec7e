"""The compiled backend's native runtime: Keccak-256 against eth_hash on every length around the
136-byte rate, SHA-256 against hashlib, and the compile tiers."""

from __future__ import annotations

import ctypes
import hashlib
import random

from eth_hash.auto import keccak

from evm.compiler.analysis import analyze
from evm.compiler.compile import choose_tier
from evm.compiler.runtime import get_jit
from evm.spec import Fork


def test_native_keccak():
    fn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p)(get_jit().runtime["rt_keccak"])
    data = bytes((i * 7 + 3) & 0xFF for i in range(700))
    out = ctypes.create_string_buffer(32)
    for n in list(range(0, 300)) + [543, 544, 545, 700]:
        fn(data[:n], n, out)
        assert out.raw == keccak(data[:n]), n


def test_native_sha256():
    fn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p)(get_jit().runtime["rt_sha256"])
    rng = random.Random(7)
    out = ctypes.create_string_buffer(32)
    for n in list(range(0, 301)) + [1000, 4096, 10007]:
        for data in (bytes(rng.randrange(256) for _ in range(n)), b"\xff" * n):
            fn(data, n, out)
            assert out.raw == hashlib.sha256(data).digest(), n


def test_tiers():
    """Small code gets the optimising tier, mid-size the light one, large (or heavy) code the
    compact one; the choice follows the estimated inline cost, not the byte count."""

    def tier(code: bytes) -> str:
        return choose_tier(analyze(code, Fork.OSAKA))

    assert tier(bytes([0x36, 0x80, 0x01] * 100)) == "full"
    assert tier(bytes([0x36, 0x80, 0x01] * 3000)) == "cheap"  # 9 KB of cheap arithmetic
    assert tier(bytes([0x5F] + [0x51] * 1500)) == "compact"  # 1.5 KB of MLOADs
    assert tier(bytes([0x36, 0x80, 0x01] * 8000)) == "compact"
