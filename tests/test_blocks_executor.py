"""The chain (client/chain/: validation, transition, blockchain): header rules, atomic writes, receipts, reorgs, build_block."""

from __future__ import annotations

import json
import os

import pytest

from client.blocks import Block, Receipt, ordered_trie_root
from client.blocktest import chain_for_fixture, run_test
from client.chain.validation import (
    InvalidBlock,
    check_gas_limit,
    decode_block,
    expected_base_fee,
    expected_excess_blob_gas,
    validate_header,
)
from client.forks import network_config, rules_for
from client.header import Header
from evm.blobs import GAS_PER_BLOB
from evm.spec import Fork
from tests.tools import make_chain

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures", "blockchain_tests")
ET = os.path.join(FIXTURES, "ethereum-tests", "BlockchainTests")


def _load(rel: str) -> dict:
    return next(iter(json.load(open(os.path.join(FIXTURES, rel))).values()))


# ------------------------------------------------------------------------------------------ header rules


def test_base_fee_follows_eip1559():
    parent = Header(gas_limit=30_000_000, gas_used=15_000_000, base_fee_per_gas=1_000_000_000)
    assert expected_base_fee(30_000_000, parent) == 1_000_000_000
    parent.gas_used = 30_000_000
    assert expected_base_fee(30_000_000, parent) == 1_125_000_000
    parent.gas_used = 0
    assert expected_base_fee(30_000_000, parent) == 875_000_000
    parent.base_fee_per_gas, parent.gas_used = 7, 15_000_001
    assert expected_base_fee(30_000_000, parent) == 8  # the increase is at least 1


def test_gas_limit_bounds():
    assert check_gas_limit(30_000_000, 30_000_000)
    delta = 30_000_000 // 1024
    assert check_gas_limit(30_000_000 + delta - 1, 30_000_000)
    assert not check_gas_limit(30_000_000 + delta, 30_000_000)
    assert not check_gas_limit(30_000_000 - delta, 30_000_000)
    assert not check_gas_limit(4999, 5000)


def test_excess_blob_gas_eip4844_and_eip7918():
    cancun = network_config("Cancun")
    osaka = network_config("Osaka")
    parent = Header(excess_blob_gas=0, blob_gas_used=6 * GAS_PER_BLOB, base_fee_per_gas=7)
    cancun, osaka = rules_for(cancun, Fork.CANCUN), rules_for(osaka, Fork.OSAKA)
    assert expected_excess_blob_gas(cancun, parent) == 3 * GAS_PER_BLOB
    assert expected_excess_blob_gas(osaka, parent) == 0  # below Osaka's target of 6
    parent = Header(excess_blob_gas=0, blob_gas_used=9 * GAS_PER_BLOB, base_fee_per_gas=10**9)
    # a base fee high enough that the reserve price binds: excess grows by used * (max - target) / max
    assert expected_excess_blob_gas(osaka, parent) == 9 * GAS_PER_BLOB * 3 // 9
    parent.base_fee_per_gas = 1
    assert expected_excess_blob_gas(osaka, parent) == 3 * GAS_PER_BLOB
    # a parent from before Cancun counts as zero
    assert expected_excess_blob_gas(cancun, Header(base_fee_per_gas=7)) == 0


def test_fork_by_timestamp_in_transitions():
    cfg = network_config("PragueToOsakaAtTime15k")
    assert cfg.fork_name(1, 14_999) == "Prague"
    assert cfg.fork_name(1, 15_000) == "Osaka"
    cfg = network_config("ShanghaiToCancunAtTime15k")
    assert cfg.fork_name(1, 0) == "Shanghai"


def test_header_rules_name_the_violation():
    fixture = _load("ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559/besuBaseFeeBug.json")
    chain = chain_for_fixture(fixture, "interpreter")
    block = decode_block(bytes.fromhex(fixture["blocks"][0]["rlp"][2:]))
    parent = chain.header(block.header.parent_hash)
    cases = {
        "INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT": {"timestamp": parent.timestamp},
        "INVALID_BLOCK_NUMBER": {"number": parent.number + 2},
        "EXTRA_DATA_TOO_BIG": {"extra_data": b"x" * 33},
        "IMPROPER_DIFFICULTY": {"difficulty": 1},
        "INVALID_NONCE": {"nonce": b"\x00" * 7 + b"\x01"},
        "INVALID_BASEFEE_PER_GAS": {"base_fee_per_gas": block.header.base_fee_per_gas + 1},
        "INVALID_GASLIMIT": {"gas_limit": parent.gas_limit * 2},
        "GAS_USED_OVERFLOW": {"gas_used": block.header.gas_limit + 1},
        "INCORRECT_BLOCK_FORMAT": {"parent_beacon_block_root": None},
        "IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS": {"ommers_hash": b"\x01" * 32},
    }
    validate_header(block.header, parent, chain.config)
    for code, change in cases.items():
        with pytest.raises(InvalidBlock) as exc:
            validate_header(block.header.copy(**change), parent, chain.config)
        assert exc.value.code == f"BlockException.{code}", code


# ------------------------------------------------------------------------------------------ import


def test_rejected_block_writes_nothing():
    fixture = _load("ethereum-tests/BlockchainTests/InvalidBlocks/bcInvalidHeaderTest/wrongStateRoot.json")
    chain = chain_for_fixture(fixture, "interpreter")
    before = dict(chain.store.kv.data)
    bad = fixture["blocks"][0]
    assert "expectException" in bad
    with pytest.raises(InvalidBlock) as exc:
        chain.import_block(decode_block(bytes.fromhex(bad["rlp"][2:])))
    assert exc.value.code == "BlockException.INVALID_STATE_ROOT"
    assert chain.store.kv.data == before
    # and the chain still imports a good block on the same parent afterwards (the fixture's expectation)
    ok, reason, _ = run_test(fixture, "interpreter")
    assert ok, reason


def test_invalid_transaction_rejects_the_block_with_its_code():
    fixture = _load("eest/blockchain_tests/cancun/eip4844_blobs/test_invalid_tx_blob_count.json")
    chain = chain_for_fixture(fixture, "interpreter")
    before = dict(chain.store.kv.data)
    b = fixture["blocks"][0]
    with pytest.raises(InvalidBlock) as exc:
        chain.import_block(decode_block(bytes.fromhex(b["rlp"][2:])))
    assert exc.value.code in b["expectException"].split("|")
    assert chain.store.kv.data == before


def test_receipts_and_tx_lookup_are_stored():
    fixture = _load(
        "ethereum-tests/BlockchainTests/ValidBlocks/bcEIP4844-blobtransactions/blockWithAllTransactionTypes.json"
    )
    chain = chain_for_fixture(fixture, "interpreter")
    for b in fixture["blocks"]:
        block = decode_block(bytes.fromhex(b["rlp"][2:]))
        result = chain.import_block(block)
        stored = chain.store.get_receipts(result.hash)
        assert ordered_trie_root(stored) == block.header.receipts_root
        assert [Receipt.decode(r).tx_type for r in stored] == [tx.type for tx in block.transactions]
        for i, tx in enumerate(block.transactions):
            assert chain.store.tx_lookup(tx.hash) == (result.hash, i)
        assert chain.store.canonical_hash(block.number) == result.hash
        assert chain.store.get_block_rlp(result.hash) == bytes.fromhex(b["rlp"][2:])


def test_side_chain_becomes_canonical():
    fixture = _load("ethereum-tests/BlockchainTests/InvalidBlocks/bcMultiChainTest/UncleFromSideChain.json")
    ok, reason, _ = run_test(fixture, "interpreter")
    assert ok, reason
    chain = chain_for_fixture(fixture, "interpreter")
    for b in fixture["blocks"]:
        try:
            chain.import_block(decode_block(bytes.fromhex(b["rlp"][2:])))
        except InvalidBlock:
            pass
    want = {
        int(b["blockHeader"]["number"], 16): b["blockHeader"]["hash"]
        for b in fixture["blocks"]
        if b.get("chainname") == "B" and "blockHeader" in b
    }
    for n, h in want.items():
        assert "0x" + chain.store.canonical_hash(n).hex() == h
    assert "0x" + chain.store.head_hash().hex() == fixture["lastblockhash"]


def test_built_blocks_import_elsewhere_and_blockhash_walks_parents():
    maker = make_chain.ChainMaker()
    blocks = maker.make(4, 10)
    other = make_chain.ChainMaker()  # same genesis, nothing built
    for raw in blocks:
        block = Block.decode(raw)
        assert block.encode() == raw
        r = other.chain.import_block(block)
        assert r.hash == block.hash
    assert other.store.head_hash() == maker.head
    fn = other.chain._block_hash_fn(maker.head, 5)
    assert fn(4) == maker.head
    assert fn(0) == maker.genesis_header.hash
    assert fn(5) is None and fn(-1) is None


def test_reorg_moves_canonical_index_and_tx_lookups():
    a, b = make_chain.ChainMaker(), make_chain.ChainMaker()
    blocks_a = [Block.decode(r) for r in a.make(4, 5)]  # deploy block, then 3 blocks of 5 txs
    blocks_b = [Block.decode(r) for r in b.make(3, 7)]  # same deploy block, then 2 blocks of 7 txs
    assert blocks_a[0].hash == blocks_b[0].hash and blocks_a[1].hash != blocks_b[1].hash
    c = make_chain.ChainMaker()
    for blk in blocks_a:
        c.chain.import_block(blk)
    store = c.store
    for blk in blocks_b[1:]:
        c.chain.import_block(blk)
    assert store.head_hash() == blocks_b[-1].hash
    for n, blk in enumerate(blocks_b, start=1):
        assert store.canonical_hash(n) == blk.hash
    assert store.canonical_hash(4) is None  # A was longer
    b_txs = {tx.hash: (blk.hash, i) for blk in blocks_b for i, tx in enumerate(blk.transactions)}
    for blk in blocks_a:
        for tx in blk.transactions:
            assert store.tx_lookup(tx.hash) == b_txs.get(tx.hash), "a tx only on the old chain keeps no lookup"
    for h, where in b_txs.items():
        assert store.tx_lookup(h) == where
    # and back to A when it grows again
    more = Block.decode(a.make(1, 5)[-1])
    c.chain.import_block(more)
    for n, blk in enumerate(blocks_a + [more], start=1):
        assert store.canonical_hash(n) == blk.hash
    for blk in blocks_a + [more]:
        for i, tx in enumerate(blk.transactions):
            assert store.tx_lookup(tx.hash) == (blk.hash, i)
    assert store.head_hash() == more.hash


def test_deposit_event_layout():
    from client.chain.transition import _extract_deposit

    fields = [b"\x01" * 48, b"\x02" * 32, b"\x03" * 8, b"\x04" * 96, b"\x05" * 8]
    head = b"".join(o.to_bytes(32, "big") for o in (160, 256, 320, 384, 512))
    body = b""
    for f in fields:
        body += len(f).to_bytes(32, "big") + f.ljust((len(f) + 31) // 32 * 32, b"\x00")
    data = head + body
    assert len(data) == 576
    assert _extract_deposit(data) == b"".join(fields)
    for bad in (
        data[:-1],
        data[:32] + (161).to_bytes(32, "big") + data[64:],
        data[:160] + (47).to_bytes(32, "big") + data[192:],
    ):
        with pytest.raises(InvalidBlock):
            _extract_deposit(bad)


def test_checked_system_call_without_code_rejects_the_block(tmp_path):
    genesis = json.load(open(make_chain.DEV_GENESIS))
    del genesis["alloc"]["0x00000961Ef480Eb55e80D19ad83579A64c007002"]  # the EIP-7002 predeploy
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(genesis))
    maker = make_chain.ChainMaker(str(path))
    before = dict(maker.store.kv.data)
    with pytest.raises(InvalidBlock) as exc:
        maker.make(1, 0)
    assert exc.value.code == "BlockException.SYSTEM_CONTRACT_EMPTY"
    assert maker.store.kv.data == before
