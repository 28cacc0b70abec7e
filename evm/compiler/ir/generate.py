"""Generator of the runtime's unrolled round functions, committed as .ll files beside it:
`keccak_f.ll` (Keccak-f[1600], 24 rounds), `absorb.ll` (XOR of one 136-byte block into the
state) and `sha256_block.ll` (the SHA-256 compression, 64 rounds and the message schedule),
each unrolled into SSA values, which LLVM keeps in registers. Written out by a program because
unrolling by hand is error-prone; tests/test_runtime_ir.py checks the committed files are its
output. Run `python -m evm.compiler.ir.generate` after changing it."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

_RC = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808A,
    0x8000000080008000,
    0x000000000000808B,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008A,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000A,
    0x000000008000808B,
    0x800000000000008B,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800A,
    0x800000008000000A,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
]
_ROT = [  # _ROT[x][y]
    [0, 36, 3, 41, 18],
    [1, 44, 10, 45, 2],
    [62, 6, 43, 15, 61],
    [28, 55, 25, 21, 56],
    [27, 20, 39, 8, 14],
]


def _keccak_f_ir() -> str:
    out = ["define internal void @keccak_f(ptr %s) alwaysinline {"]
    n = [0]

    def tmp() -> str:
        n[0] += 1
        return f"%t{n[0]}"

    A = []
    for i in range(25):
        p = tmp()
        out.append(f"  {p} = getelementptr i64, ptr %s, i64 {i}")
        v = tmp()
        out.append(f"  {v} = load i64, ptr {p}, align 8")
        A.append(v)

    def op(kind: str, a: str, b: str) -> str:
        r = tmp()
        out.append(f"  {r} = {kind} i64 {a}, {b}")
        return r

    def rotl(a: str, k: int) -> str:
        if k == 0:
            return a
        r = tmp()
        out.append(f"  {r} = call i64 @llvm.fshl.i64(i64 {a}, i64 {a}, i64 {k})")
        return r

    for rnd in range(24):
        C = []
        for x in range(5):
            c = A[x]
            for y in range(1, 5):
                c = op("xor", c, A[x + 5 * y])
            C.append(c)
        D = [op("xor", C[(x - 1) % 5], rotl(C[(x + 1) % 5], 1)) for x in range(5)]
        A = [op("xor", A[i], D[i % 5]) for i in range(25)]
        B = [""] * 25  # every entry is set below
        for x in range(5):
            for y in range(5):
                B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(A[x + 5 * y], _ROT[x][y])
        A = []
        for i in range(25):
            x, y = i % 5, i // 5
            nb = op("xor", B[(x + 1) % 5 + 5 * y], "-1")
            a = op("and", nb, B[(x + 2) % 5 + 5 * y])
            A.append(op("xor", B[i], a))
        rc = _RC[rnd] - (1 << 64) if _RC[rnd] >= 1 << 63 else _RC[rnd]
        A[0] = op("xor", A[0], str(rc))
    for i in range(25):
        p = tmp()
        out.append(f"  {p} = getelementptr i64, ptr %s, i64 {i}")
        out.append(f"  store i64 {A[i]}, ptr {p}, align 8")
    out.append("  ret void\n}")
    return "\n".join(out)


def _absorb_ir() -> str:
    lines = ["define internal void @absorb(ptr %s, ptr %d) alwaysinline {"]
    for i in range(17):
        lines += [
            f"  %sp{i} = getelementptr i64, ptr %s, i64 {i}",
            f"  %dp{i} = getelementptr i8, ptr %d, i64 {8 * i}",
            f"  %sv{i} = load i64, ptr %sp{i}, align 8",
            f"  %dv{i} = load i64, ptr %dp{i}, align 1",
            f"  %x{i} = xor i64 %sv{i}, %dv{i}",
            f"  store i64 %x{i}, ptr %sp{i}, align 8",
        ]
    lines.append("  ret void\n}")
    return "\n".join(lines)


_K = [
    0x428A2F98,
    0x71374491,
    0xB5C0FBCF,
    0xE9B5DBA5,
    0x3956C25B,
    0x59F111F1,
    0x923F82A4,
    0xAB1C5ED5,
    0xD807AA98,
    0x12835B01,
    0x243185BE,
    0x550C7DC3,
    0x72BE5D74,
    0x80DEB1FE,
    0x9BDC06A7,
    0xC19BF174,
    0xE49B69C1,
    0xEFBE4786,
    0x0FC19DC6,
    0x240CA1CC,
    0x2DE92C6F,
    0x4A7484AA,
    0x5CB0A9DC,
    0x76F988DA,
    0x983E5152,
    0xA831C66D,
    0xB00327C8,
    0xBF597FC7,
    0xC6E00BF3,
    0xD5A79147,
    0x06CA6351,
    0x14292967,
    0x27B70A85,
    0x2E1B2138,
    0x4D2C6DFC,
    0x53380D13,
    0x650A7354,
    0x766A0ABB,
    0x81C2C92E,
    0x92722C85,
    0xA2BFE8A1,
    0xA81A664B,
    0xC24B8B70,
    0xC76C51A3,
    0xD192E819,
    0xD6990624,
    0xF40E3585,
    0x106AA070,
    0x19A4C116,
    0x1E376C08,
    0x2748774C,
    0x34B0BCB5,
    0x391C0CB3,
    0x4ED8AA4A,
    0x5B9CCA4F,
    0x682E6FF3,
    0x748F82EE,
    0x78A5636F,
    0x84C87814,
    0x8CC70208,
    0x90BEFFFA,
    0xA4506CEB,
    0xBEF9A3F7,
    0xC67178F2,
]
_H0 = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]


def _s32(v: int) -> int:
    """An i32 constant in LLVM's signed spelling."""
    return v - (1 << 32) if v >= 1 << 31 else v


def _block_ir() -> str:
    """`void @sha256_block(ptr %h, ptr %p)`: compress one 64-byte block `p` into the state `h`
    (8 x i32, native order)."""
    out = ["define internal void @sha256_block(ptr %h, ptr %p) {"]
    n = [0]

    def tmp() -> str:
        n[0] += 1
        return f"%t{n[0]}"

    def op(kind: str, a: str, b: str | int) -> str:
        r = tmp()
        out.append(f"  {r} = {kind} i32 {a}, {b}")
        return r

    def rotr(a: str, k: int) -> str:
        r = tmp()
        out.append(f"  {r} = call i32 @llvm.fshr.i32(i32 {a}, i32 {a}, i32 {k})")
        return r

    def xor3(a: str, b: str, c: str) -> str:
        return op("xor", op("xor", a, b), c)

    H = []
    for i in range(8):
        p, v = tmp(), tmp()
        out += [f"  {p} = getelementptr i32, ptr %h, i64 {i}", f"  {v} = load i32, ptr {p}, align 4"]
        H.append(v)
    W = []
    for i in range(16):
        p, v, s = tmp(), tmp(), tmp()
        out += [
            f"  {p} = getelementptr i8, ptr %p, i64 {4 * i}",
            f"  {v} = load i32, ptr {p}, align 1",
            f"  {s} = call i32 @llvm.bswap.i32(i32 {v})",
        ]
        W.append(s)
    for i in range(16, 64):
        x, y = W[i - 15], W[i - 2]
        s0 = xor3(rotr(x, 7), rotr(x, 18), op("lshr", x, 3))
        s1 = xor3(rotr(y, 17), rotr(y, 19), op("lshr", y, 10))
        W.append(op("add", op("add", W[i - 16], s0), op("add", W[i - 7], s1)))
    a, b, c, d, e, f, g, h = H
    for i in range(64):
        S1 = xor3(rotr(e, 6), rotr(e, 11), rotr(e, 25))
        ch = op("xor", op("and", e, f), op("and", op("xor", e, "-1"), g))
        t1 = op("add", op("add", op("add", h, S1), op("add", ch, _s32(_K[i]))), W[i])
        S0 = xor3(rotr(a, 2), rotr(a, 13), rotr(a, 22))
        maj = op("or", op("and", a, b), op("and", c, op("or", a, b)))
        t2 = op("add", S0, maj)
        h, g, f, e, d, c, b, a = g, f, e, op("add", d, t1), c, b, a, op("add", t1, t2)
    for i, v in enumerate((a, b, c, d, e, f, g, h)):
        p = tmp()
        s = op("add", H[i], v)
        out += [f"  {p} = getelementptr i32, ptr %h, i64 {i}", f"  store i32 {s}, ptr {p}, align 4"]
    out.append("  ret void\n}")
    return "\n".join(out)


GENERATED = {"keccak_f.ll": _keccak_f_ir, "absorb.ll": _absorb_ir, "sha256_block.ll": _block_ir}
HEADER = "; generated by evm/compiler/ir/generate.py: do not edit\n"


def render(name: str) -> str:
    return HEADER + GENERATED[name]() + "\n"


def main() -> None:
    for name in GENERATED:
        (HERE / name).write_text(render(name))


if __name__ == "__main__":
    main()
