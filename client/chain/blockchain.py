"""The chain: blocks on top of a `ChainStore` (store.py). `Blockchain.import_block` is a block's life in one
place: find the parent, validate the header and the body (validation.py), apply the body to the parent's state
(transition.py), check the header's commitments, and write the state changes, the block, its receipts, its
transaction lookups and the new canonical head in ONE write batch; a block that fails any check writes nothing.
`build` makes a block the same way from transactions (the miner, the Engine API's payloads), `move_head`
moves the canonical head (forkchoice, rewinds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from common.keccak import keccak
from state.db import StateDB
from state.journal import JournaledState
from state.kv import WriteBatch

from ..blocks import Block, Receipt
from ..genesis import ChainConfig, _Ctx, parse_config
from ..header import Header
from .store import TX_LOOKUP_PREFIX, ChainStore
from .transition import BlockOutput, apply_body
from .validation import (
    InvalidBlock,
    block_rules,
    check_output,
    expected_base_fee,
    expected_excess_blob_gas,
    validate_body,
    validate_header,
)


@dataclass
class ImportResult:
    hash: bytes
    number: int
    gas_used: int
    tx_count: int
    seconds: float
    receipts: list[Receipt]
    requests: list[bytes] = field(default_factory=list)  # EIP-7685 `type || data`, as the Engine API hands them


class Blockchain:
    """Blocks on top of a ChainStore: `import_block` validates, executes and writes one block (with its state,
    receipts and the new head) in one write batch; a block that fails any check writes nothing."""

    HEADER_CACHE = 4096

    def __init__(self, store: ChainStore, config: ChainConfig | None = None, backend: str = "interpreter") -> None:
        self.store = store
        if config is None:
            raw = store.config()
            if raw is None:
                raise ValueError("the chain store holds no chain config")
            config = parse_config(raw, _Ctx("stored chain config"))
        self.config = config
        self.backend = backend
        self.db = StateDB(store.kv)
        self._headers: dict[bytes, Header] = {}

    # -- reads

    def header(self, block_hash: bytes) -> Header | None:
        h = self._headers.get(block_hash)
        if h is None:
            h = self.store.get_header(block_hash)
            if h is not None:
                if len(self._headers) >= self.HEADER_CACHE:
                    self._headers.clear()
                self._headers[block_hash] = h
        return h

    def head(self) -> Header:
        return self.store.head_header()

    def has_block(self, block_hash: bytes) -> bool:
        return self.store.block_number(block_hash) is not None

    def _block_hash_fn(self, parent_hash: bytes, number: int) -> Callable[[int], bytes | None]:
        """BLOCKHASH for a block `number` whose parent is `parent_hash`: the 256 ancestors, by walking the
        parent links (so it is right on a side chain too)."""
        known = [parent_hash]  # known[i] = hash of block number - 1 - i

        def block_hash(n: int) -> bytes | None:
            if not number - 256 <= n < number:
                return None
            depth = number - 1 - n
            while len(known) <= depth:
                h = self.header(known[-1])
                if h is None or h.number == 0:
                    return None
                known.append(h.parent_hash)
            return known[depth]

        return block_hash

    # -- import

    def import_block(self, block: Block, encoded_size: int | None = None, set_head: bool = True) -> ImportResult:
        start = time.perf_counter()
        header = block.header
        parent = self.header(header.parent_hash)
        if parent is None:
            raise InvalidBlock(
                "UNKNOWN_PARENT_ZERO" if header.parent_hash == b"\x00" * 32 else "UNKNOWN_PARENT",
                f"parent 0x{header.parent_hash.hex()} of block {header.number} is not known",
            )
        rules = validate_header(header, parent, self.config)
        validate_body(block, rules, encoded_size)

        db = self.db
        db.root = parent.state_root
        state = JournaledState(db)
        out = apply_body(
            block, rules, self.config, state, self._block_hash_fn(header.parent_hash, header.number), self.backend
        )
        check_output(block, rules, out)

        block_hash = self._commit_block(state, db, parent, block, out.receipts, set_head, expect_root=True)
        return ImportResult(
            block_hash,
            header.number,
            out.gas_used,
            len(block.transactions),
            time.perf_counter() - start,
            out.receipts,
            out.requests,
        )

    def build_block(
        self,
        parent_hash: bytes,
        transactions: list,
        timestamp: int,
        coinbase: bytes = b"\x00" * 20,
        withdrawals: list | None = None,
        parent_beacon_block_root: bytes = b"\x00" * 32,
        prev_randao: bytes = b"\x00" * 32,
        extra_data: bytes = b"",
        gas_limit: int | None = None,
        set_head: bool = True,
        base_fee: int | None = None,
        pre_state_root: bytes | None = None,
    ) -> Block:
        """Build a block on `parent_hash` from already-valid transactions (any invalid one raises InvalidBlock),
        fill in every header commitment, and write it like an imported block. For dev chains and tests:
        `base_fee` overrides EIP-1559's (anvil_setNextBlockBaseFeePerGas) and `pre_state_root` starts from
        a state other than the parent's (a dev node's head state edited by anvil_setBalance and the like)."""
        return self.build(
            parent_hash,
            transactions,
            timestamp,
            coinbase,
            withdrawals,
            parent_beacon_block_root,
            prev_randao,
            extra_data,
            gas_limit,
            set_head=set_head,
            base_fee=base_fee,
            pre_state_root=pre_state_root,
        )[0]

    def build(
        self,
        parent_hash: bytes,
        transactions: list,
        timestamp: int,
        coinbase: bytes = b"\x00" * 20,
        withdrawals: list | None = None,
        parent_beacon_block_root: bytes = b"\x00" * 32,
        prev_randao: bytes = b"\x00" * 32,
        extra_data: bytes = b"",
        gas_limit: int | None = None,
        set_head: bool = True,
        base_fee: int | None = None,
        pre_state_root: bytes | None = None,
        write: bool = True,
    ) -> tuple[Block, BlockOutput]:
        """build_block, also returning the execution output (receipts, requests); with `write=False` nothing is
        written (the state root is computed in memory): a payload built for a consensus client is stored only
        when it comes back through newPayload."""
        parent = self.header(parent_hash)
        if parent is None:
            raise InvalidBlock("UNKNOWN_PARENT", f"parent 0x{parent_hash.hex()} is not known")
        number = parent.number + 1
        rules = block_rules(self.config, number, timestamp)
        gas_limit = parent.gas_limit if gas_limit is None else gas_limit
        header = Header(
            parent_hash=parent_hash,
            coinbase=coinbase,
            number=number,
            gas_limit=gas_limit,
            timestamp=timestamp,
            extra_data=extra_data,
            mix_hash=prev_randao,
            base_fee_per_gas=expected_base_fee(gas_limit, parent) if base_fee is None else base_fee,
        )
        withdrawals = list(withdrawals or []) if rules.withdrawals else None
        if rules.blob_schedule is not None:
            header.blob_gas_used = 0
            header.excess_blob_gas = expected_excess_blob_gas(rules, parent)
        if "parent_beacon_block_root" in rules.header_fields:
            header.parent_beacon_block_root = parent_beacon_block_root
        block = Block(header, list(transactions), [], withdrawals)
        header.transactions_root = block.transactions_root()
        if rules.withdrawals:
            header.withdrawals_root = block.withdrawals_root()
        db = self.db
        db.root = parent.state_root if pre_state_root is None else pre_state_root
        state = JournaledState(db)
        out = apply_body(block, rules, self.config, state, self._block_hash_fn(parent_hash, number), self.backend)
        header.gas_used = out.gas_used
        header.receipts_root = out.receipts_root()
        header.logs_bloom = out.logs_bloom
        if rules.blob_schedule is not None:
            header.blob_gas_used = out.blob_gas_used
        if rules.requests:
            header.requests_hash = out.requests_hash
        if write:
            self._commit_block(state, db, parent, block, out.receipts, set_head, expect_root=False)
        else:
            header.state_root = db.compute_root(state.changes())
        return block, out

    def _commit_block(
        self, state, db, parent: Header, block: Block, receipts: list[Receipt], set_head: bool, expect_root: bool
    ) -> bytes:
        """The block, its state changes and (with set_head) the new head in ONE write batch; on any
        failure nothing is written and the state database goes back to the parent's root. With
        `expect_root` the computed root must equal the header's; otherwise it is filled in (sealing)."""
        header = block.header
        batch = self.store.kv.write_batch()
        try:
            root = state.commit(batch)
            if not expect_root:
                header.state_root = root
            elif root != header.state_root:
                raise InvalidBlock(
                    "INVALID_STATE_ROOT", f"state root 0x{root.hex()} != header 0x{header.state_root.hex()}"
                )
            block_hash = self.write_block(batch, block, receipts, set_head)
            batch.commit()
        except BaseException:
            batch.discard()
            db.root = parent.state_root
            raise
        self._headers[block_hash] = header
        self.store.remember_header(block_hash, header)
        return block_hash

    def move_head(self, block_hash: bytes, also: Callable[[WriteBatch], None] | None = None) -> None:
        """Make the stored block `block_hash` the head (a reorg when it is on a side chain), with the writes of
        `also`, in one write batch."""
        header = self.header(block_hash)
        body = self.store.get_body_rlp(block_hash)
        if header is None or body is None:
            raise KeyError(f"block 0x{block_hash.hex()} is not stored")
        batch = self.store.kv.write_batch()
        try:
            if self.store.head_hash() != block_hash:
                self._make_canonical(batch, Block.from_body_rlp(header, body), block_hash)
                self.store.set_head(batch, block_hash)
            if also is not None:
                also(batch)
            batch.commit()
        except BaseException:
            batch.discard()
            raise

    def write_block(self, batch: WriteBatch, block: Block, receipts: list[Receipt], set_head: bool = True) -> bytes:
        """Block, receipts, transaction lookups and (optionally) the head into `batch`; on a new head whose
        parent was not the head, the canonical index is moved over to its chain (a reorg)."""
        store = self.store
        header = block.header
        block_hash = store.put_block(batch, header, block.body_rlp(), canonical=False)
        store.put_receipts(batch, block_hash, [r.encode() for r in receipts])
        if set_head:
            self._make_canonical(batch, block, block_hash)
            store.set_head(batch, block_hash)
        return block_hash

    def _make_canonical(self, batch: WriteBatch, block: Block, block_hash: bytes) -> None:
        """Point the canonical index at `block`'s chain: the new block and those of its ancestors that were not
        canonical get canonical entries and transaction lookups; the old chain's blocks above the common
        ancestor lose theirs (a reorg; in the usual case the parent is the head and this writes one entry)."""
        store = self.store
        header = block.header
        old_head = store.head_hash()
        old_number = store.block_number(old_head) if old_head is not None else None
        old_head_number = -1 if old_number is None else old_number
        # the new chain's blocks that are not canonical yet, newest first
        new_chain: list[tuple[int, bytes, Block]] = [(header.number, block_hash, block)]
        h, n = header.parent_hash, header.number - 1
        while n >= 0 and store.canonical_hash(n) != h:
            anc = self.header(h)
            body = store.get_body_rlp(h)
            if anc is None or body is None:
                break
            new_chain.append((n, h, Block.from_body_rlp(anc, body)))
            h, n = anc.parent_hash, n - 1
        # the old chain above the common ancestor: drop its canonical entries and transaction lookups
        for m in range(n + 1, old_head_number + 1):
            old = store.canonical_hash(m)
            if old is None:
                continue
            anc, body = self.header(old), store.get_body_rlp(old)
            if anc is not None and body is not None:
                for tx_hash in block_tx_hashes(Block.from_body_rlp(anc, body)):
                    batch.delete(TX_LOOKUP_PREFIX + tx_hash)
            store.delete_canonical(batch, m)
        for m, h, b in reversed(new_chain):
            store.set_canonical(batch, m, h)
            for i, tx_hash in enumerate(block_tx_hashes(b)):
                store.put_tx_lookup(batch, tx_hash, h, i)


def block_tx_hashes(block: Block) -> list[bytes]:
    return [keccak(e) for e in block.encoded_transactions()]
