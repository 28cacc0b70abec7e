"""Blockchain-test runner: execution-spec-tests `blockchain_tests` and ethereum/tests `BlockchainTests` fixtures.

Each test starts from its `pre` state and genesis block in a fresh in-memory chain store, then imports every
block's `rlp` through `client.chain.blockchain.Blockchain`: a valid block must import (and hash to the fixture's header
hash); one with `expectException` must be rejected, and the chain goes on from its parent. At the end the
head must be `lastblockhash` and the head state must equal `postState` (or have root `postStateHash`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from state.db import StateDB, alloc_from_fixture, state_root_of_alloc
from state.kv import MemoryStore

from .chain.blockchain import Blockchain
from .chain.store import CONFIG_KEY, GENESIS_KEY, ChainStore
from .chain.validation import InvalidBlock, decode_block
from .fixtures import CaseResult, fixture_config, hex_bytes, run_case, select_fixtures


def iter_cases(files: list[Path], substring: str | None) -> Iterator[tuple[Path, str, dict]]:
    return select_fixtures(files, substring, ("blocks", "genesisRLP"), "blockchain test")


def chain_for_fixture(fixture: dict, backend: str, config=None) -> Blockchain:
    """A fresh in-memory chain holding the fixture's pre state and genesis block."""
    config = config or fixture_config(fixture)
    genesis = decode_block(hex_bytes(fixture["genesisRLP"]))
    store = ChainStore(MemoryStore())
    with store.kv.write_batch() as batch:
        root = StateDB(store.kv).commit_alloc(alloc_from_fixture(fixture["pre"]), batch)
        if root != genesis.header.state_root:
            raise AssertionError(
                f"pre state root 0x{root.hex()} != genesis header's 0x{genesis.header.state_root.hex()}"
            )
        h = store.put_block(batch, genesis.header, genesis.body_rlp())
        store.set_head(batch, h)
        batch.put(GENESIS_KEY, h)
        batch.put(CONFIG_KEY, json.dumps(config.raw, sort_keys=True).encode())
    want = fixture.get("genesisBlockHeader", {}).get("hash")
    if want and hex_bytes(want) != h:
        raise AssertionError(f"genesis hash 0x{h.hex()} != fixture's {want}")
    return Blockchain(store, config, backend)


def run_test(fixture: dict, backend: str, config=None) -> tuple[bool, str, dict]:
    blockchain = chain_for_fixture(fixture, backend, config)
    stats = {"blocks": 0, "rejected": 0, "gas": 0, "txs": 0}
    for i, b in enumerate(fixture["blocks"]):
        expected = b.get("expectException")
        raw = hex_bytes(b["rlp"])
        try:
            block = decode_block(raw)
            result = blockchain.import_block(block, len(raw))
        except InvalidBlock as exc:
            if expected:
                stats["rejected"] += 1
                continue
            return False, f"block #{i} rejected: {exc.code}: {exc}", stats
        if expected:
            return False, f"block #{i} (number {block.number}) imported but {expected} was expected", stats
        stats["blocks"] += 1
        stats["gas"] += result.gas_used
        stats["txs"] += result.tx_count
        want = (b.get("blockHeader") or {}).get("hash")
        if want and hex_bytes(want) != result.hash:
            return False, f"block #{i} hash 0x{result.hash.hex()} != fixture's {want}", stats
    head = blockchain.head()
    head_hash = head.hash
    if head_hash != hex_bytes(fixture["lastblockhash"]):
        return (
            False,
            f"head 0x{head_hash.hex()} (number {head.number}) != lastblockhash {fixture['lastblockhash']}",
            stats,
        )
    reason = post_state_mismatch(blockchain.store.kv, fixture, head.state_root)
    return not reason, reason, stats


def post_state_mismatch(kv, fixture: dict, state_root: bytes) -> str:
    """'' when the state at `state_root` is the fixture's `postState` (or has root `postStateHash`), else what
    differs."""
    if "postStateHash" in fixture and "postState" not in fixture:
        if state_root != hex_bytes(fixture["postStateHash"]):
            return f"state root 0x{state_root.hex()} != postStateHash {fixture['postStateHash']}"
        return ""
    post = alloc_from_fixture(fixture["postState"])
    if state_root_of_alloc(post) == state_root:
        return ""
    diff = StateDB(kv, state_root).diff_alloc(post)
    shown = "; ".join(diff[:5]) + (f"; ... {len(diff) - 5} more" if len(diff) > 5 else "")
    return f"post state differs: {shown or 'root mismatch'}"


def run_one(path: Path, name: str, fixture: dict, backend: str) -> CaseResult:
    return run_case(path, name, fixture, backend, lambda config: run_test(fixture, backend, config))


def crashed(path: Path, name: str, fixture: dict, reason: str) -> CaseResult:
    """The result of a test whose worker process died each time it ran it (a run over Ray)."""
    return CaseResult(name, str(path), fixture.get("network", "?"), "failed", reason)
