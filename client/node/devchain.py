"""What a dev node (anvil, the Hardhat network) keeps besides its blocks, and the operations on the chain that
only a dev node has: editing the head's state, the clock, mining modes, impersonation, snapshots and rewinds.

The head's state. anvil_setBalance and its kin change the state without a block, as anvil does: the edited
state is written as trie nodes and `m:devroot` (head hash ‖ root) says that the head's state is that root, not
the one in its header. It is valid only while that block is the head: the next block is built on top of it
(so its header commits to the edits) and a rewind drops it.

Snapshots (evm_snapshot / evm_revert) are cheap because the state is a persistent trie: a snapshot is the
head block, the head's edited root, the pool's transactions and a copy of `DevSettings`. Reverting drops the
later blocks (canonical entries, headers, bodies, receipts, transaction lookups) and moves the head back in
one LevelDB write batch; trie nodes stay, as geth's archive nodes keep them. An id is used once; reverting to
one also forgets the snapshots taken after it.

Runs on the chain worker thread only (server.py), like the rest of `Node`.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from state.db import StateDB
from state.journal import JournaledState

from ..chain.store import BODY_PREFIX, HEADER_PREFIX, NUMBER_PREFIX, RECEIPTS_PREFIX
from ..header import Header
from ..rpc.errors import ServerError

if TYPE_CHECKING:
    from evm.transactions import Transaction

    from .node import Node

log = structlog.get_logger("node")

DEVROOT_KEY = b"m:devroot"  # head hash (32) ‖ state root (32): the head's state after dev edits
IMPERSONATED_PREFIX = b"I"  # I + transaction hash -> sender of a transaction sent for an impersonated account
PRESTATE_PREFIX = b"E"  # E + block hash -> the state root it was built on, when dev edits made it not its parent's
PLACEHOLDER_S = 1  # the `s` of an impersonated transaction's placeholder signature (no real one has it)


@dataclass
class DevSettings:
    """The knobs of anvil's and Hardhat's test methods; a snapshot keeps a copy."""

    time_offset: int = 0  # seconds added to the wall clock (evm_increaseTime)
    next_timestamp: int | None = None  # the next block's, once (evm_setNextBlockTimestamp)
    timestamp_interval: int | None = None  # anvil_setBlockTimestampInterval: parent's + this
    automine: bool = True  # a block as soon as a request leaves transactions pending
    interval: float = 0.0  # seconds between interval-mined blocks (0: off)
    interval_range: tuple[float, float] | None = None  # Hardhat's [min, max] ms: a random interval each block
    impersonated: set[bytes] = field(default_factory=set)
    auto_impersonate: bool = False
    coinbase: bytes = b"\x00" * 20
    gas_limit: int | None = None  # evm_setBlockGasLimit (None: the parent's)
    next_base_fee: int | None = None  # anvil_setNextBlockBaseFeePerGas, once


@dataclass
class Snapshot:
    head: bytes
    devroot: bytes | None
    pool: list
    settings: DevSettings


class DevChain:
    """The dev-node side of a `Node` (see module docstring)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.kv = node.kv
        self.settings = DevSettings()
        self.snapshots: dict[int, Snapshot] = {}
        self.next_snapshot_id = 1  # Hardhat's first id is 0x1

    # -- the head's state ------------------------------------------------------------------------------------
    def head_root(self, head: Header) -> bytes:
        """The state root of the head: its header's, or the one dev edits left (m:devroot)."""
        data = self.kv.get(DEVROOT_KEY)
        if data is not None and data[:32] == head.hash:
            return data[32:]
        return head.state_root

    def edited_root(self) -> bytes | None:
        head = self.node.head()
        root = self.head_root(head)
        return None if root == head.state_root else root

    def edit_state(self, edit) -> bytes:
        """Apply `edit(JournaledState)` to the head's state and write it (nodes, code, preimages and the new
        m:devroot in one batch); returns the new root. The pool re-reads nonces and balances."""
        head = self.node.head()
        db = StateDB(self.kv, self.head_root(head), preimages=True)
        state = JournaledState(db)
        edit(state)
        with self.kv.write_batch() as batch:
            root = state.commit(batch)
            batch.put(DEVROOT_KEY, head.hash + root)
        self.node.pool.reset(self.node.pool_state())
        return root

    def pre_state_root(self, header: Header) -> bytes | None:
        """The state `header`'s block was built on: its parent's, or the edited one (recorded when mined)."""
        root = self.kv.get(PRESTATE_PREFIX + header.hash)
        if root is not None:
            return root
        parent = self.node.header_by_hash(header.parent_hash)
        return parent.state_root if parent is not None else None

    def record_pre_state(self, header: Header, root: bytes) -> None:
        self.kv.put(PRESTATE_PREFIX + header.hash, root)

    # -- time -------------------------------------------------------------------------------------------------
    def now(self) -> int:
        return int(time.time()) + self.settings.time_offset

    def block_timestamp(self, parent: Header, forced: int | None = None) -> int:
        """The next block's timestamp: a forced one (evm_mine's argument, evm_setNextBlockTimestamp), the
        parent's plus the set interval, else the clock (wall time + offset), always after the parent."""
        s = self.settings
        if forced is None:
            forced = s.next_timestamp
        if forced is not None:
            return forced
        if s.timestamp_interval is not None:
            return parent.timestamp + s.timestamp_interval
        return max(self.now(), parent.timestamp + 1)

    def after_block(self, header: Header, forced: bool) -> None:
        """One-shot settings are spent; a forced timestamp moves the clock (later blocks follow it, as in
        anvil and Hardhat)."""
        s = self.settings
        if forced:
            s.time_offset = header.timestamp - int(time.time())
        s.next_timestamp = None
        s.next_base_fee = None

    def set_next_timestamp(self, ts: int) -> None:
        head = self.node.head()
        if ts <= head.timestamp:
            raise ServerError(f"Timestamp error: {ts} is lower than or equal to previous block's timestamp")
        self.settings.next_timestamp = ts

    # -- impersonation ----------------------------------------------------------------------------------------
    def is_impersonated(self, address: bytes) -> bool:
        return self.settings.auto_impersonate or address in self.settings.impersonated

    def placeholder_sign(self, tx: Transaction, sender: bytes) -> None:
        """A signature no key made, unique to the sender (so two impersonated senders never share a hash);
        the sender is recorded by hash so the block reads back with it."""
        from common.keccak import keccak

        n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
        if tx.type != 0:
            tx.v = 0
        else:
            tx.v = 27 if tx.chain_id is None else 35 + 2 * tx.chain_id
        tx.r = int.from_bytes(keccak(sender + tx.signing_hash()), "big") % (n - 1) + 1
        tx.s = PLACEHOLDER_S
        tx.sender = sender
        tx.impersonated = True
        self.kv.put(IMPERSONATED_PREFIX + tx.hash, sender)

    def restore_senders(self, transactions: list) -> None:
        """Senders of impersonated transactions read back from a block (their signature recovers nothing)."""
        for tx in transactions:
            if tx.s == PLACEHOLDER_S:
                sender = self.kv.get(IMPERSONATED_PREFIX + tx.hash)
                if sender is not None:
                    tx.sender = sender
                    tx.impersonated = True

    # -- snapshots and rewinds --------------------------------------------------------------------------------
    def snapshot(self) -> int:
        sid = self.next_snapshot_id
        self.next_snapshot_id += 1
        self.snapshots[sid] = Snapshot(
            self.node.head().hash, self.edited_root(), self.node.pool.snapshot(), copy.deepcopy(self.settings)
        )
        return sid

    def revert(self, sid: int) -> bool:
        snap = self.snapshots.get(sid)
        if snap is None:
            return False
        for later in [k for k in self.snapshots if k >= sid]:
            del self.snapshots[later]
        target = self.node.header_by_hash(snap.head)
        if target is None or not self.node.is_canonical(target):
            raise ServerError("snapshot's block is no longer part of the chain")
        self.rewind(target, snap.devroot)
        self.settings = copy.deepcopy(snap.settings)
        self.node.pool.restore(snap.pool, self.node.pool_state())
        return True

    def rewind(self, target: Header, devroot: bytes | None = None) -> int:
        """Make `target` (a canonical block) the head: the blocks above it go, with their receipts,
        canonical entries and transaction lookups, in one write batch. Returns how many blocks went."""
        store = self.node.store
        head = self.node.head()
        dropped = [
            h for h in (store.canonical_hash(n) for n in range(target.number + 1, head.number + 1)) if h is not None
        ]

        def drop(batch) -> None:  # beside the blockchain's move of the head and the canonical index
            for h in dropped:
                for prefix in (HEADER_PREFIX, BODY_PREFIX, NUMBER_PREFIX, RECEIPTS_PREFIX, PRESTATE_PREFIX):
                    batch.delete(prefix + h)
            if devroot is not None:
                batch.put(DEVROOT_KEY, target.hash + devroot)
            else:
                batch.delete(DEVROOT_KEY)

        self.node.blockchain.move_head(target.hash, also=drop)
        self.node.forget_blocks(dropped)
        if dropped:
            log.info("chain rewound", head=target.number, hash="0x" + target.hash.hex(), dropped=len(dropped))
        return len(dropped)

    def reset(self) -> None:
        """anvil_reset / hardhat_reset without forking: back to the genesis block, empty pool, no snapshots;
        the mining mode stays as it is."""
        genesis = self.node.canonical_header(0)
        self.rewind(genesis)
        self.node.pool.clear()
        self.snapshots.clear()
        s = self.settings
        self.settings = DevSettings(automine=s.automine, interval=s.interval, interval_range=s.interval_range)
