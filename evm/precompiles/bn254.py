"""0x06 ECADD, 0x07 ECMUL, 0x08 ECPAIRING on alt_bn128 / BN254 (EIP-196, EIP-197, EIP-1108 gas).

Backed by herumi's mcl (the ``mclbn256`` wheel ships it; we call its C API through ctypes and
re-initialise it on the BN_SNARK1 curve, which is Ethereum's alt_bn128). If mcl cannot be loaded
we fall back to py_ecc, which is correct but ~1000x slower for pairings.
"""

from __future__ import annotations

from ctypes import addressof, c_char_p, c_void_p, create_string_buffer
from typing import Any

from evm.precompiles import PrecompileResult, fail, ok, read
from evm.spec import Fork

P = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47  # field modulus
N = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001  # group order

ADD_GAS = 150
MUL_GAS = 6000
PAIRING_BASE_GAS = 45000
PAIRING_PER_PAIR_GAS = 34000


class InvalidPoint(Exception):
    pass


def _fp(b: bytes) -> int:
    v = int.from_bytes(b, "big")
    if v >= P:
        raise InvalidPoint("field element >= p")
    return v


class _Mcl:
    """alt_bn128 through mcl's C API (G1/G2 as ctypes buffers; points are validated on load)."""

    name = "mcl (mclbn256)"

    def __init__(self) -> None:
        import mclbn256.mclbn256 as m

        lib = m.lib
        if lib.mclBn_init(4, m.MCLBN_COMPILED_TIME_VAR) != 0:  # 4 = MCL_BN_SNARK1 (alt_bn128)
            raise RuntimeError("mcl: cannot initialise BN_SNARK1")
        lib.mclBn_verifyOrderG1(0)  # we check subgroup membership explicitly where required
        lib.mclBn_verifyOrderG2(0)
        self.lib, self.G1, self.G2, self.GT, self.Fr = (
            lib,
            m.mclBnG1_bytes,
            m.mclBnG2_bytes,
            m.mclBnGT_bytes,
            m.mclBnFr_bytes,
        )

    def g1(self, b: bytes) -> Any:
        x, y = _fp(b[:32]), _fp(b[32:64])
        p = self.G1()
        if x == 0 and y == 0:
            self.lib.mclBnG1_clear(p)
            return p
        if (y * y - x * x * x - 3) % P:
            raise InvalidPoint("G1 point not on curve")
        # mcl's own validation (setStr / isValid) also runs an order check, ~60 us, needless
        # for G1 whose cofactor is 1: fill the Jacobian coordinates (x, y, 1) directly.
        base = addressof(p)
        self.lib.mclBnFp_setBigEndianMod(c_void_p(base), b[:32], 32)
        self.lib.mclBnFp_setBigEndianMod(c_void_p(base + 32), b[32:64], 32)
        self.lib.mclBnFp_setInt(c_void_p(base + 64), 1)
        return p

    def g2(self, b: bytes) -> Any:
        # EIP-197 encodes an Fp2 element a*i + b as (a, b): imaginary part first
        xi, xr, yi, yr = _fp(b[:32]), _fp(b[32:64]), _fp(b[64:96]), _fp(b[96:128])
        q = self.G2()
        if xi == xr == yi == yr == 0:
            self.lib.mclBnG2_clear(q)
            return q
        s = b"1 %x %x %x %x" % (xr, xi, yr, yi)
        if self.lib.mclBnG2_setStr(q, c_char_p(s), len(s), 16) != 0:
            raise InvalidPoint("G2 point not on curve")
        if not self.lib.mclBnG2_isValidOrder(q):
            raise InvalidPoint("G2 point not in subgroup")
        return q

    def g1_bytes(self, p: Any) -> bytes:
        buf = create_string_buffer(256)
        n = self.lib.mclBnG1_getStr(buf, 256, p, 16)  # "0" or "1 <x hex> <y hex>" (affine)
        parts = buf.raw[:n].split()
        if parts[0] == b"0":
            return b"\x00" * 64
        return int(parts[1], 16).to_bytes(32, "big") + int(parts[2], 16).to_bytes(32, "big")

    def add(self, a: bytes, b: bytes) -> bytes:
        r = self.G1()
        self.lib.mclBnG1_add(r, self.g1(a), self.g1(b))
        return self.g1_bytes(r)

    def mul(self, a: bytes, k: int) -> bytes:
        p = self.g1(a)  # G1 has cofactor 1, so k may be reduced mod N
        fr = self.Fr()
        s = b"%x" % (k % N)
        self.lib.mclBnFr_setStr(fr, c_char_p(s), len(s), 16)
        r = self.G1()
        self.lib.mclBnG1_mul(r, p, fr)
        return self.g1_bytes(r)

    def pairing_check(self, pairs: list[tuple[bytes, bytes]]) -> bool:
        ps = (self.G1 * len(pairs))(*[self.g1(a) for a, _ in pairs])
        qs = (self.G2 * len(pairs))(*[self.g2(b) for _, b in pairs])
        f = self.GT()
        self.lib.mclBn_millerLoopVec(f, ps, qs, len(pairs))
        self.lib.mclBn_finalExp(f, f)
        return bool(self.lib.mclBnGT_isOne(f))


class _PyEcc:
    """Reference fallback (execution-specs' own approach)."""

    name = "py_ecc"

    def __init__(self) -> None:
        from py_ecc.optimized_bn128 import optimized_curve as c
        from py_ecc.optimized_bn128 import optimized_pairing as pr

        self.c, self.pr = c, pr

    def g1(self, b: bytes) -> Any:
        c = self.c
        x, y = _fp(b[:32]), _fp(b[32:64])
        p = (c.FQ(x), c.FQ(y), c.FQ(0 if x == y == 0 else 1))
        if not c.is_on_curve(p, c.b):
            raise InvalidPoint("G1 point not on curve")
        return p

    def g2(self, b: bytes) -> Any:
        c = self.c
        xi, xr, yi, yr = _fp(b[:32]), _fp(b[32:64]), _fp(b[64:96]), _fp(b[96:128])
        z = (0, 0) if xi == xr == yi == yr == 0 else (1, 0)
        q = (c.FQ2((xr, xi)), c.FQ2((yr, yi)), c.FQ2(z))
        if not c.is_on_curve(q, c.b2):
            raise InvalidPoint("G2 point not on curve")
        if not c.is_inf(c.multiply(q, N)):
            raise InvalidPoint("G2 point not in subgroup")
        return q

    def g1_bytes(self, p: Any) -> bytes:
        x, y = self.c.normalize(p)
        return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")

    def add(self, a: bytes, b: bytes) -> bytes:
        return self.g1_bytes(self.c.add(self.g1(a), self.g1(b)))

    def mul(self, a: bytes, k: int) -> bytes:
        return self.g1_bytes(self.c.multiply(self.g1(a), k % N))

    def pairing_check(self, pairs: list[tuple[bytes, bytes]]) -> bool:
        c, pr = self.c, self.pr
        pts = [(self.g1(a), self.g2(b)) for a, b in pairs]
        f = c.FQ12.one()
        for p, q in pts:
            f = f * pr.pairing(q, p, final_exponentiate=False)
        return bool(pr.final_exponentiate(f) == c.FQ12.one())


try:
    backend: _Mcl | _PyEcc = _Mcl()
except Exception:  # pragma: no cover - only without the native wheel
    backend = _PyEcc()


def bn254_add(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if gas < ADD_GAS:
        return fail(gas)
    data = read(data, 0, 128)
    try:
        return ok(backend.add(data[:64], data[64:128]), ADD_GAS)
    except InvalidPoint:
        return fail(gas)


def bn254_mul(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if gas < MUL_GAS:
        return fail(gas)
    data = read(data, 0, 96)
    try:
        return ok(backend.mul(data[:64], int.from_bytes(data[64:96], "big")), MUL_GAS)
    except InvalidPoint:
        return fail(gas)


def bn254_pairing(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    k = len(data) // 192
    cost = PAIRING_BASE_GAS + PAIRING_PER_PAIR_GAS * k
    if gas < cost or len(data) % 192 != 0:
        return fail(gas)
    if k == 0:
        return ok((1).to_bytes(32, "big"), cost)
    pairs = [(data[i : i + 64], data[i + 64 : i + 192]) for i in range(0, len(data), 192)]
    try:
        return ok((1 if backend.pairing_check(pairs) else 0).to_bytes(32, "big"), cost)
    except InvalidPoint:
        return fail(gas)
