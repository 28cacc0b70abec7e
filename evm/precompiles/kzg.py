"""0x0a KZG point evaluation (EIP-4844, Cancun).

Verifying one KZG opening needs only [tau]_2 from the trusted setup, so instead of loading the
whole setup into ckzg (the ckzg wheel does not ship the setup file) we check the pairing equation
of the consensus spec's ``verify_kzg_proof_impl`` with arkworks:

    e(C - [y]G1, -G2) * e(proof, [tau]G2 - [z]G2) == 1

Commitment and proof decoding follows ``validate_kzg_g1``: the compressed infinity point, or a
valid compressed G1 point in the r-order subgroup (arkworks' checked decoder).
"""

from __future__ import annotations

import hashlib

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from evm.precompiles import PrecompileResult, fail, ok
from evm.spec import Fork

GAS = 50000
BLS_MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
FIELD_ELEMENTS_PER_BLOB = 4096
VERSIONED_HASH_VERSION_KZG = b"\x01"
G1_POINT_AT_INFINITY = b"\xc0" + b"\x00" * 47
# [tau]_2 of the KZG ceremony (g2_monomial[1] of the mainnet trusted setup)
KZG_SETUP_G2_MONOMIAL_1 = bytes.fromhex(
    "b5bfd7dd8cdeb128843bc287230af38926187075cbfbefa81009a2ce615ac53d2914e5870cb452d2afaaab24f3499f72"
    "185cbfee53492714734429b7b38608e23926c911cceceac9a36851477ba4c60b087041de621000edc98edada20c1def2"
)
SUCCESS_OUTPUT = FIELD_ELEMENTS_PER_BLOB.to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")

_TAU_G2 = G2Point.from_compressed_bytes(KZG_SETUP_G2_MONOMIAL_1)
_G1, _G2 = G1Point(), G2Point()


def kzg_to_versioned_hash(commitment: bytes) -> bytes:
    return VERSIONED_HASH_VERSION_KZG + hashlib.sha256(commitment).digest()[1:]


def _g1(b: bytes) -> G1Point:
    if b == G1_POINT_AT_INFINITY:
        return G1Point.identity()
    if b[0] & 0x40:  # any other use of the infinity flag is non-canonical (arkworks accepts 0xe0..)
        raise ValueError("non-canonical point at infinity")
    return G1Point.from_compressed_bytes(b)  # raises ValueError unless canonical, on curve, in G1


def verify_kzg_proof(commitment: bytes, z: int, y: int, proof: bytes) -> bool:
    """Raises ValueError on malformed input, like the consensus spec's asserts."""
    if z >= BLS_MODULUS or y >= BLS_MODULUS:
        raise ValueError("field element out of range")
    c, pi = _g1(commitment), _g1(proof)
    x_minus_z = _TAU_G2 - _G2 * Scalar(z)
    p_minus_y = c - _G1 * Scalar(y)
    return GT.pairing_check([p_minus_y, pi], [-_G2, x_minus_z])


def point_evaluation(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if gas < GAS or len(data) != 192:
        return fail(gas)
    versioned_hash, commitment, proof = data[:32], data[96:144], data[144:192]
    z, y = int.from_bytes(data[32:64], "big"), int.from_bytes(data[64:96], "big")
    if kzg_to_versioned_hash(commitment) != versioned_hash:
        return fail(gas)
    try:
        valid = verify_kzg_proof(commitment, z, y, proof)
    except ValueError:
        return fail(gas)
    return ok(SUCCESS_OUTPUT, GAS) if valid else fail(gas)
