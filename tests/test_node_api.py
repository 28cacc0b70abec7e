"""The RPC methods and the dispatcher in-process, on a chain in memory (no HTTP, no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.chain.store import ChainStore
from client.genesis import parse_genesis
from client.header import Header
from client.node.node import Node
from client.rpc.api import Api
from client.rpc.errors import RpcError
from client.rpc.server import Dispatcher
from evm.transactions import Transaction
from state.kv import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
KEY0 = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ADDR0 = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")


@pytest.fixture()
def api():
    genesis = parse_genesis(json.loads((ROOT / "genesis" / "dev.json").read_text()), "dev.json")
    store = ChainStore(MemoryStore())
    store.init_genesis(genesis)
    return Api(Node(store, genesis.config, "interpreter", {ADDR0: KEY0}))


def test_state_of_a_block_whose_trie_is_gone_is_reported(api):
    chain = api.node
    head = chain.head()
    orphan = Header(
        parent_hash=head.hash,
        number=1,
        state_root=b"\x42" * 32,
        gas_limit=head.gas_limit,
        timestamp=head.timestamp + 1,
        base_fee_per_gas=head.base_fee_per_gas,
    )
    with chain.kv.write_batch() as batch:
        chain.store.put_block(batch, orphan, b"\xc0")  # canonical block 1 with a state root never written
    with pytest.raises(RpcError) as exc:
        api.call("eth_getBalance", "0x" + ADDR0.hex(), "0x1")
    assert exc.value.code == -32000
    assert exc.value.message == f"state of block 1 (root 0x{'42' * 32}) is not available"
    assert int(api.call("eth_getBalance", "0x" + ADDR0.hex(), "0x0"), 16) == 10_000 * 10**18


def test_dispatch_mine_and_query_in_process(api):
    d = Dispatcher(api.methods())
    try:
        tx = Transaction(
            type=2,
            chain_id=1337,
            nonce=0,
            max_priority_fee_per_gas=10**9,
            max_fee_per_gas=10**10,
            gas=21000,
            to=b"\x01" * 20,
            value=7,
        ).sign(KEY0)
        out = d.handle(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + tx.encode().hex()]},
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "eth_getTransactionCount",
                    "params": ["0x" + ADDR0.hex(), "pending"],
                },
                {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance"},
                {"jsonrpc": "2.0", "id": 4, "method": "nope_nope", "params": []},
            ]
        )
        assert out[0]["result"] == "0x" + tx.hash.hex()
        assert out[1]["result"] == "0x1"
        assert out[2]["error"] == {"code": -32602, "message": "missing value for required argument 0"}
        assert out[3]["error"]["code"] == -32601
        mined = api.node.mine()
        assert [t.hash for t in mined.block.transactions] == [tx.hash]
        assert api.call("eth_getBalance", "0x" + "01" * 20) == hex(7)
        receipt = api.call("eth_getTransactionReceipt", "0x" + tx.hash.hex())
        assert receipt["status"] == "0x1" and receipt["blockNumber"] == "0x1"
        assert d.handle({"jsonrpc": "2.0", "method": "eth_chainId"}) is None  # notification
        assert d.handle([])["error"]["code"] == -32600
        assert d.handle({"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"})["error"]["code"] == -32600
    finally:
        d.shutdown()


def test_miner_drops_a_transaction_the_executor_refuses(api):
    """A transaction that became invalid after admission (here: one slipped past the pool's balance check) is
    dropped with the sender's later ones, and the block is sealed with the rest."""
    from coincurve import PrivateKey
    from eth_hash.auto import keccak

    pool = api.node.pool
    poor_key = b"\x07" * 32
    poor = keccak(PrivateKey(poor_key).public_key.format(compressed=False)[1:])[12:]
    bad = [
        Transaction(
            type=2,
            chain_id=1337,
            nonce=n,
            max_priority_fee_per_gas=10**9,
            max_fee_per_gas=10**10,
            gas=21000,
            to=b"\x02" * 20,
            value=1,
        ).sign(poor_key)
        for n in (0, 1)
    ]
    for t in bad:  # not through pool.add: the poor sender could not pass its checks
        pool.by_sender.setdefault(poor, {})[t.nonce] = t
        pool.by_hash[t.hash] = t
    good = Transaction(
        type=2,
        chain_id=1337,
        nonce=0,
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=10**10,
        gas=21000,
        to=b"\x01" * 20,
        value=7,
    ).sign(KEY0)
    api.node.submit(good)
    mined = api.node.mine()
    assert [t.hash for t in mined.block.transactions] == [good.hash]
    assert [t.hash for t, _ in mined.dropped] == [bad[0].hash]
    assert "insufficient funds" in mined.dropped[0][1]
    assert len(pool) == 0
