"""Payload building for the consensus client (execution-apis paris.md "Payload building").

forkchoiceUpdated with payload attributes starts a build process on top of the new head: the payload is built at
once from the pool's executable transactions (the spec's "initial version" may be empty; ours already holds what
is pending), and built again when getPayload asks for it after new transactions reached the pool. The same
attributes on the same parent give the same payload id, so a repeated forkchoiceUpdated does not restart it.

A built payload is executed but not written: it reaches the database when the consensus client sends it back
through engine_newPayload, like any other block. A blob transaction goes into a payload only with its blobs
(the pool keeps the sidecar it was submitted with) in the form the payload's fork hands out: one KZG proof per
blob before Osaka, cell proofs from Osaka on.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from common import rlp
from evm.rules import ForkRules

from ..blocks import Block, Withdrawal
from ..chain.validation import block_rules
from ..node.miner import build_dropping_invalid, next_base_fee, select
from ..node.txpool import BlobSidecar, effective_tip

log = structlog.get_logger("engine")

MAX_JOBS = 64  # build processes kept (a consensus client asks for one payload per slot)


@dataclass(slots=True)
class PayloadAttributes:
    timestamp: int
    prev_randao: bytes
    fee_recipient: bytes
    withdrawals: list[Withdrawal] | None = None
    parent_beacon_block_root: bytes | None = None

    def payload_id(self, parent_hash: bytes, version: int) -> bytes:
        """8 bytes identifying (parent, attributes, forkchoiceUpdated version), as geth derives it."""
        h = hashlib.sha256()
        h.update(parent_hash + self.timestamp.to_bytes(8, "big") + self.prev_randao + self.fee_recipient)
        if self.withdrawals is not None:
            h.update(rlp.encode([[w.index, w.validator_index, w.address, w.amount] for w in self.withdrawals]))
        if self.parent_beacon_block_root is not None:
            h.update(self.parent_beacon_block_root)
        out = bytearray(h.digest()[:8])
        out[0] = version  # the version the build was asked with, in the id's first byte as geth keeps it
        return bytes(out)


@dataclass
class BuildJob:
    payload_id: bytes
    parent_hash: bytes
    attributes: PayloadAttributes
    rules: ForkRules  # of the payload's fork
    block: Block | None = None
    requests: list[bytes] = field(default_factory=list)
    sidecars: list[BlobSidecar] = field(default_factory=list)
    value: int = 0
    built_at_seq: int = -1  # the pool's transaction counter when the payload was last built


class PayloadBuilder:
    def __init__(self, node: Any) -> None:
        self.node = node  # client.node.node.Node: the blockchain, the pool and the config
        self.jobs: dict[bytes, BuildJob] = {}

    def start(self, parent_hash: bytes, attributes: PayloadAttributes, version: int) -> bytes:
        payload_id = attributes.payload_id(parent_hash, version)
        if payload_id not in self.jobs:
            parent = self.node.blockchain.header(parent_hash)
            rules = block_rules(self.node.config, parent.number + 1, attributes.timestamp)
            job = BuildJob(payload_id, parent_hash, attributes, rules)
            self._build(job)
            if len(self.jobs) >= MAX_JOBS:
                self.jobs.pop(next(iter(self.jobs)))
            self.jobs[payload_id] = job
        return payload_id

    def get(self, payload_id: bytes) -> BuildJob | None:
        """The job's best payload: built again first when transactions arrived since the last build."""
        job = self.jobs.get(payload_id)
        if job is not None and job.built_at_seq != self.node.tx_seq:
            self._build(job)
        return job

    def _candidates(self, rules: ForkRules, base_fee: int):
        """The pool's executable transactions; a blob transaction without a sidecar of this fork's form is
        left out, with its sender's later ones."""
        pool = self.node.pool
        want_version = rules.blob_sidecar_version
        blocked: set[bytes] = set()
        for sender, tx in pool.ordered(self.node.pool_state(), base_fee):
            if sender in blocked:
                continue
            if tx.type == 3:
                sidecar = pool.extras.get(tx.hash)
                if not isinstance(sidecar, BlobSidecar) or sidecar.version != want_version:
                    blocked.add(sender)
                    continue
            yield sender, tx

    def _build(self, job: BuildJob) -> None:
        node = self.node
        started = time.perf_counter()
        seq = node.tx_seq
        parent = node.blockchain.header(job.parent_hash)
        attrs = job.attributes
        schedule = job.rules.blob_schedule
        base_fee = next_base_fee(node.config, parent)
        txs = select(
            self._candidates(job.rules, base_fee),
            parent.gas_limit,
            schedule.max_blob_gas if schedule is not None else None,
        )
        block, out, _ = build_dropping_invalid(
            node.blockchain,
            node.pool,
            job.parent_hash,
            txs,
            attrs.timestamp,
            coinbase=attrs.fee_recipient,
            withdrawals=attrs.withdrawals,
            parent_beacon_block_root=attrs.parent_beacon_block_root or b"\x00" * 32,
            prev_randao=attrs.prev_randao,
            extra_data=b"evm-mlir",
            set_head=False,
            write=False,
        )
        job.block = block
        job.requests = list(out.requests)
        job.sidecars = [node.pool.extras[tx.hash] for tx in block.transactions if tx.type == 3]
        job.value = block_value(block, out.receipts)
        job.built_at_seq = seq
        log.info(
            "payload built",
            id="0x" + job.payload_id.hex(),
            number=block.number,
            txs=len(block.transactions),
            gas_used=block.header.gas_used,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )


def block_value(block: Block, receipts: list) -> int:
    """What the fee recipient earns: each transaction's gas used times its effective tip."""
    base_fee = block.header.base_fee_per_gas or 0
    value, previous = 0, 0
    for tx, receipt in zip(block.transactions, receipts):
        value += (receipt.cumulative_gas_used - previous) * effective_tip(tx, base_fee)
        previous = receipt.cumulative_gas_used
    return value


def blobs_bundle(sidecars: list[BlobSidecar]) -> dict[str, list[str]]:
    """BlobsBundleV1 (one proof per blob) or V2 (cell proofs, Osaka: the sidecars hold those) of a payload's
    blob transactions."""
    out: dict[str, list[str]] = {"commitments": [], "proofs": [], "blobs": []}
    for s in sidecars:
        out["commitments"] += ["0x" + c.hex() for c in s.commitments]
        out["proofs"] += ["0x" + p.hex() for p in s.proofs]
        out["blobs"] += ["0x" + b.hex() for b in s.blobs]
    return out
