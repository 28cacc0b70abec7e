"""The block executor: validate a block against its parent, apply it, check it against its header, and write
it — state changes, block, receipts, transaction lookups and the new head — in ONE write batch.

Follows ethereum/execution-specs (forks/{paris,...,osaka}/fork.py: `state_transition`, `validate_header`,
`apply_body`, `process_*_system_transaction`, `process_withdrawals`, `process_general_purpose_requests`); the
spec is the oracle, never a dependency. What differs between forks (header fields, withdrawals, system calls,
requests, blob parameters, block size) is read from the block's `ForkRules` (evm/rules.py, client/forks.py).
Transactions go through `evm.processor.process_transaction`, system calls through `evm.execute`.

A rejected block raises `InvalidBlock` (its `code` names the reason as execution-spec-tests'
`BlockException`/`TransactionException` do) and writes nothing: the batch is dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from evm.blobs import blob_base_fee, next_excess_blob_gas
from evm.message import BlockEnv, Message, TxEnv
from evm.processor import BlockContext, InvalidTransaction, process_transaction
from evm.rules import ForkRules
from state.db import StateDB
from common.keccak import keccak
from common.constants import EMPTY_OMMERS_HASH, U64_MAX
from state.journal import JournaledState
from state.kv import WriteBatch

from .blocks import GWEI, Block, BlockDecodeError, Receipt, compute_requests_hash, logs_bloom_int, ordered_trie_root
from .chainstore import TX_LOOKUP_PREFIX, ChainStore
from .forks import UnsupportedFork, rules_at
from .genesis import ChainConfig, parse_config, _Ctx
from .header import OPTIONAL_FIELDS, Header

SYSTEM_ADDRESS = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffe")
SYSTEM_TRANSACTION_GAS = 30_000_000
MAINNET_DEPOSIT_CONTRACT = bytes.fromhex("00000000219ab540356cbb839cbe05303d7705fa")  # EIP-6110
DEPOSIT_EVENT_SIGNATURE = bytes.fromhex("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5")
DEPOSIT_REQUEST_TYPE = b"\x00"

ELASTICITY_MULTIPLIER = 2
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8
GAS_LIMIT_ADJUSTMENT_FACTOR = 1024
GAS_LIMIT_MINIMUM = 5000
MAX_EXTRA_DATA = 32
MAX_GAS_LIMIT = 2**63 - 1  # as geth and the other clients cap it (execution-specs does not)


class InvalidBlock(Exception):
    """The block cannot be part of the chain. `code` is e.g. "BlockException.INVALID_STATE_ROOT" or
    "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"."""

    def __init__(self, code: str, message: str = "", tx_index: int | None = None, reason: str = "") -> None:
        super().__init__(message or code)
        self.code = code if "." in code else f"BlockException.{code}"
        # Which transaction made the block invalid, and why (the miner drops it and builds again).
        self.tx_index = tx_index
        self.reason = reason


# ---------------------------------------------------------------------------------------------- config


def block_rules(config: ChainConfig, number: int, timestamp: int) -> ForkRules:
    """The rules of a block at (number, timestamp); a fork this client does not run makes it invalid."""
    try:
        return rules_at(config, number, timestamp)
    except UnsupportedFork as exc:
        raise InvalidBlock("UNSUPPORTED_FORK", str(exc)) from None


# ---------------------------------------------------------------------------------------------- header checks


def expected_base_fee(gas_limit: int, parent: Header) -> int:
    """EIP-1559 base fee of a child of `parent` (execution-specs `calculate_base_fee_per_gas`)."""
    parent_target = parent.gas_limit // ELASTICITY_MULTIPLIER
    parent_base_fee = parent.base_fee_per_gas or 0
    if parent.gas_used == parent_target:
        return parent_base_fee
    if parent.gas_used > parent_target:
        delta = parent_base_fee * (parent.gas_used - parent_target) // parent_target // BASE_FEE_MAX_CHANGE_DENOMINATOR
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (parent_target - parent.gas_used) // parent_target // BASE_FEE_MAX_CHANGE_DENOMINATOR
    return parent_base_fee - delta


def check_gas_limit(gas_limit: int, parent_gas_limit: int) -> bool:
    delta = parent_gas_limit // GAS_LIMIT_ADJUSTMENT_FACTOR
    return parent_gas_limit - delta < gas_limit < parent_gas_limit + delta and gas_limit >= GAS_LIMIT_MINIMUM


def expected_excess_blob_gas(rules: ForkRules, parent: Header) -> int:
    """Excess blob gas of a block under `rules` (EIP-4844, EIP-7918 from Osaka, the block's own fork's blob
    schedule); a parent from before Cancun counts as zero excess and zero used."""
    return next_excess_blob_gas(rules, parent.excess_blob_gas or 0, parent.blob_gas_used or 0,
                                parent.base_fee_per_gas or 0)


def _check_shape(header: Header, rules: ForkRules) -> None:
    """The header has exactly the fields of its fork."""
    for name in OPTIONAL_FIELDS:
        present = name in rules.header_fields
        if (getattr(header, name) is not None) != present:
            raise InvalidBlock("INCORRECT_BLOCK_FORMAT",
                               f"header field {name} {'missing' if present else 'not allowed'} in {rules.name}")
    if rules.blob_schedule is not None and (header.blob_gas_used > U64_MAX or header.excess_blob_gas > U64_MAX):
        raise InvalidBlock("RLP_INVALID_FIELD_OVERFLOW_64", "blob gas field overflows 64 bits")


def validate_header(header: Header, parent: Header, config: ChainConfig) -> ForkRules:
    """Checks of execution-specs' `validate_header` (in its order); returns the block's fork rules."""
    rules = block_rules(config, header.number, header.timestamp)
    _check_shape(header, rules)
    if header.number < 1:
        raise InvalidBlock("INVALID_BLOCK_NUMBER", "block number 0 is the genesis")
    if rules.blob_schedule is not None:
        want = expected_excess_blob_gas(rules, parent)
        if header.excess_blob_gas != want:
            raise InvalidBlock("INCORRECT_EXCESS_BLOB_GAS", f"excess blob gas {header.excess_blob_gas} != {want}")
    if header.gas_used > header.gas_limit:
        raise InvalidBlock("GAS_USED_OVERFLOW", f"gas used {header.gas_used} > gas limit {header.gas_limit}")
    if header.gas_limit > MAX_GAS_LIMIT:
        raise InvalidBlock("GASLIMIT_TOO_BIG", f"gas limit {header.gas_limit} > 2**63 - 1")
    if not check_gas_limit(header.gas_limit, parent.gas_limit):
        raise InvalidBlock("INVALID_GASLIMIT", f"gas limit {header.gas_limit} not allowed after {parent.gas_limit}")
    want = expected_base_fee(header.gas_limit, parent)
    if header.base_fee_per_gas != want:
        raise InvalidBlock("INVALID_BASEFEE_PER_GAS", f"base fee {header.base_fee_per_gas} != {want}")
    if header.timestamp <= parent.timestamp:
        raise InvalidBlock("INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT",
                           f"timestamp {header.timestamp} <= parent's {parent.timestamp}")
    if header.number != parent.number + 1:
        raise InvalidBlock("INVALID_BLOCK_NUMBER", f"number {header.number} != parent's + 1 ({parent.number + 1})")
    if len(header.extra_data) > MAX_EXTRA_DATA:
        raise InvalidBlock("EXTRA_DATA_TOO_BIG", f"extra data of {len(header.extra_data)} bytes")
    if header.difficulty != 0:
        raise InvalidBlock("IMPROPER_DIFFICULTY", "difficulty must be 0 after the Merge")
    if header.nonce != b"\x00" * 8:
        raise InvalidBlock("INVALID_NONCE", "nonce must be 0 after the Merge")
    if header.ommers_hash != EMPTY_OMMERS_HASH:
        raise InvalidBlock("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers hash must be that of an empty list")
    return rules


def validate_body(block: Block, rules: ForkRules, encoded_size: int | None = None) -> None:
    """What can be checked without executing: ommers, withdrawals presence, transactions/withdrawals roots,
    the Osaka block size (EIP-7934)."""
    if rules.max_block_rlp_size is not None:
        size = encoded_size if encoded_size is not None else len(block.encode())
        if size > rules.max_block_rlp_size:
            raise InvalidBlock("RLP_BLOCK_LIMIT_EXCEEDED", f"block RLP of {size} bytes")
    if block.ommers:
        raise InvalidBlock("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers not allowed after the Merge")
    if (block.withdrawals is not None) != rules.withdrawals:
        raise InvalidBlock("RLP_WITHDRAWALS_NOT_READ" if block.withdrawals is None else "INCORRECT_BLOCK_FORMAT",
                           "withdrawals list " + ("missing" if block.withdrawals is None else "not allowed"))
    root = block.transactions_root()
    if root != block.header.transactions_root:
        raise InvalidBlock("INVALID_TRANSACTIONS_ROOT",
                           f"transactions root 0x{root.hex()} != header 0x{block.header.transactions_root.hex()}")
    if rules.withdrawals:
        root = block.withdrawals_root()
        if root != block.header.withdrawals_root:
            raise InvalidBlock("INVALID_WITHDRAWALS_ROOT",
                               f"withdrawals root 0x{root.hex()} != header 0x{block.header.withdrawals_root.hex()}")


# ---------------------------------------------------------------------------------------------- execution


@dataclass
class BlockOutput:
    receipts: list[Receipt] = field(default_factory=list)
    gas_used: int = 0
    blob_gas_used: int = 0
    bloom: int = 0
    requests: list[bytes] = field(default_factory=list)

    def receipts_root(self) -> bytes:
        return ordered_trie_root([r.encode() for r in self.receipts])

    @property
    def logs_bloom(self) -> bytes:
        return self.bloom.to_bytes(256, "big")

    @property
    def requests_hash(self) -> bytes:
        return compute_requests_hash(self.requests)


def system_call(state: JournaledState, block: BlockEnv, target: bytes, data: bytes, backend: str,
                checked: bool) -> bytes:
    """execution-specs `process_(un)checked_system_transaction`: a call from SYSTEM_ADDRESS with 30M gas, no
    value, no fees, nothing pre-warmed, fresh transient storage; self-destructs are not applied. A checked call
    fails the block when the target has no code or the call does not succeed. Returns the output."""
    from evm import execute

    code = state.get_code(target)
    if not code:
        if checked:
            raise InvalidBlock("SYSTEM_CONTRACT_EMPTY", f"system contract 0x{target.hex()} has no code")
        return b""
    state.begin_transaction()
    tx = TxEnv(origin=SYSTEM_ADDRESS, gas_price=block.base_fee)
    message = Message(caller=SYSTEM_ADDRESS, target=target, value=0, data=data, gas=SYSTEM_TRANSACTION_GAS,
                      code=code, code_address=target, should_transfer_value=False)
    result = execute(message, state, block, tx, backend)
    state.finalize_transaction(delete_selfdestructed=False)  # the spec drops a system call's accounts_to_delete
    if checked and result.status != "success":
        raise InvalidBlock("SYSTEM_CONTRACT_CALL_FAILED",
                           f"system contract 0x{target.hex()} call failed: {result.status} {result.error or ''}")
    return result.output


def _extract_deposit(data: bytes) -> bytes:
    """EIP-6110 DepositEvent data -> pubkey ‖ withdrawal credentials ‖ amount ‖ signature ‖ index."""
    if len(data) != 576:
        raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid deposit event data length")
    layout = ((160, 48), (256, 32), (320, 8), (384, 96), (512, 8))
    out = b""
    for i, (offset, size) in enumerate(layout):
        if int.from_bytes(data[32 * i:32 * i + 32], "big") != offset:
            raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid offset in deposit log")
        if int.from_bytes(data[offset:offset + 32], "big") != size:
            raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid size in deposit log")
        out += data[offset + 32:offset + 32 + size]
    return out


def block_env(config: ChainConfig, header: Header, block_hash: Callable[[int], bytes | None],
              rules: ForkRules | None = None) -> BlockEnv:
    """The environment a block's transactions run in (also for eth_call and tracing on top of a block)."""
    if rules is None:
        rules = block_rules(config, header.number, header.timestamp)
    excess = header.excess_blob_gas or 0
    schedule = rules.blob_schedule
    return BlockEnv(fork=rules.fork, rules=rules, chain_id=config.chain_id, coinbase=header.coinbase,
               number=header.number, timestamp=header.timestamp, gas_limit=header.gas_limit,
               prev_randao=header.mix_hash, base_fee=header.base_fee_per_gas or 0, excess_blob_gas=excess,
               blob_base_fee=blob_base_fee(excess, schedule) if schedule is not None else 0, block_hash=block_hash)


def pre_block_calls(state: JournaledState, block: BlockEnv, header: Header, backend: str) -> None:
    """The system calls before a block's transactions (EIP-4788 beacon root, EIP-2935 block-hash history):
    each passes a header field to its system contract."""
    for target, field_name in block.rules.pre_block_calls:
        system_call(state, block, target, getattr(header, field_name), backend, checked=False)


def apply_body(block: Block, rules: ForkRules, config: ChainConfig, state: JournaledState,
               block_hash: Callable[[int], bytes | None], backend: str = "interpreter") -> BlockOutput:
    """execution-specs `apply_body`: system calls, transactions, withdrawals, requests. Raises InvalidBlock
    for an invalid transaction or a failed checked system call."""
    header = block.header
    env = block_env(config, header, block_hash, rules)
    out = BlockOutput()
    pre_block_calls(state, env, header, backend)

    ctx = BlockContext(env)
    deposit_contract = config.deposit_contract_address or MAINNET_DEPOSIT_CONTRACT
    deposits = b""
    for i, tx in enumerate(block.transactions):
        if tx.type == 0 and tx.v not in (27, 28) and tx.chain_id != config.chain_id:
            reason = f"signed for chain {tx.chain_id}, not {config.chain_id}"
            raise InvalidBlock("TransactionException.INVALID_CHAINID", f"transaction {i}: {reason}", i, reason)
        ctx.gas_used = out.gas_used
        ctx.blob_gas_used = out.blob_gas_used
        try:
            result = process_transaction(tx, state, ctx, backend)
        except InvalidTransaction as exc:
            raise InvalidBlock(f"TransactionException.{exc.code}", f"transaction {i}: {exc}", i, str(exc)) from None
        out.gas_used += result.gas_used
        out.blob_gas_used += result.blob_gas_used
        receipt = Receipt.make(tx.type, result.status == "success", out.gas_used, result.logs)
        out.receipts.append(receipt)
        out.bloom |= logs_bloom_int(result.logs)
        if rules.requests:
            for address, topics, data in result.logs:
                if address == deposit_contract and topics and topics[0] == DEPOSIT_EVENT_SIGNATURE:
                    deposits += _extract_deposit(data)

    for w in block.withdrawals or ():
        state.add_balance(w.address, w.amount * GWEI)

    if rules.requests:
        if deposits:
            out.requests.append(DEPOSIT_REQUEST_TYPE + deposits)
        for request_type, target in rules.request_calls:
            data = system_call(state, env, target, b"", backend, checked=True)
            if data:
                out.requests.append(request_type + data)
    return out


def check_output(block: Block, rules: ForkRules, out: BlockOutput) -> None:
    """The header's commitments against what executing the body gave (state root is checked by the caller)."""
    h = block.header
    if out.gas_used != h.gas_used:
        raise InvalidBlock("INVALID_GAS_USED", f"gas used {out.gas_used} != header {h.gas_used}")
    if rules.blob_schedule is not None and out.blob_gas_used != h.blob_gas_used:
        raise InvalidBlock("INCORRECT_BLOB_GAS_USED", f"blob gas used {out.blob_gas_used} != header {h.blob_gas_used}")
    root = out.receipts_root()
    if root != h.receipts_root:
        raise InvalidBlock("INVALID_RECEIPTS_ROOT", f"receipts root 0x{root.hex()} != header 0x{h.receipts_root.hex()}")
    if out.logs_bloom != h.logs_bloom:
        raise InvalidBlock("INVALID_LOG_BLOOM", "logs bloom differs from the header's")
    if rules.requests and out.requests_hash != h.requests_hash:
        raise InvalidBlock("INVALID_REQUESTS",
                           f"requests hash 0x{out.requests_hash.hex()} != header 0x{h.requests_hash.hex()}")


# ---------------------------------------------------------------------------------------------- the chain


@dataclass
class ImportResult:
    hash: bytes
    number: int
    gas_used: int
    tx_count: int
    seconds: float
    receipts: list[Receipt]
    requests: list[bytes] = field(default_factory=list)  # EIP-7685 `type || data`, as the Engine API hands them


class Chain:
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
            raise InvalidBlock("UNKNOWN_PARENT_ZERO" if header.parent_hash == b"\x00" * 32 else "UNKNOWN_PARENT",
                               f"parent 0x{header.parent_hash.hex()} of block {header.number} is not known")
        rules = validate_header(header, parent, self.config)
        validate_body(block, rules, encoded_size)

        db = self.db
        db.root = parent.state_root
        state = JournaledState(db)
        out = apply_body(block, rules, self.config, state, self._block_hash_fn(header.parent_hash, header.number),
                         self.backend)
        check_output(block, rules, out)

        block_hash = self._commit_block(state, db, parent, block, out.receipts, set_head, expect_root=True)
        return ImportResult(block_hash, header.number, out.gas_used, len(block.transactions),
                            time.perf_counter() - start, out.receipts, out.requests)

    def build_block(self, parent_hash: bytes, transactions: list, timestamp: int, coinbase: bytes = b"\x00" * 20,
                    withdrawals: list | None = None, parent_beacon_block_root: bytes = b"\x00" * 32,
                    prev_randao: bytes = b"\x00" * 32, extra_data: bytes = b"", gas_limit: int | None = None,
                    set_head: bool = True, base_fee: int | None = None, pre_state_root: bytes | None = None) -> Block:
        """Build a block on `parent_hash` from already-valid transactions (any invalid one raises InvalidBlock),
        fill in every header commitment, and write it like an imported block. For dev chains and tests:
        `base_fee` overrides EIP-1559's (anvil_setNextBlockBaseFeePerGas) and `pre_state_root` starts from
        a state other than the parent's (a dev node's head state edited by anvil_setBalance and the like)."""
        return self.build(parent_hash, transactions, timestamp, coinbase, withdrawals, parent_beacon_block_root,
                          prev_randao, extra_data, gas_limit, set_head=set_head, base_fee=base_fee,
                          pre_state_root=pre_state_root)[0]

    def build(self, parent_hash: bytes, transactions: list, timestamp: int, coinbase: bytes = b"\x00" * 20,
              withdrawals: list | None = None, parent_beacon_block_root: bytes = b"\x00" * 32,
              prev_randao: bytes = b"\x00" * 32, extra_data: bytes = b"", gas_limit: int | None = None,
              set_head: bool = True, base_fee: int | None = None, pre_state_root: bytes | None = None,
              write: bool = True) -> tuple[Block, BlockOutput]:
        """build_block, also returning the execution output (receipts, requests); with `write=False` nothing is
        written (the state root is computed in memory): a payload built for a consensus client is stored only
        when it comes back through newPayload."""
        parent = self.header(parent_hash)
        if parent is None:
            raise InvalidBlock("UNKNOWN_PARENT", f"parent 0x{parent_hash.hex()} is not known")
        number = parent.number + 1
        rules = block_rules(self.config, number, timestamp)
        gas_limit = parent.gas_limit if gas_limit is None else gas_limit
        header = Header(parent_hash=parent_hash, coinbase=coinbase, number=number, gas_limit=gas_limit,
                        timestamp=timestamp, extra_data=extra_data, mix_hash=prev_randao,
                        base_fee_per_gas=expected_base_fee(gas_limit, parent) if base_fee is None else base_fee)
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

    def _commit_block(self, state, db, parent: Header, block: Block, receipts: list[Receipt], set_head: bool,
                      expect_root: bool) -> bytes:
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
                raise InvalidBlock("INVALID_STATE_ROOT",
                                   f"state root 0x{root.hex()} != header 0x{header.state_root.hex()}")
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
        old_head_number = store.block_number(old_head) if old_head is not None else -1
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


def decode_block(raw: bytes) -> Block:
    """Block.decode with decoding errors as InvalidBlock."""
    try:
        return Block.decode(raw)
    except BlockDecodeError as exc:
        raise InvalidBlock(exc.code, str(exc)) from None
