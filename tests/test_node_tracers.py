"""geth's tracers through the RPC methods (in process, chains in memory): callTracer (nested calls, a revert
with its reason, a static call, a create, logs with withLog, onlyTopCall), prestateTracer (and diffMode, checked
against the chain's own state before and after), 4byteTracer, noopTracer; debug_traceTransaction, debug_traceCall
and the block variants; the same results whichever backend the chain runs (tracing runs the interpreter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from client.chain.store import ChainStore
from client.genesis import parse_genesis
from client.node.node import Node
from client.rpc.api import Api
from client.rpc.server import Dispatcher
from state.kv import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
KEY0 = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ADDR0 = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
SENDER = "0x" + ADDR0.hex()
SOURCE = """
# pragma version ^0.4.0
event Ping:
    who: indexed(address)
    n: uint256

interface Self:
    def ping(n: uint256) -> uint256: nonpayable
    def peek() -> uint256: view

counter: public(uint256)

@external
def ping(n: uint256) -> uint256:
    self.counter += n
    log Ping(who=msg.sender, n=n)
    return n + 1

@external
@view
def peek() -> uint256:
    return self.counter

@external
def fail():
    log Ping(who=msg.sender, n=99)
    raise "nope"

@external
@payable
def outer(n: uint256) -> uint256:
    log Ping(who=msg.sender, n=0)
    r: uint256 = extcall Self(self).ping(n)
    ok: bool = raw_call(self, method_id("fail()"), revert_on_failure=False)
    v: uint256 = staticcall Self(self).peek()
    proxy: address = create_minimal_proxy_to(self)
    return r + v
"""
BACKENDS = ("interpreter", "mlir")


def sel(signature: str) -> str:
    return keccak(signature.encode())[:4].hex()


def word(n: int) -> str:
    return n.to_bytes(32, "big").hex()


@pytest.fixture(scope="module")
def bytecode():
    import vyper

    return vyper.compile_code(SOURCE, output_formats=["bytecode"])["bytecode"]


def _chain(backend: str, bytecode: str):
    """A chain with the contract deployed (block 1) and outer(5) called with 7 wei (block 2), at fixed times so
    every backend builds the same blocks."""
    genesis = parse_genesis(json.loads((ROOT / "genesis" / "dev.json").read_text()), "dev.json")
    store = ChainStore(MemoryStore())
    store.init_genesis(genesis, preimages=True)
    chain = Node(store, genesis.config, backend, {ADDR0: KEY0})
    api = Api(chain)
    d = Dispatcher(api.methods())
    t0 = chain.head().timestamp
    api.call("eth_sendTransaction", {"from": SENDER, "data": bytecode, "gas": hex(3_000_000)})
    chain.mine(t0 + 12)
    contract = api.call("eth_getTransactionReceipt", api.call("eth_getBlockByNumber", "0x1", False)["transactions"][0])[
        "contractAddress"
    ].lower()
    tx = api.call(
        "eth_sendTransaction",
        {
            "from": SENDER,
            "to": contract,
            "value": "0x7",
            "gas": hex(1_000_000),
            "data": "0x" + sel("outer(uint256)") + word(5),
        },
    )
    chain.mine(t0 + 24)
    return api, d, contract, tx


@pytest.fixture(scope="module")
def chains(bytecode):
    made = {b: _chain(b, bytecode) for b in BACKENDS}
    yield made
    for _, d, _, _ in made.values():
        d.shutdown()


def call(d: Dispatcher, method: str, *params):
    resp = d.call_one({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    assert "error" not in resp, resp
    return resp["result"]


def test_call_tracer_tree(chains):
    api, d, contract, tx = chains["interpreter"]
    receipt = api.call("eth_getTransactionReceipt", tx)
    top = call(d, "debug_traceTransaction", tx, {"tracer": "callTracer", "tracerConfig": {"withLog": True}})
    assert top["type"] == "CALL" and top["from"] == SENDER and top["to"] == contract
    assert top["value"] == "0x7" and top["gas"] == hex(1_000_000) and top["gasUsed"] == receipt["gasUsed"]
    assert top["input"] == "0x" + sel("outer(uint256)") + word(5)
    assert int(top["output"], 16) == 6 + 5  # ping(5) + 1, then the counter 5
    assert "error" not in top
    kinds = [c["type"] for c in top["calls"]]
    assert kinds == ["CALL", "CALL", "STATICCALL", "CREATE"]
    ping, fail, peek, create = top["calls"]
    assert ping["from"] == contract and ping["to"] == contract and ping["value"] == "0x0"
    assert ping["input"] == "0x" + sel("ping(uint256)") + word(5) and int(ping["output"], 16) == 6
    assert 0 < int(ping["gasUsed"], 16) < int(ping["gas"], 16) < 1_000_000
    assert ping["logs"][0]["address"] == contract and ping["logs"][0]["position"] == "0x0"
    assert fail["error"] == "execution reverted" and fail["revertReason"] == "nope"
    assert fail["output"].startswith("0x08c379a0")
    assert "logs" not in fail  # the reverted frame's log is dropped, as geth does
    assert "value" not in peek and int(peek["output"], 16) == 5
    assert create["from"] == contract and len(create["to"]) == 42 and create["value"] == "0x0"
    assert "363d3d373d3d3d363d73" + contract[2:] in create["input"]  # the EIP-1167 proxy's init code
    # the top frame's own log comes before its first call
    assert [lg["position"] for lg in top["logs"]] == ["0x0"]
    # without withLog no logs; onlyTopCall keeps the top frame only
    plain = call(d, "debug_traceTransaction", tx, {"tracer": "callTracer"})
    assert "logs" not in plain and "logs" not in plain["calls"][0]
    only = call(d, "debug_traceTransaction", tx, {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}})
    assert "calls" not in only and only["gasUsed"] == top["gasUsed"] and only["output"] == top["output"]


def test_call_tracer_on_a_call_and_a_revert(chains):
    api, d, contract, _ = chains["interpreter"]
    res = call(
        d,
        "debug_traceCall",
        {"from": SENDER, "to": contract, "data": "0x" + sel("fail()")},
        "latest",
        {"tracer": "callTracer"},
    )
    assert res["error"] == "execution reverted" and res["revertReason"] == "nope" and res["type"] == "CALL"
    created = call(
        d,
        "debug_traceCall",
        {"from": SENDER, "data": "0x600a600c600039600a6000f3" + "00" * 10},
        "latest",
        {"tracer": "callTracer"},
    )
    assert created["type"] == "CREATE" and len(created["to"]) == 42


def test_prestate_tracer_against_the_chain(chains):
    api, d, contract, tx = chains["interpreter"]
    pre = call(d, "debug_traceTransaction", tx, {"tracer": "prestateTracer"})
    assert SENDER in pre and contract in pre
    # every account as it was at block 1 (before the transaction of block 2)
    for address, acc in pre.items():
        assert int(acc["balance"], 16) == int(api.call("eth_getBalance", address, "0x1"), 16)
        assert acc.get("nonce", 0) == int(api.call("eth_getTransactionCount", address, "0x1"), 16)
        assert acc.get("code", "0x") == api.call("eth_getCode", address, "0x1")
        for slot, value in acc.get("storage", {}).items():
            assert value == api.call("eth_getStorageAt", address, slot, "0x1")
    assert "0x" + "00" * 32 in pre[contract]["storage"]  # the counter was read
    diff = call(d, "debug_traceTransaction", tx, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}})
    post = diff["post"]
    assert post[SENDER]["nonce"] == pre[SENDER].get("nonce", 0) + 1
    assert int(post[SENDER]["balance"], 16) == int(api.call("eth_getBalance", SENDER, "0x2"), 16)
    assert post[contract]["storage"] == {"0x" + "00" * 32: "0x" + word(5)}
    assert int(post[contract]["balance"], 16) == 7
    proxies = [a for a in post if a not in diff["pre"]]  # created: in post only
    assert len(proxies) == 1 and post[proxies[0]]["code"].startswith("0x363d3d37")
    assert set(diff["pre"]) <= set(pre)


def test_4byte_and_noop(chains):
    _, d, contract, tx = chains["interpreter"]
    assert call(d, "debug_traceTransaction", tx, {"tracer": "4byteTracer"}) == {
        f"0x{sel('outer(uint256)')}-32": 1,
        f"0x{sel('ping(uint256)')}-32": 1,
        f"0x{sel('fail()')}-0": 1,
        f"0x{sel('peek()')}-0": 1,
    }
    assert call(d, "debug_traceTransaction", tx, {"tracer": "noopTracer"}) == {}


def test_block_variants_and_unknown_tracers(chains):
    api, d, _, tx = chains["interpreter"]
    block = api.call("eth_getBlockByNumber", "0x2", False)
    for method, arg in (("debug_traceBlockByNumber", "0x2"), ("debug_traceBlockByHash", block["hash"])):
        out = call(d, method, arg, {"tracer": "callTracer"})
        assert out == [{"txHash": tx, "result": call(d, "debug_traceTransaction", tx, {"tracer": "callTracer"})}]
    for bad in (
        {"tracer": "jsTracer"},
        {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": "yes"}},
        {"tracer": "prestateTracer", "tracerConfig": []},
    ):
        resp = d.call_one({"jsonrpc": "2.0", "id": 1, "method": "debug_traceTransaction", "params": [tx, bad]})
        assert resp["error"]["code"] == -32602


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"tracer": "callTracer", "tracerConfig": {"withLog": True}},
        {"tracer": "prestateTracer"},
        {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}},
        {"tracer": "4byteTracer"},
    ],
)
def test_every_backend_gives_the_same_traces(chains, options):
    results = []
    for backend in BACKENDS:
        api, d, contract, tx = chains[backend]
        results.append(
            (
                call(d, "debug_traceBlockByNumber", "0x2", options),
                call(
                    d,
                    "debug_traceCall",
                    {"from": SENDER, "to": contract, "data": "0x" + sel("outer(uint256)") + word(2)},
                    "latest",
                    options,
                ),
            )
        )
    assert all(r == results[0] for r in results[1:])
