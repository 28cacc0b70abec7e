"""Building and sealing blocks of the local chain from the pool's pending transactions.

A post-Merge block as a beacon node would have it built: difficulty 0, nonce 0, prevRandao derived from the
parent, no withdrawals, a zero parent beacon block root, the EIP-7685 requests hash; base fee (EIP-1559) and
excess blob gas (EIP-4844 / EIP-7918) computed from the parent as on mainnet. The block's state changes, the
block, its receipts, its transaction lookups and the new head go into LevelDB in one write batch.

Receipts and transaction lookups are stored here (storage.md's free prefixes `r` and `t`):
  r + block hash -> RLP list of the receipts' encodings
  t + tx hash    -> block hash (32 bytes) + index (8 bytes big-endian)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import rlp
import structlog
from eth_hash.auto import keccak

from evm.blobs import GAS_PER_BLOB, BlobSchedule, blob_base_fee, next_excess_blob_gas
from evm.message import Env, Message
from evm.processor import BlockContext, InvalidTransaction, TxResult, process_transaction
from evm.spec import Fork
from evm.transactions import Transaction
from state.db import StateDB
from state.journal import JournaledState
from state.trie import enc_bytes, enc_list

from .blocks import Block, Receipt, compute_requests_hash, ordered_trie_root
from .chainstore import ChainStore
from .genesis import ChainConfig
from .header import EMPTY_OMMERS_HASH, EMPTY_TRIE_ROOT, ZERO_HASH, Header

log = structlog.get_logger("miner")

RECEIPTS_PREFIX = b"r"
TX_LOOKUP_PREFIX = b"t"

ELASTICITY_MULTIPLIER = 2
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8

SYSTEM_ADDRESS = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffe")
SYSTEM_CALL_GAS = 30_000_000
BEACON_ROOTS_ADDRESS = bytes.fromhex("000F3df6D732807Ef1319fB7B8bB8522d0Beac02")
HISTORY_STORAGE_ADDRESS = bytes.fromhex("0000F90827F1C53a10cb7A02335B175320002935")
WITHDRAWAL_REQUEST_ADDRESS = bytes.fromhex("00000961Ef480Eb55e80D19ad83579A64c007002")
CONSOLIDATION_REQUEST_ADDRESS = bytes.fromhex("0000BBdDc7CE488642fb579F8B00f3a590007251")
DEPOSIT_EVENT_TOPIC = bytes.fromhex("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5")
EXTRA_DATA = b"evm-mlir"


class MiningError(Exception):
    pass


# -- stored receipts and lookups ----------------------------------------------------------------------------

def write_receipts(batch, block_hash: bytes, receipts: list[Receipt]) -> None:
    batch.put(RECEIPTS_PREFIX + block_hash, enc_list(b"".join(enc_bytes(r.encode()) for r in receipts)))


def read_receipts(kv, block_hash: bytes) -> list[Receipt] | None:
    data = kv.get(RECEIPTS_PREFIX + block_hash)
    if data is None:
        return None
    return [Receipt.decode(item) for item in rlp.decode(data)]


def write_tx_lookup(batch, tx_hash: bytes, block_hash: bytes, index: int) -> None:
    batch.put(TX_LOOKUP_PREFIX + tx_hash, block_hash + index.to_bytes(8, "big"))


def read_tx_lookup(kv, tx_hash: bytes) -> tuple[bytes, int] | None:
    data = kv.get(TX_LOOKUP_PREFIX + tx_hash)
    if data is None or len(data) != 40:
        return None
    return data[:32], int.from_bytes(data[32:], "big")


# -- fee evolution ------------------------------------------------------------------------------------------

def _fork(config: ChainConfig, number: int, timestamp: int) -> Fork:
    return Fork.from_name(config.fork_name(number, timestamp))


def _schedule(config: ChainConfig, number: int, timestamp: int) -> BlobSchedule | None:
    p = config.blob_params(timestamp, number)
    return BlobSchedule(p["target"], p["max"], p["baseFeeUpdateFraction"]) if p else None


def next_base_fee(config: ChainConfig, parent: Header) -> int:
    """EIP-1559 base fee of `parent`'s child (the gas limit stays the parent's)."""
    if parent.base_fee_per_gas is None:
        return 1_000_000_000
    base = parent.base_fee_per_gas
    target = parent.gas_limit // ELASTICITY_MULTIPLIER
    used = parent.gas_used
    if used == target or target == 0:
        return base
    if used > target:
        return base + max(1, base * (used - target) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR)
    return max(0, base - base * (target - used) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR)


def next_excess_blob_gas_for(config: ChainConfig, parent: Header, number: int, timestamp: int) -> int:
    fork = _fork(config, number, timestamp)
    schedule = _schedule(config, number, timestamp)
    if schedule is None or fork < Fork.CANCUN:
        return 0
    return next_excess_blob_gas(fork, schedule, parent.excess_blob_gas or 0, parent.blob_gas_used or 0,
                                parent.base_fee_per_gas or 0)


# -- system calls (EIP-4788, EIP-2935, EIP-7002, EIP-7251) --------------------------------------------------

def system_call(state: JournaledState, env: Env, target: bytes, data: bytes, backend: str) -> bytes | None:
    """Run a system contract as the SYSTEM_ADDRESS (execution-specs' process_system_transaction); None if
    the contract has no code."""
    from evm import execute

    code = state.get_code(target)
    if not code:
        return None
    state.begin_transaction()
    env.origin = SYSTEM_ADDRESS
    env.gas_price = 0
    env.blob_hashes = ()
    message = Message(caller=SYSTEM_ADDRESS, target=target, value=0, data=data, gas=SYSTEM_CALL_GAS, code=code,
                      code_address=target)
    result = execute(message, state, env, backend)
    state.finalize_transaction()
    if result.status != "success":
        raise MiningError(f"system call to 0x{target.hex()} failed: {result.status} {result.error or ''}")
    return result.output


def pre_block_calls(state: JournaledState, env: Env, header: Header, backend: str) -> None:
    if env.fork >= Fork.CANCUN and header.parent_beacon_block_root is not None:
        system_call(state, env, BEACON_ROOTS_ADDRESS, header.parent_beacon_block_root, backend)
    if env.fork >= Fork.PRAGUE and header.number > 0:
        system_call(state, env, HISTORY_STORAGE_ADDRESS, header.parent_hash, backend)


def _deposit_requests(logs: list, deposit_contract: bytes | None) -> bytes:
    """EIP-6110: the requests data of the deposit contract's DepositEvent logs."""
    if deposit_contract is None:
        return b""
    out = b""
    for address, topics, data in logs:
        if address != deposit_contract or not topics or topics[0] != DEPOSIT_EVENT_TOPIC or len(data) != 576:
            continue

        def field_at(offset_pos: int, size: int) -> bytes:
            off = int.from_bytes(data[offset_pos:offset_pos + 32], "big")
            return data[off + 32:off + 32 + size]

        out += field_at(0, 48) + field_at(32, 32) + field_at(64, 8) + field_at(96, 96) + field_at(128, 8)
    return out


def post_block_requests(state: JournaledState, env: Env, logs: list, config: ChainConfig, backend: str) -> list[bytes]:
    deposits = _deposit_requests(logs, config.deposit_contract_address)
    withdrawals = system_call(state, env, WITHDRAWAL_REQUEST_ADDRESS, b"", backend)
    consolidations = system_call(state, env, CONSOLIDATION_REQUEST_ADDRESS, b"", backend)
    requests = []
    for kind, payload in ((0, deposits), (1, withdrawals or b""), (2, consolidations or b"")):
        if payload:
            requests.append(bytes([kind]) + payload)
    return requests


# -- building -----------------------------------------------------------------------------------------------

@dataclass
class BuiltBlock:
    block: Block
    receipts: list[Receipt]
    results: list[TxResult] = field(default_factory=list)
    dropped: list[tuple[Transaction, str]] = field(default_factory=list)


def block_env(config: ChainConfig, header: Header, block_hash: Callable[[int], bytes | None]) -> Env:
    fork = _fork(config, header.number, header.timestamp)
    schedule = _schedule(config, header.number, header.timestamp)
    excess = header.excess_blob_gas or 0
    return Env(fork=fork, chain_id=config.chain_id, coinbase=header.coinbase, number=header.number,
               timestamp=header.timestamp, gas_limit=header.gas_limit, prev_randao=header.mix_hash,
               base_fee=header.base_fee_per_gas or 0, excess_blob_gas=excess,
               blob_base_fee=blob_base_fee(excess, schedule) if schedule else 1, block_hash=block_hash)


def header_template(config: ChainConfig, parent: Header, timestamp: int | None = None,
                    coinbase: bytes = b"\x00" * 20) -> Header:
    """The new block's header before execution (roots, gas used and bloom are filled in by `build_block`)."""
    ts = max(int(time.time()) if timestamp is None else timestamp, parent.timestamp + 1)
    number = parent.number + 1
    fork = _fork(config, number, ts)
    h = Header(parent_hash=parent.hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=coinbase, difficulty=0,
               number=number, gas_limit=parent.gas_limit, timestamp=ts, extra_data=EXTRA_DATA,
               mix_hash=keccak(b"prevrandao" + parent.hash), nonce=b"\x00" * 8,
               base_fee_per_gas=next_base_fee(config, parent))
    if fork >= Fork.SHANGHAI:
        h.withdrawals_root = EMPTY_TRIE_ROOT
    if fork >= Fork.CANCUN:
        h.blob_gas_used = 0
        h.excess_blob_gas = next_excess_blob_gas_for(config, parent, number, ts)
        h.parent_beacon_block_root = ZERO_HASH
    return h


def build_block(store: ChainStore, config: ChainConfig, parent: Header, candidates, backend: str,
                timestamp: int | None = None, batch=None) -> BuiltBlock:
    """Execute `candidates` (an iterator of (sender, tx) in inclusion order) on top of `parent` and seal the
    block. With `batch`, the state, block, receipts, lookups and head are written into it."""
    header = header_template(config, parent, timestamp)
    fork = _fork(config, header.number, header.timestamp)
    schedule = _schedule(config, header.number, header.timestamp)

    def block_hash(n: int) -> bytes | None:
        if n < 0 or n >= header.number or n < header.number - 256:
            return None
        return parent.hash if n == parent.number else store.canonical_hash(n)

    env = block_env(config, header, block_hash)
    state = JournaledState(StateDB(store.kv, parent.state_root))
    pre_block_calls(state, env, header, backend)

    ctx = BlockContext(env, schedule)
    txs: list[Transaction] = []
    receipts: list[Receipt] = []
    results: list[TxResult] = []
    dropped: list[tuple[Transaction, str]] = []
    all_logs: list = []
    skipped: set[bytes] = set()
    for sender, tx in candidates:
        if sender in skipped:
            continue
        if tx.gas > env.gas_limit - ctx.gas_used:
            skipped.add(sender)  # waits for a later block
            continue
        blob_gas = GAS_PER_BLOB * len(tx.blob_versioned_hashes) if tx.type == 3 else 0
        if blob_gas and schedule is not None and blob_gas > schedule.max_blob_gas - ctx.blob_gas_used:
            skipped.add(sender)
            continue
        try:
            result = process_transaction(tx, state, ctx, backend)
        except InvalidTransaction as exc:
            dropped.append((tx, str(exc)))
            skipped.add(sender)
            continue
        ctx.gas_used += result.gas_used
        ctx.blob_gas_used += result.blob_gas_used
        txs.append(tx)
        results.append(result)
        receipts.append(Receipt.make(tx.type, result.status == "success", ctx.gas_used, result.logs))
        all_logs.extend(result.logs)

    requests = post_block_requests(state, env, all_logs, config, backend) if fork >= Fork.PRAGUE else None

    block = Block(header, txs, [], [] if fork >= Fork.SHANGHAI else None)
    header.gas_used = ctx.gas_used
    header.transactions_root = block.transactions_root()
    header.receipts_root = ordered_trie_root([r.encode() for r in receipts])
    bloom = 0
    for r in receipts:
        bloom |= int.from_bytes(r.bloom, "big")
    header.logs_bloom = bloom.to_bytes(256, "big")
    if fork >= Fork.CANCUN:
        header.blob_gas_used = ctx.blob_gas_used
    if requests is not None:
        header.requests_hash = compute_requests_hash(requests)
    header.state_root = state.commit(batch) if batch is not None else state.state_root()
    if batch is not None:
        h = store.put_block(batch, header, block.body_rlp())
        write_receipts(batch, h, receipts)
        for i, tx in enumerate(txs):
            write_tx_lookup(batch, tx.hash, h, i)
        store.set_head(batch, h)
    return BuiltBlock(block, receipts, results, dropped)


def mine(store: ChainStore, config: ChainConfig, pool, backend: str, timestamp: int | None = None,
         pool_state_factory: Callable[[], Any] | None = None) -> BuiltBlock:
    """Seal one block from the pool's pending transactions onto the head and make it the new head."""
    parent = store.head_header()
    base_fee = next_base_fee(config, parent)
    state_view = pool_state_factory() if pool_state_factory else None
    candidates = list(pool.ordered(state_view, base_fee)) if state_view is not None else []
    started = time.perf_counter()
    with store.kv.write_batch() as batch:
        built = build_block(store, config, parent, iter(candidates), backend, timestamp, batch)
    for tx, reason in built.dropped:
        log.warning("transaction dropped", hash="0x" + tx.hash.hex(), reason=reason)
        pool.remove(tx.hash)
        pool.drop_sender_from(tx.sender, tx.nonce)
    for tx in built.block.transactions:
        pool.remove(tx.hash)
    if pool_state_factory is not None:
        pool.reset(pool_state_factory())
    h = built.block.header
    log.info("block mined", number=h.number, hash="0x" + h.hash.hex(), txs=len(built.block.transactions),
             gas_used=h.gas_used, base_fee=h.base_fee_per_gas, ms=round((time.perf_counter() - started) * 1000, 1))
    return built
