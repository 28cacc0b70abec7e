"""Sealing blocks of the local chain from the pool's pending transactions, through the chain (client/chain/).

A post-Merge block as a beacon node would have one built: difficulty 0, nonce 0, a prevRandao derived from
the parent, no withdrawals, a zero parent beacon block root and the EIP-7685 requests hash; base fee
(EIP-1559) and excess blob gas (EIP-4844 / EIP-7918) follow from the parent as on mainnet. `Blockchain.build_block` runs the system calls, the transactions and the requests, fills in every commitment and
writes the state, the block, its receipts, its transaction lookups and the new head in one write batch.

Choosing the transactions: the pool's executable ones by effective tip (each sender's in nonce order) while
their gas limits (and blob gas) fit the block. If the chain refuses one (say the sender spent its balance in
an earlier transaction of the block), that transaction and the sender's later ones are dropped and the block
is built again without them; the pool's own checks make that rare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from common.keccak import keccak
from evm.blobs import GAS_PER_BLOB
from evm.transactions import Transaction

from ..blocks import Block, Receipt
from ..chain.blockchain import Blockchain
from ..chain.validation import InvalidBlock, block_rules, expected_base_fee, expected_excess_blob_gas
from ..genesis import ChainConfig
from ..header import Header

log = structlog.get_logger("miner")

EXTRA_DATA = b"evm-mlir"


def next_base_fee(config: ChainConfig, parent: Header) -> int:
    """EIP-1559 base fee of `parent`'s child (the node keeps the parent's gas limit)."""
    return expected_base_fee(parent.gas_limit, parent)


def next_excess_blob_gas_for(config: ChainConfig, parent: Header, number: int, timestamp: int) -> int:
    rules = block_rules(config, number, timestamp)
    if rules.blob_schedule is None:
        return 0
    return expected_excess_blob_gas(rules, parent)


def prev_randao(parent: Header) -> bytes:
    """No beacon chain here: a value derived from the parent, different every block, reproducible."""
    return keccak(b"prevrandao" + parent.hash)


@dataclass
class Mined:
    block: Block
    receipts: list[Receipt]
    dropped: list[tuple[Transaction, str]] = field(default_factory=list)


def select(candidates, gas_limit: int, max_blob_gas: int | None) -> list[Transaction]:
    """Transactions in inclusion order whose gas limits (and blob gas) fit the block; a sender whose
    transaction does not fit is skipped for the rest of the block (its later nonces would not follow)."""
    chosen: list[Transaction] = []
    gas = blob_gas = 0
    skipped: set[bytes] = set()
    for sender, tx in candidates:
        if sender in skipped:
            continue
        blobs = GAS_PER_BLOB * len(tx.blob_versioned_hashes) if tx.type == 3 else 0
        if gas + tx.gas > gas_limit or (blobs and (max_blob_gas is None or blob_gas + blobs > max_blob_gas)):
            skipped.add(sender)
            continue
        gas += tx.gas
        blob_gas += blobs
        chosen.append(tx)
    return chosen


@dataclass
class BlockSettings:
    """What a dev node may set for the next block (anvil_setCoinbase, evm_setBlockGasLimit,
    anvil_setNextBlockBaseFeePerGas) and the state it starts from (the head's, edited by anvil_setBalance
    and the like); None: as the parent gives it."""

    coinbase: bytes = b"\x00" * 20
    gas_limit: int | None = None
    base_fee: int | None = None
    pre_state_root: bytes | None = None


def build_dropping_invalid(
    blockchain: Blockchain, pool, parent_hash: bytes, txs: list[Transaction], timestamp: int, **build_args
) -> tuple[Block, Any, list[tuple[Transaction, str]]]:
    """`blockchain.build` on `txs`; a transaction the chain refuses is dropped from the block and the pool with
    the sender's later ones, and the block built again. Returns (block, execution output, dropped)."""
    dropped: list[tuple[Transaction, str]] = []
    while True:
        try:
            block, out = blockchain.build(parent_hash, txs, timestamp, **build_args)
            break
        except InvalidBlock as exc:
            if exc.tx_index is None:
                raise
            bad = txs[exc.tx_index]
            dropped.append((bad, exc.reason))
            sender = bad.recover_sender()
            txs = [t for t in txs if not (t.recover_sender() == sender and t.nonce >= bad.nonce)]
    for tx, reason in dropped:
        log.warning("transaction dropped", hash="0x" + tx.hash.hex(), reason=reason)
        pool.drop_sender_from(tx.recover_sender(), tx.nonce)
    return block, out, dropped


def mine(
    blockchain: Blockchain,
    pool,
    pool_state_factory: Callable[[], Any],
    timestamp: int | None = None,
    settings: BlockSettings | None = None,
) -> Mined:
    """Seal one block from the pool's pending transactions on top of the head; it becomes the new head."""
    store, config = blockchain.store, blockchain.config
    settings = settings or BlockSettings()
    parent = store.head_header()
    ts = max(int(time.time()) if timestamp is None else timestamp, parent.timestamp + 1)
    number = parent.number + 1
    schedule = block_rules(config, number, ts).blob_schedule
    gas_limit = parent.gas_limit if settings.gas_limit is None else settings.gas_limit
    base_fee = expected_base_fee(gas_limit, parent) if settings.base_fee is None else settings.base_fee
    started = time.perf_counter()
    # the pool keeps taking transactions while the block is built (they wait for the next one)
    txs = select(
        pool.ordered(pool_state_factory(), base_fee), gas_limit, schedule.max_blob_gas if schedule is not None else None
    )
    block, out, dropped = build_dropping_invalid(
        blockchain,
        pool,
        parent.hash,
        txs,
        ts,
        coinbase=settings.coinbase,
        prev_randao=prev_randao(parent),
        extra_data=EXTRA_DATA,
        gas_limit=gas_limit,
        base_fee=base_fee,
        pre_state_root=settings.pre_state_root,
    )
    with pool.lock:  # admissions see the pool without what the new head included
        for tx in block.transactions:
            pool.remove(tx.hash)
        pool.reset(pool_state_factory())
    h = block.header
    receipts = out.receipts
    log.info(
        "block mined",
        number=h.number,
        hash="0x" + h.hash.hex(),
        txs=len(block.transactions),
        gas_used=h.gas_used,
        base_fee=h.base_fee_per_gas,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return Mined(block, receipts, dropped)
