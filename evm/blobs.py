"""EIP-4844 blob gas: pricing and the excess blob gas of a child block (EIP-7918's reserve price from Osaka).
Which parameters apply (target, max, update fraction; EIP-7691, EIP-7892) is fork rules data (evm/rules.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rules import ForkRules

GAS_PER_BLOB = 2**17
BYTES_PER_BLOB = 4096 * 32  # FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT
CELLS_PER_EXT_BLOB = 128  # EIP-7594: cell proofs per blob in an Osaka sidecar
MIN_BLOB_BASE_FEE = 1
VERSIONED_HASH_VERSION_KZG = 0x01


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


def next_excess_blob_gas(rules: ForkRules, parent_excess: int, parent_used: int, parent_base_fee: int) -> int:
    """Excess blob gas of a block under `rules` (its own fork's, with the blob schedule in force at its
    timestamp) from its parent header's fields."""
    schedule = rules.blob_schedule
    if schedule is None:  # before Cancun: no blobs
        return 0
    if parent_excess + parent_used < schedule.target_blob_gas:
        return 0
    if rules.blob_base_cost is not None:
        # EIP-7918: when execution gas dominates, blob fees track it instead of decaying.
        if rules.blob_base_cost * parent_base_fee > GAS_PER_BLOB * blob_base_fee(parent_excess, schedule):
            return parent_excess + parent_used * (schedule.max - schedule.target) // schedule.max
    return parent_excess + parent_used - schedule.target_blob_gas
