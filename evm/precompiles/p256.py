"""0x100 P256VERIFY (EIP-7951, Osaka): secp256r1 ECDSA verification, backed by `cryptography`
(OpenSSL). Invalid input never halts: it costs the flat gas and returns empty output."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from evm.precompiles import PrecompileResult, fail, ok
from evm.spec import Fork

GAS = 6900
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
SUCCESS = (1).to_bytes(32, "big")
_ALGORITHM = ec.ECDSA(Prehashed(hashes.SHA256()))


def verify(msg_hash: bytes, r: int, s: int, qx: int, qy: int) -> bool:
    """The EIP-7951 checks, then ECDSA verification of the 32-byte hash as given (no hashing)."""
    if not (0 < r < N and 0 < s < N and qx < P and qy < P):
        return False
    if (qy * qy - (qx * qx * qx + A * qx + B)) % P != 0:  # also rejects (0, 0): B != 0
        return False
    try:
        key = ec.EllipticCurvePublicNumbers(qx, qy, ec.SECP256R1()).public_key()
        key.verify(encode_dss_signature(r, s), msg_hash, _ALGORITHM)
    except (InvalidSignature, ValueError):
        return False
    return True


def p256verify(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if gas < GAS:
        return fail(gas)
    if len(data) != 160:
        return ok(b"", GAS)
    ints = [int.from_bytes(data[i : i + 32], "big") for i in range(32, 160, 32)]
    return ok(SUCCESS if verify(data[:32], *ints) else b"", GAS)
