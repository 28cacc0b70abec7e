"""The compiled backend's native runtime: Keccak-256 against eth_hash on every length around the
136-byte rate, SHA-256 against hashlib, and the compile tiers."""

from __future__ import annotations

import ctypes
import hashlib
import random

from eth_hash.auto import keccak

from evm.compiler.compile import tier_for
from evm.compiler.runtime import get_jit


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
    assert tier_for(31, 10, 4) == "full"
    assert tier_for(11353, 3000, 547) == "cheap"
    assert tier_for(12289, 20000, 4097) == "none"
