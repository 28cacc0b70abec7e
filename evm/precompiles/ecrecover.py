"""0x01 ECRECOVER (secp256k1 public-key recovery, backed by coincurve/libsecp256k1)."""

from __future__ import annotations

from coincurve import PublicKey

from common.keccak import keccak
from evm.precompiles import PrecompileResult, fail, ok, read
from evm.spec import Fork

GAS = 3000
SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def ecrecover(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if gas < GAS:
        return fail(gas)
    data = read(data, 0, 128)
    msg_hash = data[:32]
    v = int.from_bytes(data[32:64], "big")
    r = int.from_bytes(data[64:96], "big")
    s = int.from_bytes(data[96:128], "big")
    if v not in (27, 28) or not 0 < r < SECP256K1N or not 0 < s < SECP256K1N:
        return ok(b"", GAS)
    try:
        pub = PublicKey.from_signature_and_message(data[64:128] + bytes([v - 27]), msg_hash, hasher=None)
    except Exception:  # no point with x == r, or recovery fails
        return ok(b"", GAS)
    return ok(b"\x00" * 12 + keccak(pub.format(compressed=False)[1:])[12:], GAS)
