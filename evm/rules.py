"""Fork rules as data: one frozen `ForkRules` per fork, each built from its predecessor's by naming only what
the fork changed (as ethrex builds each fork's gas schedule from the previous one and revm keys its tables by
spec id). Every fork decision of the EVM, the transaction processor and the block executor reads a field
here; no code compares fork ids. The opcode and precompile tables (evm/opcodes.py, evm/precompiles) are keyed
by `ForkRules.evm`, the fork whose instruction set applies.

Blob parameters are the EIPs' defaults (EIP-4844, EIP-7691, and mainnet's EIP-7892 BPO1/BPO2); a chain
config's `blobSchedule` replaces them (`with_blob_schedule`), which is how BPO3..BPO5 get theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .blobs import BlobSchedule
from .gas import MAX_CODE_SIZE
from .spec import Fork

# System contracts the block executor calls (EIP-4788, EIP-2935, EIP-7002, EIP-7251).
BEACON_ROOTS_ADDRESS = bytes.fromhex("000F3df6D732807Ef1319fB7B8bB8522d0Beac02")
HISTORY_STORAGE_ADDRESS = bytes.fromhex("0000F90827F1C53a10cb7A02335B175320002935")
WITHDRAWAL_REQUEST_ADDRESS = bytes.fromhex("00000961Ef480Eb55e80D19ad83579A64c007002")
CONSOLIDATION_REQUEST_ADDRESS = bytes.fromhex("0000BBdDc7CE488642fb579F8B00f3a590007251")


@dataclass(frozen=True, slots=True)
class ForkRules:
    fork: Fork
    evm: Fork  # instruction set, static gas and precompiles: the last fork that changed them
    # -- transactions
    tx_types: frozenset[int]
    initcode_word_cost: int = 0  # EIP-3860: gas per 32-byte word of init code (create tx, CREATE, CREATE2)
    max_initcode_size: int | None = None  # EIP-3860
    calldata_floor_cost: int = 0  # EIP-7623: floor gas per calldata token (0: no floor)
    tx_gas_cap: int | None = None  # EIP-7825
    warm_coinbase: bool = False  # EIP-3651
    delegation: bool = False  # EIP-7702: designators are followed, and a sender with one is still an EOA
    selfdestruct_only_new: bool = False  # EIP-6780: SELFDESTRUCT deletes only accounts created in the tx
    # -- blocks
    header_fields: tuple[str, ...] = ("base_fee_per_gas",)  # optional header fields present (after London's)
    withdrawals: bool = False  # EIP-4895: the body carries a withdrawals list
    pre_block_calls: tuple[tuple[bytes, str], ...] = ()  # (system contract, header field passed as input)
    requests: bool = False  # EIP-7685: deposits (EIP-6110) and the `request_calls`, hashed into the header
    request_calls: tuple[tuple[bytes, bytes], ...] = ()  # (request type, system contract) after the txs
    max_block_rlp_size: int | None = None  # EIP-7934
    # -- blobs
    blob_schedule: BlobSchedule | None = None  # EIP-4844 target/max/update fraction (None: no blobs)
    max_blobs_per_tx: int | None = None  # EIP-7594 cap below the block maximum
    blob_sidecar_version: int = 0  # EIP-7594: version 1 sidecars carry cell proofs instead of blob proofs
    blob_base_cost: int | None = None  # EIP-7918 reserve price (execution gas per blob gas unit)

    def next(self, fork: Fork, **changes: Any) -> ForkRules:
        """The rules of `fork`: these with `changes`."""
        return replace(self, fork=fork, **changes)

    def with_blob_schedule(self, schedule: BlobSchedule) -> ForkRules:
        """These rules with a chain config's blob parameters."""
        return self if schedule == self.blob_schedule else replace(self, blob_schedule=schedule)

    @property
    def name(self) -> str:
        return self.fork.title

    @property
    def blob_limit_per_tx(self) -> int:
        """Most blobs one transaction may carry (0 before Cancun)."""
        if self.blob_schedule is None:
            return 0
        if self.max_blobs_per_tx is None:
            return self.blob_schedule.max
        return min(self.blob_schedule.max, self.max_blobs_per_tx)


PARIS = ForkRules(Fork.PARIS, Fork.PARIS, tx_types=frozenset({0, 1, 2}))
SHANGHAI = PARIS.next(
    Fork.SHANGHAI,
    evm=Fork.SHANGHAI,  # PUSH0
    initcode_word_cost=2,
    max_initcode_size=2 * MAX_CODE_SIZE,
    warm_coinbase=True,
    withdrawals=True,
    header_fields=PARIS.header_fields + ("withdrawals_root",),
)
CANCUN = SHANGHAI.next(
    Fork.CANCUN,
    evm=Fork.CANCUN,  # TLOAD/TSTORE, MCOPY, BLOBHASH, BLOBBASEFEE, point evaluation
    tx_types=SHANGHAI.tx_types | {3},
    selfdestruct_only_new=True,
    header_fields=SHANGHAI.header_fields + ("blob_gas_used", "excess_blob_gas", "parent_beacon_block_root"),
    pre_block_calls=((BEACON_ROOTS_ADDRESS, "parent_beacon_block_root"),),
    blob_schedule=BlobSchedule(3, 6, 3338477),
)
PRAGUE = CANCUN.next(
    Fork.PRAGUE,
    evm=Fork.PRAGUE,  # BLS12-381 precompiles
    tx_types=CANCUN.tx_types | {4},
    calldata_floor_cost=10,
    delegation=True,
    header_fields=CANCUN.header_fields + ("requests_hash",),
    pre_block_calls=CANCUN.pre_block_calls + ((HISTORY_STORAGE_ADDRESS, "parent_hash"),),
    requests=True,
    request_calls=((b"\x01", WITHDRAWAL_REQUEST_ADDRESS), (b"\x02", CONSOLIDATION_REQUEST_ADDRESS)),
    blob_schedule=BlobSchedule(6, 9, 5007716),
)
OSAKA = PRAGUE.next(
    Fork.OSAKA,
    evm=Fork.OSAKA,  # CLZ, P256VERIFY, MODEXP bounds and pricing
    tx_gas_cap=2**24,
    max_block_rlp_size=10_485_760 - 2_097_152,
    max_blobs_per_tx=6,
    blob_sidecar_version=1,
    blob_base_cost=2**13,
)
BPO1 = OSAKA.next(Fork.BPO1, blob_schedule=BlobSchedule(10, 15, 8346193))
BPO2 = BPO1.next(Fork.BPO2, blob_schedule=BlobSchedule(14, 21, 11684671))
# BPO3..BPO5 have no parameters of their own: a chain config that schedules one must give them (geth refuses
# it otherwise, and so does client/genesis.py); until then they carry BPO2's.
BPO3 = BPO2.next(Fork.BPO3)
BPO4 = BPO3.next(Fork.BPO4)
BPO5 = BPO4.next(Fork.BPO5)

RULES: dict[Fork, ForkRules] = {
    r.fork: r for r in (PARIS, SHANGHAI, CANCUN, PRAGUE, OSAKA, BPO1, BPO2, BPO3, BPO4, BPO5)
}
