"""P256VERIFY (EIP-7951) against a textbook implementation of the EIP's algorithm, and KZG point
evaluation (EIP-4844) on fixture inputs, tampered inputs and point-encoding edge cases."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from py_ecc.bls.g2_primitives import pubkey_to_G1
from py_ecc.optimized_bls12_381 import curve_order, is_inf, multiply

from evm.precompiles import PrecompileResult, kzg
from evm.precompiles.kzg import BLS_MODULUS, G1_POINT_AT_INFINITY, kzg_to_versioned_hash, point_evaluation
from evm.precompiles.p256 import A, B, N, P, p256verify
from evm.spec import Fork

ONE = (1).to_bytes(32, "big")
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def w(n: int) -> bytes:
    return n.to_bytes(32, "big")


# --- reference P-256 arithmetic (affine, slow, obviously per the EIP) ---------------------------


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _mul(k, pt):
    acc = None
    while k:
        if k & 1:
            acc = _add(acc, pt)
        pt, k = _add(pt, pt), k >> 1
    return acc


def reference_verify(data: bytes) -> bool:
    if len(data) != 160:
        return False
    h, r, s, qx, qy = (int.from_bytes(data[i : i + 32], "big") for i in range(0, 160, 32))
    if not (0 < r < N and 0 < s < N and qx < P and qy < P) or (qx, qy) == (0, 0):
        return False
    if (qy * qy - qx**3 - A * qx - B) % P:
        return False
    s1 = pow(s, -1, N)
    rp = _add(_mul(h * s1 % N, (GX, GY)), _mul(r * s1 % N, (qx, qy)))
    return rp is not None and rp[0] % N == r


def _signed(seed: int, high_s: bool = False) -> bytes:
    rnd = random.Random(seed)
    key = ec.derive_private_key(rnd.randrange(1, N), ec.SECP256R1())
    h = rnd.randbytes(32)
    r, s = decode_dss_signature(key.sign(h, ec.ECDSA(Prehashed(hashes.SHA256()))))
    if high_s != (s > N // 2):
        s = N - s  # both s and n - s are valid: no malleability check in EIP-7951
    nums = key.public_key().public_numbers()
    return h + w(r) + w(s) + w(nums.x) + w(nums.y)


@pytest.mark.parametrize("seed", range(6))
def test_p256_valid_signatures(seed):
    for high_s in (False, True):
        data = _signed(seed, high_s)
        assert reference_verify(data)
        assert p256verify(data, 6900, Fork.OSAKA) == PrecompileResult(True, ONE, 6900)


def _mutations(data: bytes):
    h, r, s, qx, qy = (int.from_bytes(data[i : i + 32], "big") for i in range(0, 160, 32))
    pack = lambda *v: b"".join(w(x) for x in v)  # noqa: E731
    yield "r0", pack(h, 0, s, qx, qy)
    yield "s0", pack(h, r, 0, qx, qy)
    yield "r_n", pack(h, N, s, qx, qy)
    yield "s_n", pack(h, r, N, qx, qy)
    yield "r+n", pack(h, r + N, s, qx, qy) if r + N < 2**256 else pack(h, N + 1, s, qx, qy)
    yield "qx_p", pack(h, r, s, qx + P if qx + P < 2**256 else P, qy)
    yield "inf", pack(h, r, s, 0, 0)
    yield "off_curve", pack(h, r, s, qx, (qy + 1) % P)
    yield "neg_key", pack(h, r, s, qx, P - qy)
    yield "hash", pack(h ^ 1, r, s, qx, qy)
    yield "short", data[:-1]
    yield "long", data + b"\x00"
    yield "empty", b""


@pytest.mark.parametrize("seed", range(3))
def test_p256_invalid_inputs_return_empty_never_halt(seed):
    for name, bad in _mutations(_signed(seed)):
        assert not reference_verify(bad), name
        assert p256verify(bad, 10**5, Fork.OSAKA) == PrecompileResult(True, b"", 6900), name


def test_p256_hash_not_reduced_mod_n():
    # h >= n: the EIP uses h as is (mod n inside the scalar multiplication), like ECDSA with a
    # 256-bit digest. Build a valid signature on h' = h mod n and present h = h' + n.
    rnd = random.Random(7)
    d = rnd.randrange(1, N)
    hp = rnd.randrange(0, 2**256 - N)
    k = rnd.randrange(1, N)
    r = _mul(k, (GX, GY))[0] % N
    s = pow(k, -1, N) * (hp + r * d) % N
    q = _mul(d, (GX, GY))
    data = w(hp + N) + w(r) + w(s) + w(q[0]) + w(q[1])
    assert reference_verify(data)
    assert p256verify(data, 6900, Fork.OSAKA).output == ONE


def test_p256_gas():
    data = _signed(1)
    assert p256verify(data, 6899, Fork.OSAKA) == PrecompileResult(False, b"", 6899)
    assert p256verify(b"", 6899, Fork.OSAKA) == PrecompileResult(False, b"", 6899)


# --- KZG point evaluation -----------------------------------------------------------------------

VECTORS = Path(__file__).parent / "fixtures" / "precompiles" / "vectors.json.gz"


def _fixture_valid_inputs() -> list[bytes]:
    with gzip.open(VECTORS, "rt") as f:
        vectors = json.load(f)
    seen = []
    for v in vectors:
        data = bytes.fromhex(v["data"])
        if v["family"] == "point_evaluation" and len(data) == 192 and data not in seen:
            if point_evaluation(data, 50000, Fork.CANCUN).success:
                seen.append(data)
    return seen


VALID = _fixture_valid_inputs()
SUCCESS = (4096).to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")


def test_kzg_fixture_inputs_verify():
    assert len(VALID) >= 2 and any(d[96:144] != G1_POINT_AT_INFINITY for d in VALID)
    for data in VALID:
        assert point_evaluation(data, 50000, Fork.CANCUN) == PrecompileResult(True, SUCCESS, 50000)
        assert point_evaluation(data, 49999, Fork.CANCUN) == PrecompileResult(False, b"", 49999)


def test_kzg_zero_polynomial():
    inf = G1_POINT_AT_INFINITY
    for z in (0, 1, BLS_MODULUS - 1):
        data = kzg_to_versioned_hash(inf) + w(z) + w(0) + inf + inf
        assert point_evaluation(data, 50000, Fork.CANCUN).output == SUCCESS
    data = kzg_to_versioned_hash(inf) + w(1) + w(1) + inf + inf
    assert not point_evaluation(data, 50000, Fork.CANCUN).success


NONTRIVIAL = next(d for d in VALID if d[96:144] != G1_POINT_AT_INFINITY)


def test_kzg_tampered_inputs_fail():
    data = NONTRIVIAL
    vh, z, y, c, pi = data[:32], data[32:64], data[64:96], data[96:144], data[144:]
    z_int, y_int = int.from_bytes(z, "big"), int.from_bytes(y, "big")
    bad = [
        data[:-1],
        data + b"\x00",
        b"",
        b"\x02" + vh[1:] + data[32:],  # wrong version byte
        vh + w((z_int + 1) % BLS_MODULUS) + y + c + pi,
        vh + z + w((y_int + 1) % BLS_MODULUS) + c + pi,
        vh + z + w(y_int + BLS_MODULUS) + c + pi if y_int + BLS_MODULUS < 2**256 else b"",
        vh + w(z_int + BLS_MODULUS) + y + c + pi if z_int + BLS_MODULUS < 2**256 else b"",
        vh + z + y + c + G1_POINT_AT_INFINITY,
        vh + z + y + c + bytes([pi[0] ^ 0x20]) + pi[1:],  # other y (negated proof)
    ]
    for b in bad:
        assert point_evaluation(b, 50000, Fork.CANCUN) == PrecompileResult(False, b"", 50000)


def _py_ecc_validate(b: bytes) -> bool:
    """consensus-specs validate_kzg_g1 via py_ecc."""
    if b == G1_POINT_AT_INFINITY:
        return True
    try:
        pt = pubkey_to_G1(b)
    except Exception:
        return False
    return not is_inf(pt) and is_inf(multiply(pt, curve_order))


def _encodings() -> list[bytes]:
    c = NONTRIVIAL[96:144]
    out = [
        G1_POINT_AT_INFINITY,
        c,
        bytes([c[0] ^ 0x20]) + c[1:],
        b"\x40" + b"\x00" * 47,
        b"\xe0" + b"\x00" * 47,
        b"\xc0" + b"\x00" * 46 + b"\x01",
        b"\x00" * 48,
        bytes([c[0] & 0x7F]) + c[1:],  # uncompressed flag
        b"\x9a"
        + bytes.fromhex(
            "0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
        ),  # x = p
    ]
    for x in range(1, 40):  # small x: on curve but (almost surely) outside G1, or not on curve
        out.append(bytes([0x80 | 0]) + x.to_bytes(47, "big"))
    return out


def test_kzg_g1_decoding_matches_py_ecc():
    for b in _encodings():
        try:
            kzg._g1(b)
            ours = True
        except ValueError:
            ours = False
        assert ours == _py_ecc_validate(b), b.hex()
