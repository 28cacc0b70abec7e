"""0x09 BLAKE2F: the BLAKE2b compression function F (EIP-152).

``compress`` is the pure-Python reference (~6 us per round). At first use the precompile compiles
the same function to native code with llvmlite (``_blake2f_native``, ~20 ns per round) and uses
that; if the JIT is unavailable it falls back to ``compress``.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable

from evm.precompiles import PrecompileResult, fail, ok
from evm.spec import Fork

GAS_PER_ROUND = 1
INPUT_LENGTH = 213
M64 = 0xFFFFFFFFFFFFFFFF

IV = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)

SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)


def _g(a: int, b: int, c: int, d: int, x: int, y: int) -> tuple[int, int, int, int]:
    a = (a + b + x) & M64
    d ^= a
    d = ((d >> 32) | (d << 32)) & M64
    c = (c + d) & M64
    b ^= c
    b = ((b >> 24) | (b << 40)) & M64
    a = (a + b + y) & M64
    d ^= a
    d = ((d >> 16) | (d << 48)) & M64
    c = (c + d) & M64
    b ^= c
    b = ((b >> 63) | (b << 1)) & M64
    return a, b, c, d


def compress(rounds: int, h: tuple[int, ...], m: tuple[int, ...], t0: int, t1: int, final: bool) -> tuple[int, ...]:
    v0, v1, v2, v3, v4, v5, v6, v7 = h
    v8, v9, v10, v11 = IV[0], IV[1], IV[2], IV[3]
    v12, v13, v14, v15 = IV[4] ^ t0, IV[5] ^ t1, IV[6], IV[7]
    if final:
        v14 ^= M64
    g = _g
    for r in range(rounds):
        s = SIGMA[r % 10]
        v0, v4, v8, v12 = g(v0, v4, v8, v12, m[s[0]], m[s[1]])
        v1, v5, v9, v13 = g(v1, v5, v9, v13, m[s[2]], m[s[3]])
        v2, v6, v10, v14 = g(v2, v6, v10, v14, m[s[4]], m[s[5]])
        v3, v7, v11, v15 = g(v3, v7, v11, v15, m[s[6]], m[s[7]])
        v0, v5, v10, v15 = g(v0, v5, v10, v15, m[s[8]], m[s[9]])
        v1, v6, v11, v12 = g(v1, v6, v11, v12, m[s[10]], m[s[11]])
        v2, v7, v8, v13 = g(v2, v7, v8, v13, m[s[12]], m[s[13]])
        v3, v4, v9, v14 = g(v3, v4, v9, v14, m[s[14]], m[s[15]])
    return (
        h[0] ^ v0 ^ v8,
        h[1] ^ v1 ^ v9,
        h[2] ^ v2 ^ v10,
        h[3] ^ v3 ^ v11,
        h[4] ^ v4 ^ v12,
        h[5] ^ v5 ^ v13,
        h[6] ^ v6 ^ v14,
        h[7] ^ v7 ^ v15,
    )


_native: Callable[..., None] | bool | None = None  # False once the JIT failed to load


def _compress_bytes(rounds: int, data: bytes, final: bool) -> bytes:
    global _native
    if _native is None:
        try:
            from evm.precompiles._blake2f_native import load

            _native = load() or False
        except ImportError:
            _native = False
    native = _native
    if callable(native):
        hn = (ctypes.c_uint64 * 8).from_buffer_copy(data, 4)
        mn = (ctypes.c_uint64 * 16).from_buffer_copy(data, 68)
        t0, t1 = struct.unpack_from("<2Q", data, 196)
        native(rounds, hn, mn, t0, t1, M64 if final else 0)
        return bytes(hn)
    h = struct.unpack_from("<8Q", data, 4)
    m = struct.unpack_from("<16Q", data, 68)
    t0, t1 = struct.unpack_from("<2Q", data, 196)
    return struct.pack("<8Q", *compress(rounds, h, m, t0, t1, final))


def blake2f(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) != INPUT_LENGTH:
        return fail(gas)
    rounds = int.from_bytes(data[:4], "big")
    cost = GAS_PER_ROUND * rounds
    if gas < cost:
        return fail(gas)
    final = data[212]
    if final > 1:
        return fail(gas)
    return ok(_compress_bytes(rounds, bytes(data), final == 1), cost)
