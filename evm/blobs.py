"""EIP-4844 blob gas: pricing, per-fork schedules (EIP-7691, EIP-7840) and excess blob gas (EIP-7918)."""
from __future__ import annotations

from dataclasses import dataclass

from .spec import Fork

GAS_PER_BLOB = 2**17
BYTES_PER_BLOB = 4096 * 32  # FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT
CELLS_PER_EXT_BLOB = 128  # EIP-7594: cell proofs per blob in an Osaka sidecar
MIN_BLOB_BASE_FEE = 1
VERSIONED_HASH_VERSION_KZG = 0x01
BLOB_BASE_COST = 2**13  # EIP-7918 reserve price factor (Osaka)
MAX_BLOBS_PER_TX_OSAKA = 6  # EIP-7594


@dataclass(frozen=True, slots=True)
class BlobSchedule:
    target: int
    max: int
    update_fraction: int

    @property
    def target_blob_gas(self) -> int:
        return self.target * GAS_PER_BLOB

    @property
    def max_blob_gas(self) -> int:
        return self.max * GAS_PER_BLOB


DEFAULT_SCHEDULES: dict[Fork, BlobSchedule] = {
    Fork.CANCUN: BlobSchedule(3, 6, 3338477),
    Fork.PRAGUE: BlobSchedule(6, 9, 5007716),
    Fork.OSAKA: BlobSchedule(6, 9, 5007716),
}


def schedule_for(fork: Fork, overrides: dict[Fork, BlobSchedule] | None = None) -> BlobSchedule | None:
    if fork < Fork.CANCUN:
        return None
    if overrides and fork in overrides:
        return overrides[fork]
    return DEFAULT_SCHEDULES[fork]


def fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    """factor * e ** (numerator / denominator), in integers (EIP-4844)."""
    i = 1
    output = 0
    numerator_accum = factor * denominator
    while numerator_accum > 0:
        output += numerator_accum
        numerator_accum = (numerator_accum * numerator) // (denominator * i)
        i += 1
    return output // denominator


def blob_base_fee(excess_blob_gas: int, schedule: BlobSchedule) -> int:
    return fake_exponential(MIN_BLOB_BASE_FEE, excess_blob_gas, schedule.update_fraction)


def max_blobs_per_tx(fork: Fork, schedule: BlobSchedule) -> int:
    return min(schedule.max, MAX_BLOBS_PER_TX_OSAKA) if fork >= Fork.OSAKA else schedule.max


def next_excess_blob_gas(fork: Fork, schedule: BlobSchedule, parent_excess: int, parent_used: int,
                         parent_base_fee: int) -> int:
    """Excess blob gas of a child block from its parent header's fields."""
    if parent_excess + parent_used < schedule.target_blob_gas:
        return 0
    if fork >= Fork.OSAKA:
        # EIP-7918: when execution gas dominates, blob fees track it instead of decaying.
        if BLOB_BASE_COST * parent_base_fee > GAS_PER_BLOB * blob_base_fee(parent_excess, schedule):
            return parent_excess + parent_used * (schedule.max - schedule.target) // schedule.max
    return parent_excess + parent_used - schedule.target_blob_gas
