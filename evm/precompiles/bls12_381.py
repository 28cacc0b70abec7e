"""0x0b..0x11 BLS12-381 (EIP-2537, Prague): G1ADD, G1MSM, G2ADD, G2MSM, PAIRING_CHECK,
MAP_FP_TO_G1, MAP_FP2_TO_G2. Backed by arkworks (``py-arkworks-bls12381``).

Encoding: an Fp element is 64 bytes big-endian whose top 16 bytes must be zero and whose value
must be < p; Fp2 is c0 || c1; a point is x || y, all zeros meaning infinity. Points must be on
the curve; MSM and pairing inputs must also be in the r-order subgroup (ADD inputs need not be).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from evm.precompiles import PrecompileResult, fail, ok
from evm.spec import Fork

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

G1_ADD_GAS = 375
G1_MUL_GAS = 12000
G2_ADD_GAS = 600
G2_MUL_GAS = 22500
PAIRING_BASE_GAS = 37700
PAIRING_PER_PAIR_GAS = 32600
MAP_FP_TO_G1_GAS = 5500
MAP_FP2_TO_G2_GAS = 23800
MSM_MULTIPLIER = 1000

# EIP-2537 MSM discount tables, indexed by k - 1; beyond 128 pairs the last entry applies.
G1_K_DISCOUNT = (
    1000,
    949,
    848,
    797,
    764,
    750,
    738,
    728,
    719,
    712,
    705,
    698,
    692,
    687,
    682,
    677,
    673,
    669,
    665,
    661,
    658,
    654,
    651,
    648,
    645,
    642,
    640,
    637,
    635,
    632,
    630,
    627,
    625,
    623,
    621,
    619,
    617,
    615,
    613,
    611,
    609,
    608,
    606,
    604,
    603,
    601,
    599,
    598,
    596,
    595,
    593,
    592,
    591,
    589,
    588,
    586,
    585,
    584,
    582,
    581,
    580,
    579,
    577,
    576,
    575,
    574,
    573,
    572,
    570,
    569,
    568,
    567,
    566,
    565,
    564,
    563,
    562,
    561,
    560,
    559,
    558,
    557,
    556,
    555,
    554,
    553,
    552,
    551,
    550,
    549,
    548,
    547,
    547,
    546,
    545,
    544,
    543,
    542,
    541,
    540,
    540,
    539,
    538,
    537,
    536,
    536,
    535,
    534,
    533,
    532,
    532,
    531,
    530,
    529,
    528,
    528,
    527,
    526,
    525,
    525,
    524,
    523,
    522,
    522,
    521,
    520,
    520,
    519,
)
G2_K_DISCOUNT = (
    1000,
    1000,
    923,
    884,
    855,
    832,
    812,
    796,
    782,
    770,
    759,
    749,
    740,
    732,
    724,
    717,
    711,
    704,
    699,
    693,
    688,
    683,
    679,
    674,
    670,
    666,
    663,
    659,
    655,
    652,
    649,
    646,
    643,
    640,
    637,
    634,
    632,
    629,
    627,
    624,
    622,
    620,
    618,
    615,
    613,
    611,
    609,
    607,
    606,
    604,
    602,
    600,
    598,
    597,
    595,
    593,
    592,
    590,
    589,
    587,
    586,
    584,
    583,
    582,
    580,
    579,
    578,
    576,
    575,
    574,
    573,
    571,
    570,
    569,
    568,
    567,
    566,
    565,
    563,
    562,
    561,
    560,
    559,
    558,
    557,
    556,
    555,
    554,
    553,
    552,
    552,
    551,
    550,
    549,
    548,
    547,
    546,
    545,
    545,
    544,
    543,
    542,
    541,
    541,
    540,
    539,
    538,
    537,
    537,
    536,
    535,
    535,
    534,
    533,
    532,
    532,
    531,
    530,
    530,
    529,
    528,
    528,
    527,
    526,
    526,
    525,
    524,
    524,
)


class InvalidInput(Exception):
    pass


def _fp(b: bytes) -> bytes:
    """64-byte EIP-2537 field element -> 48-byte big-endian, validated."""
    if b[:16] != b"\x00" * 16 or int.from_bytes(b, "big") >= P:
        raise InvalidInput("invalid field element")
    return b[16:]


def _g1(b: bytes, subgroup: bool) -> G1Point:
    xy = _fp(b[:64]) + _fp(b[64:128])
    try:  # the checked decoder does on-curve + subgroup checks, the unchecked one on-curve only
        return G1Point.from_xy_bytes_be(xy) if subgroup else G1Point.from_xy_bytes_unchecked_be(xy)
    except ValueError as e:
        raise InvalidInput(str(e)) from None


def _g2(b: bytes, subgroup: bool) -> G2Point:
    xy = _fp(b[:64]) + _fp(b[64:128]) + _fp(b[128:192]) + _fp(b[192:256])
    try:
        return G2Point.from_xy_bytes_be(xy) if subgroup else G2Point.from_xy_bytes_unchecked_be(xy)
    except ValueError as e:
        raise InvalidInput(str(e)) from None


def _encode(point: G1Point | G2Point) -> bytes:
    raw = point.to_xy_bytes_be()  # 48-byte coordinates, all zeros for infinity
    return b"".join(b"\x00" * 16 + raw[i : i + 48] for i in range(0, len(raw), 48))


def _msm_gas(k: int, discounts: tuple[int, ...], mul_gas: int) -> int:
    discount = discounts[k - 1] if k <= len(discounts) else discounts[-1]
    return k * mul_gas * discount // MSM_MULTIPLIER


def _run(gas: int, cost: int, compute: Callable[[], bytes]) -> PrecompileResult:
    if gas < cost:
        return fail(gas)
    try:
        return ok(compute(), cost)
    except InvalidInput:
        return fail(gas)


def g1_add(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) != 256:
        return fail(gas)
    return _run(gas, G1_ADD_GAS, lambda: _encode(_g1(data[:128], False) + _g1(data[128:], False)))


def g2_add(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) != 512:
        return fail(gas)
    return _run(gas, G2_ADD_GAS, lambda: _encode(_g2(data[:256], False) + _g2(data[256:], False)))


def _msm(
    data: bytes,
    gas: int,
    point_size: int,
    decode: Callable[[bytes, bool], Any],
    cls: Any,
    discounts: tuple[int, ...],
    mul_gas: int,
) -> PrecompileResult:
    pair = point_size + 32
    if len(data) == 0 or len(data) % pair != 0:
        return fail(gas)
    k = len(data) // pair

    def compute() -> bytes:
        points, scalars = [], []
        for i in range(0, len(data), pair):
            points.append(decode(data[i : i + point_size], True))
            scalars.append(Scalar(int.from_bytes(data[i + point_size : i + pair], "big") % R))
        return _encode(cls.multiexp_unchecked(points, scalars))

    return _run(gas, _msm_gas(k, discounts, mul_gas), compute)


def g1_msm(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    return _msm(data, gas, 128, _g1, G1Point, G1_K_DISCOUNT, G1_MUL_GAS)


def g2_msm(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    return _msm(data, gas, 256, _g2, G2Point, G2_K_DISCOUNT, G2_MUL_GAS)


def pairing(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) == 0 or len(data) % 384 != 0:
        return fail(gas)
    k = len(data) // 384

    def compute() -> bytes:
        g1s = [_g1(data[i : i + 128], True) for i in range(0, len(data), 384)]
        g2s = [_g2(data[i + 128 : i + 384], True) for i in range(0, len(data), 384)]
        return (1 if GT.pairing_check(g1s, g2s) else 0).to_bytes(32, "big")

    return _run(gas, PAIRING_BASE_GAS + PAIRING_PER_PAIR_GAS * k, compute)


def map_fp_to_g1(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) != 64:
        return fail(gas)
    return _run(gas, MAP_FP_TO_G1_GAS, lambda: _encode(G1Point.map_from_fp_be(_fp(data))))


def map_fp2_to_g2(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    if len(data) != 128:
        return fail(gas)
    return _run(gas, MAP_FP2_TO_G2_GAS, lambda: _encode(G2Point.map_from_fp2_be(_fp(data[:64]) + _fp(data[64:]))))
