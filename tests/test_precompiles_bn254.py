"""alt_bn128 ECADD / ECMUL / ECPAIRING: the native backend against py_ecc and known vectors."""

from __future__ import annotations

import random

import pytest
from py_ecc.optimized_bn128 import optimized_curve as C

from evm.precompiles import PrecompileResult, bn254
from evm.precompiles.bn254 import N, P, bn254_add, bn254_mul, bn254_pairing
from evm.spec import Fork

REF = bn254._PyEcc()


def w(n: int) -> bytes:
    return n.to_bytes(32, "big")


def g1(pt) -> bytes:
    if C.is_inf(pt):
        return b"\x00" * 64
    x, y = C.normalize(pt)
    return w(int(x)) + w(int(y))


def g2(pt) -> bytes:
    if C.is_inf(pt):
        return b"\x00" * 128
    x, y = C.normalize(pt)
    return w(int(x.coeffs[1])) + w(int(x.coeffs[0])) + w(int(y.coeffs[1])) + w(int(y.coeffs[0]))


G1_BYTES = w(1) + w(2)
G2_BYTES = g2(C.G2)


def test_backend_is_native():
    assert bn254.backend.name.startswith("mcl"), "mclbn256 should be installed (py_ecc is far too slow)"


def test_add_known_vector():
    res = bn254_add(G1_BYTES + G1_BYTES, 150, Fork.PARIS)
    assert res == PrecompileResult(
        True,
        bytes.fromhex(
            "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3"
            "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
        ),
        150,
    )


@pytest.mark.parametrize("seed", range(8))
def test_add_mul_match_py_ecc(seed):
    rnd = random.Random(seed)
    a, b, k = rnd.randrange(N), rnd.randrange(N), rnd.randrange(2**256)
    pa, pb = g1(C.multiply(C.G1, a)), g1(C.multiply(C.G1, b))
    assert bn254_add(pa + pb, 150, Fork.PARIS).output == REF.add(pa, pb)
    assert bn254_mul(pa + w(k), 6000, Fork.PARIS).output == REF.mul(pa, k) == g1(C.multiply(C.G1, a * k % N))


def test_add_identities_and_padding():
    assert bn254_add(b"", 150, Fork.PARIS).output == b"\x00" * 64
    assert bn254_add(G1_BYTES, 150, Fork.PARIS).output == G1_BYTES  # second point zero-padded = infinity
    neg = w(1) + w(P - 2)
    assert bn254_add(G1_BYTES + neg, 150, Fork.PARIS).output == b"\x00" * 64
    assert bn254_add(G1_BYTES + G1_BYTES + b"\xff" * 50, 150, Fork.PARIS).success  # extra input ignored


@pytest.mark.parametrize(
    "k,expected", [(0, b"\x00" * 64), (1, G1_BYTES), (N, b"\x00" * 64), (N + 1, G1_BYTES), (2**256 - 1, None)]
)
def test_mul_scalars(k, expected):
    res = bn254_mul(G1_BYTES + w(k), 6000, Fork.PARIS)
    assert res.success and res.gas_used == 6000
    assert res.output == (expected if expected is not None else REF.mul(G1_BYTES, k))


@pytest.mark.parametrize(
    "point",
    [w(1) + w(3), w(P) + w(2), w(1) + w(P + 2), w(0) + w(1), b"\xff" * 64],
)
def test_invalid_points_fail(point):
    assert bn254_add(point + G1_BYTES, 1000, Fork.PARIS) == PrecompileResult(False, b"", 1000)
    assert bn254_add(G1_BYTES + point, 1000, Fork.PARIS) == PrecompileResult(False, b"", 1000)
    assert bn254_mul(point + w(2), 7000, Fork.PARIS) == PrecompileResult(False, b"", 7000)
    assert bn254_pairing(point + G2_BYTES, 10**6, Fork.PARIS) == PrecompileResult(False, b"", 10**6)


def test_gas():
    assert bn254_add(b"", 149, Fork.PARIS) == PrecompileResult(False, b"", 149)
    assert bn254_mul(b"", 5999, Fork.PARIS) == PrecompileResult(False, b"", 5999)
    assert bn254_pairing(b"", 45000, Fork.PARIS) == PrecompileResult(True, w(1), 45000)
    assert not bn254_pairing(b"", 44999, Fork.PARIS).success
    data = G1_BYTES + G2_BYTES
    assert bn254_pairing(data, 79000, Fork.PARIS).gas_used == 79000
    assert not bn254_pairing(data, 78999, Fork.PARIS).success


def test_pairing_bilinearity():
    a, b = 1234567, 7654321
    pa = g1(C.multiply(C.G1, a))
    qb = g2(C.multiply(C.G2, b))
    neg_ab = g1(C.neg(C.multiply(C.G1, a * b % N)))
    assert bn254_pairing(pa + qb + neg_ab + G2_BYTES, 10**6, Fork.PARIS).output == w(1)
    wrong = g1(C.neg(C.multiply(C.G1, a * b % N + 1)))
    assert bn254_pairing(pa + qb + wrong + G2_BYTES, 10**6, Fork.PARIS).output == w(0)
    assert bn254_pairing(G1_BYTES + G2_BYTES, 10**6, Fork.PARIS).output == w(0)
    # infinity in either slot contributes 1
    assert bn254_pairing(b"\x00" * 64 + G2_BYTES, 10**6, Fork.PARIS).output == w(1)
    assert bn254_pairing(G1_BYTES + b"\x00" * 128, 10**6, Fork.PARIS).output == w(1)


def test_pairing_matches_py_ecc_reference():
    pairs = [(G1_BYTES, G2_BYTES), (g1(C.neg(C.G1)), G2_BYTES)]
    assert REF.pairing_check(pairs) is True
    assert bn254.backend.pairing_check(pairs) is True


def _fq2_sqrt(a):
    """Square root in Fp2 (p = 3 mod 4), or None."""
    FQ2 = C.FQ2
    candidate = a ** ((P * P + 7) // 16)  # works for p^2 = 9 mod 16
    for root in (FQ2([1, 0]), FQ2([0, 1])):
        for c in (candidate * root,):
            if c * c == a:
                return c
    # generic: a^((p^2+1)/4) is not valid for p^2 = 1 mod 4; fall back to the complex method
    a0, a1 = int(a.coeffs[0]), int(a.coeffs[1])
    norm = (a0 * a0 + a1 * a1) % P
    alpha = pow(norm, (P + 1) // 4, P)
    if alpha * alpha % P != norm:
        return None
    for al in (alpha, P - alpha):
        delta = (a0 + al) * pow(2, P - 2, P) % P
        x0 = pow(delta, (P + 1) // 4, P)
        if x0 * x0 % P != delta or x0 == 0:
            continue
        x1 = a1 * pow(2 * x0, P - 2, P) % P
        c = FQ2([x0, x1])
        if c * c == a:
            return c
    return None


def _twist_point_outside_subgroup() -> bytes:
    for t in range(1, 200):
        x = C.FQ2([t, 1])
        y = _fq2_sqrt(x**3 + C.b2)
        if y is None:
            continue
        pt = (x, y, C.FQ2.one())
        assert C.is_on_curve(pt, C.b2)
        if not C.is_inf(C.multiply(pt, N)):
            return g2(pt)
    raise AssertionError("no point found")


def test_pairing_rejects_g2_outside_subgroup():
    q = _twist_point_outside_subgroup()
    assert bn254_pairing(G1_BYTES + q, 10**6, Fork.PARIS) == PrecompileResult(False, b"", 10**6)
    # ... even when paired with the point at infinity
    assert not bn254_pairing(b"\x00" * 64 + q, 10**6, Fork.PARIS).success


def test_pairing_rejects_g2_not_on_curve_and_bad_length():
    bad = G2_BYTES[:-1] + bytes([G2_BYTES[-1] ^ 1])
    assert not bn254_pairing(G1_BYTES + bad, 10**6, Fork.PARIS).success
    assert not bn254_pairing(G1_BYTES + G2_BYTES + b"\x00", 10**6, Fork.PARIS).success
    swapped = G2_BYTES[32:64] + G2_BYTES[:32] + G2_BYTES[96:] + G2_BYTES[64:96]  # wrong Fp2 order
    assert not bn254_pairing(G1_BYTES + swapped, 10**6, Fork.PARIS).success
