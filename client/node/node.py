"""The node's view of its chain: block lookup by tag/number/hash, state at a block, message calls,
transaction submission into the pool, mining. The RPC topics (client/rpc/) are thin formatting around it.

Threads (see server.py): writes (sealing, dev edits, rewinds) run on the single chain worker thread; reads and
raw-transaction admission run on the event loop at the same time. Reads see committed data only: a block, its
state, receipts and the head pointer land in one LevelDB batch, and the state trie is persistent (a root read
while a block is sealed stays whole). The pool has its own lock (txpool.py).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Any, Literal, overload

import structlog

from common.constants import EMPTY_ROOT
from evm.blobs import blob_base_fee
from evm.message import BlockEnv
from evm.processor import BlockContext, InvalidTransaction, TxResult, process_transaction
from evm.rules import ForkRules
from evm.transactions import Transaction
from state.db import NODE_PREFIX, StateDB
from state.journal import JournaledState

from ..blocks import Block, Receipt
from ..chain.store import ChainStore
from ..genesis import ChainConfig
from ..header import Header
from ..rpc.errors import ServerError
from .txpool import PoolRules, TxPool, TxPoolError

log = structlog.get_logger("node")


class StateNotAvailable(ServerError):
    pass


def rules_of(config: ChainConfig, number: int, timestamp: int) -> ForkRules:
    """The fork rules of a block at (number, timestamp); a fork this client does not run is a -32000 error."""
    from ..forks import UnsupportedFork, rules_at

    try:
        return rules_at(config, number, timestamp)
    except UnsupportedFork as exc:
        raise ServerError(str(exc)) from None


class PoolState:
    """The pool's view of the head state (nonce and balance), accounts read once; `key` names the state it
    reads (head hash, dev-edited root), so one view serves every admission until the head moves."""

    def __init__(self, db: StateDB, key: tuple = ()) -> None:
        self.db = db
        self.key = key
        self._cache: dict[bytes, Any] = {}

    def _acc(self, a: bytes):
        if a not in self._cache:
            self._cache[a] = self.db.get_account(a)
        return self._cache[a]

    def nonce(self, a: bytes) -> int:
        acc = self._acc(a)
        return acc.nonce if acc else 0

    def balance(self, a: bytes) -> int:
        acc = self._acc(a)
        return acc.balance if acc else 0


class Node:
    def __init__(
        self,
        store: ChainStore,
        config: ChainConfig,
        backend: str = "interpreter",
        dev_keys: dict[bytes, bytes] | None = None,
    ) -> None:
        self.store = store
        self.kv = store.kv
        self.config = config
        self.chain_id = config.chain_id
        self.backend = backend
        self.pool = TxPool()
        self.dev_keys = dev_keys or {}  # address -> private key (eth_accounts, eth_sendTransaction)
        genesis_hash = store.genesis_hash()
        if genesis_hash is None:
            raise ValueError("the chain store holds no genesis block")
        self.genesis_hash: bytes = genesis_hash
        self.on_new_tx: Callable[[], Any] | None = None  # set by the node: wakes the miner
        self.on_mode_change: Callable[[], Any] | None = None  # set by the node: the interval miner re-reads the mode
        # hashes of the transactions the pool accepted, numbered (pending-transaction filters)
        self.tx_seq = 0
        self._recent_txs: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=10_000)
        from ..chain.blockchain import Blockchain
        from .devchain import DevChain

        self.blockchain = Blockchain(store, config, backend)
        self.blockchain.db.preimages = True  # anvil_dumpState walks the trie by address
        self.dev = DevChain(self)
        self.pool_dirty = False  # a transaction arrived since the last automine attempt
        self._pool_state: PoolState | None = None
        # decoded bodies and receipts of recent blocks, by hash (a burst's receipts are read back one by one:
        # decoding the block and recovering its senders again for each cost more than the rest of the call)
        self._blocks: dict[bytes, Block] = {}
        self._receipts: dict[bytes, list[Receipt]] = {}
        self._rules: tuple[tuple, PoolRules] | None = None  # next_block_rules, by what they depend on
        # callbacks (subscriptions): on_block(header, block, receipts), on_pending(tx_hash)
        self.block_listeners: list = []
        self.pending_listeners: list = []

    # -- blocks ----------------------------------------------------------------------------------------------
    def head(self) -> Header:
        return self.store.head_header()

    def header_by_number(self, n: int) -> Header | None:
        h = self.store.canonical_hash(n)
        return self.store.get_header(h) if h is not None else None

    def header_by_hash(self, h: bytes) -> Header | None:
        return self.store.get_header(h)

    def canonical_header(self, n: int) -> Header:
        """The canonical block `n` (at most the head's number): a -32000 error if it is not stored."""
        header = self.header_by_number(n)
        if header is None:
            raise ServerError("header not found")
        return header

    def is_canonical(self, header: Header) -> bool:
        return self.store.canonical_hash(header.number) == header.hash

    @overload
    def resolve(self, block: tuple[str, Any], required: Literal[True] = True) -> Header: ...

    @overload
    def resolve(self, block: tuple[str, Any], required: bool) -> Header | None: ...

    def resolve(self, block: tuple[str, Any], required: bool = True) -> Header | None:
        """('tag'|'number'|'hash', value) -> header; tags latest/pending are the head, safe/finalized the blocks
        a consensus client named in its last forkchoiceUpdated, or the head without one (as geth --dev and
        anvil)."""
        kind, v = block
        if kind == "tag":
            if v == "earliest":
                header = self.header_by_number(0)
            elif v in ("safe", "finalized"):
                # as a consensus client set them (Engine API); without one, the head
                h = self.store.safe_hash() if v == "safe" else self.store.finalized_hash()
                header = self.header_by_hash(h) if h is not None else self.head()
            else:
                header = self.head()
        elif kind == "number":
            header = self.header_by_number(v)
        else:
            header = self.header_by_hash(v)
        if header is None and required:
            raise ServerError("header not found")
        return header

    BLOCK_CACHE = 256

    def block(self, header: Header) -> Block:
        """The block of `header` (decoded once and shared, senders recovered once: callers must not change
        it)."""
        h = header.hash
        block = self._blocks.get(h)
        if block is not None:
            return block
        body = self.store.get_body_rlp(h)
        if body is None:
            raise ServerError(f"block body 0x{h.hex()} not found")
        block = Block.from_body_rlp(header, body)
        self.dev.restore_senders(block.transactions)
        _remember(self._blocks, h, block, self.BLOCK_CACHE)
        return block

    def receipts(self, header: Header) -> list[Receipt]:
        h = header.hash
        receipts = self._receipts.get(h)
        if receipts is not None:
            return receipts
        encoded = self.store.get_receipts(h)
        if encoded is None:
            if header.number == 0:
                return []
            raise ServerError(f"receipts of block 0x{h.hex()} not found")
        receipts = [Receipt.decode(r) for r in encoded]
        _remember(self._receipts, h, receipts, self.BLOCK_CACHE)
        return receipts

    def remember_block(self, block: Block, receipts: list[Receipt]) -> None:
        """A block just sealed: its readers will ask for it first."""
        h = block.header.hash
        _remember(self._blocks, h, block, self.BLOCK_CACHE)
        _remember(self._receipts, h, receipts, self.BLOCK_CACHE)

    def forget_blocks(self, hashes) -> None:
        """Blocks a rewind deleted."""
        for h in hashes:
            self._blocks.pop(h, None)
            self._receipts.pop(h, None)
        self.store.forget_headers(hashes)

    def tx_location(self, tx_hash: bytes) -> tuple[Header, int] | None:
        loc = self.store.tx_lookup(tx_hash)
        if loc is None:
            return None
        header = self.header_by_hash(loc[0])
        if header is None or not self.is_canonical(header):
            return None
        return header, loc[1]

    # -- state -----------------------------------------------------------------------------------------------
    def state(self, header: Header) -> StateDB:
        root = header.state_root
        if header.hash == self.store.head_hash():
            root = self.dev.head_root(header)  # dev edits (anvil_setBalance, ...) of the head's state
        return self.state_at(root, header.number)

    def state_at(self, root: bytes, number: int) -> StateDB:
        if root != EMPTY_ROOT and self.kv.get(NODE_PREFIX + root) is None:
            raise StateNotAvailable(f"state of block {number} (root 0x{root.hex()}) is not available")
        return StateDB(self.kv, root)

    def rules(self, header: Header) -> ForkRules:
        return rules_of(self.config, header.number, header.timestamp)

    def block_hash_fn(self, number: int):
        store = self.store

        def block_hash(n: int) -> bytes | None:
            if n < 0 or n >= number or n < number - 256:
                return None
            return store.canonical_hash(n)

        return block_hash

    def block_env(self, header: Header) -> BlockEnv:
        from ..chain.transition import block_env

        return block_env(self.config, header, self.block_hash_fn(header.number))

    def blob_base_fee(self, header: Header) -> int:
        schedule = self.rules(header).blob_schedule
        return blob_base_fee(header.excess_blob_gas or 0, schedule) if schedule else 0

    # -- message calls (eth_call, eth_estimateGas, eth_createAccessList) ----------------------------------
    def call_gas_cap(self, header: Header) -> int:
        cap = self.rules(header).tx_gas_cap
        return header.gas_limit if cap is None else min(header.gas_limit, cap)

    def simulate(
        self,
        tx: Transaction,
        header: Header,
        no_base_fee: bool,
        state: JournaledState | None = None,
        tracer: Any = None,
    ) -> tuple[TxResult, JournaledState]:
        """Run `tx` (sender in `tx.sender`, nonce filled in) on top of `header`'s state; nothing is kept.
        InvalidTransaction becomes a -32000 error with geth's message."""
        if state is None:
            state = JournaledState(self.state(header))
        env = self.block_env(header)
        if no_base_fee:  # geth: a call without fee fields runs with base fee 0 (vm.Config.NoBaseFee)
            env = dataclasses.replace(env, base_fee=0)
        ctx = BlockContext(env)
        try:
            result = process_transaction(tx, state, ctx, self.backend, tracer=tracer, skip_account_checks=True)
        except InvalidTransaction as exc:
            raise ServerError(str(exc)) from None
        return result, state

    def tx_hashes_since(self, seq: int) -> list[bytes]:
        with self.pool.lock:  # submit appends under it
            return [h for n, h in self._recent_txs if n >= seq]

    # -- the pool --------------------------------------------------------------------------------------------
    def next_block_rules(self) -> PoolRules:
        from .miner import next_base_fee, next_excess_blob_gas_for

        head = self.head()
        number, timestamp = head.number + 1, self.dev.block_timestamp(head)  # as the miner stamps it
        s = self.dev.settings
        key = (head.hash, timestamp, s.gas_limit, s.next_base_fee)
        cached = self._rules
        if cached is not None and cached[0] == key:
            return cached[1]
        rules = rules_of(self.config, number, timestamp)
        schedule = rules.blob_schedule
        settings = self.block_settings()
        base_fee = next_base_fee(self.config, head) if settings.base_fee is None else settings.base_fee
        if settings.gas_limit is not None and settings.base_fee is None:
            from ..chain.validation import expected_base_fee

            base_fee = expected_base_fee(settings.gas_limit, head)
        excess = next_excess_blob_gas_for(self.config, head, number, timestamp)
        gas_limit = head.gas_limit if settings.gas_limit is None else settings.gas_limit
        out = PoolRules(
            chain_id=self.chain_id,
            fork_rules=rules,
            base_fee=base_fee,
            gas_limit=gas_limit,
            blob_base_fee=blob_base_fee(excess, schedule) if schedule else 1,
        )
        self._rules = (key, out)
        return out

    def pool_state(self) -> PoolState:
        """The pool's view of the head's state: one per head (and dev edit of it), so admissions between two
        blocks read each account once."""
        head = self.head()
        key = (head.hash, self.dev.head_root(head))
        ps = self._pool_state
        if ps is None or ps.key != key:
            ps = self._pool_state = PoolState(self.state_at(key[1], head.number), key)
        return ps

    def submit(self, tx: Transaction, size: int | None = None, sidecar: Any = None) -> bytes:
        """Admit a transaction into the pool (any thread; the pool's checks against the head run under its
        lock, with the head's view read there, so a block sealed meanwhile is seen whole or not at all)."""
        try:
            h = self.pool.add(tx, self.pool_state, self.next_block_rules(), size, sidecar)
            with self.pool.lock:
                self._recent_txs.append((self.tx_seq, h))
                self.tx_seq += 1
                self.pool_dirty = True
        except TxPoolError as exc:
            log.info("transaction rejected", hash="0x" + tx.hash.hex(), reason=str(exc))
            raise ServerError(str(exc)) from None
        log.debug("transaction added", hash="0x" + h.hex(), sender="0x" + tx.recover_sender().hex(), nonce=tx.nonce)
        for listener in self.pending_listeners:
            listener(h)
        if self.on_new_tx is not None:
            self.on_new_tx()
        return h

    # -- mining ----------------------------------------------------------------------------------------------
    def block_settings(self):
        from .miner import BlockSettings

        s = self.dev.settings
        return BlockSettings(
            coinbase=s.coinbase, gas_limit=s.gas_limit, base_fee=s.next_base_fee, pre_state_root=self.dev.edited_root()
        )

    def mine(self, timestamp: int | None = None):
        """Seal one block now (whatever is pending, maybe nothing) with the dev settings; tell listeners."""
        from .miner import mine

        head = self.head()
        forced = timestamp if timestamp is not None else self.dev.settings.next_timestamp
        ts = self.dev.block_timestamp(head, timestamp)
        settings = self.block_settings()
        mined = mine(self.blockchain, self.pool, self.pool_state, ts, settings)
        self.remember_block(mined.block, mined.receipts)
        if settings.pre_state_root is not None:  # tracing replays the block on the state it was built on
            self.dev.record_pre_state(mined.block.header, settings.pre_state_root)
        self.dev.after_block(mined.block.header, forced is not None)
        for listener in self.block_listeners:
            try:
                listener(mined.block.header, mined.block, mined.receipts)
            except Exception as exc:  # a subscriber's failure must not undo a sealed block
                log.error("block listener failed", error=repr(exc))
        return mined

    def pending_header(self) -> Header:
        """The next block as the miner would seal it now, without transactions, on the head's state (edited
        or not): what calls on "pending" run in."""
        from ..chain.validation import expected_base_fee, expected_excess_blob_gas
        from .miner import prev_randao

        head = self.head()
        s = self.block_settings()
        number, ts = head.number + 1, self.dev.block_timestamp(head)
        rules = rules_of(self.config, number, ts)
        gas_limit = head.gas_limit if s.gas_limit is None else s.gas_limit
        header = Header(
            parent_hash=head.hash,
            coinbase=s.coinbase,
            number=number,
            gas_limit=gas_limit,
            timestamp=ts,
            mix_hash=prev_randao(head),
            state_root=self.dev.head_root(head),
            base_fee_per_gas=expected_base_fee(gas_limit, head) if s.base_fee is None else s.base_fee,
        )
        if rules.withdrawals:
            header.withdrawals_root = EMPTY_ROOT
        if rules.blob_schedule is not None:
            header.excess_blob_gas = expected_excess_blob_gas(rules, head)
            header.blob_gas_used = 0
        if "parent_beacon_block_root" in rules.header_fields:
            header.parent_beacon_block_root = b"\x00" * 32
        if rules.requests:
            from ..blocks import compute_requests_hash

            header.requests_hash = compute_requests_hash([])
        return header

    def has_pending(self) -> bool:
        return len(self.pool) > 0 and self.pool.has_pending(self.pool_state())

    def automine_due(self) -> bool:
        """Whether a request left work for `automine` (cheap: asked on the event loop after each request)."""
        return self.pool_dirty and self.dev.settings.automine

    def automine(self) -> None:
        """After each request (or batch): with automine on, seal what the request left pending, block after
        block while the pool has executable transactions (more than one block's gas). A block that fails is
        not tried again until a new transaction comes."""
        if not self.dev.settings.automine or not self.pool_dirty:
            return
        self.pool_dirty = False
        for _ in range(64):
            if not self.has_pending():
                return
            try:
                mined = self.mine()
            except Exception as exc:  # a bug: keep serving; the pool keeps the transactions
                log.error("mining failed", error=repr(exc), exc_info=True)
                return
            if not mined.block.transactions:
                return


def _remember(cache: dict, key: bytes, value: Any, size: int) -> None:
    if len(cache) >= size:
        try:
            cache.pop(next(iter(cache)), None)  # the oldest entry
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile: it stays bounded anyway
            pass
    cache[key] = value
