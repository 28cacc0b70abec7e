"""Malformed JSON-RPC, property-tested with hypothesis.

In-process (the dispatcher and every method on a chain in memory): random params of random types and counts for
every method, and structured-but-wrong transaction objects, filters, overrides, raw transactions. Each answer is a
JSON-RPC response with a result or an error of the right code; never -32603 (an internal error is an exception of
ours that escaped the method) and always serialisable as strict JSON.

Over HTTP (a real `evm-mlir node`): random bytes and random JSON bodies, huge numbers, NaN, deep nesting, invalid
UTF-8, wrong content types, oversize bodies and batches: always an HTTP answer (a JSON-RPC error object with the
right code; 413/415 for size and content type, as geth), never a 500 or a dropped connection, and the node keeps
answering.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.chain.store import ChainStore
from client.genesis import parse_genesis
from client.node.node import Node
from client.rpc.api import Api
from client.rpc.server import Dispatcher, _arity, parse_body
from evm.transactions import Transaction
from state.kv import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
KEY0 = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ADDR0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
N = int(os.environ.get("HYP_N", 0))  # HYP_N=3000: more examples, not derandomized, to hunt


def _settings(n: int):
    return settings(
        max_examples=N or n,
        deadline=None,
        derandomize=not N,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


def _make_api() -> tuple[Api, Dispatcher, dict]:
    genesis = parse_genesis(json.loads((ROOT / "genesis" / "dev.json").read_text()), "dev.json")
    store = ChainStore(MemoryStore())
    store.init_genesis(genesis)
    api = Api(Node(store, genesis.config, "interpreter", {bytes.fromhex(ADDR0[2:]): KEY0}))
    d = Dispatcher(api.methods())
    # a block with a transaction and a log-emitting contract, so lookups find something
    deploy = bytes.fromhex("6a6000600060006000a0600052600b6015f3")  # runtime: PUSH0 x4... LOG0-ish (any code)
    tx = Transaction(
        type=2,
        chain_id=1337,
        nonce=0,
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=10**10,
        gas=100_000,
        to=None,
        data=deploy,
    ).sign(KEY0)
    api.call("eth_sendRawTransaction", "0x" + tx.encode().hex())
    mined = api.node.mine()
    known = {"block": "0x" + mined.block.hash.hex(), "tx": "0x" + tx.hash.hex()}
    return api, d, known


API, DISPATCHER, KNOWN = _make_api()
METHODS = sorted(API.methods())

# -- strategies ------------------------------------------------------------------------------------------------

_hexes = st.sampled_from(
    [
        "0x",
        "0x0",
        "0x00",
        "0x1",
        "0x01",
        "0xzz",
        "1",
        "-1",
        "0x-1",
        "0x+1",
        "0x1_0",
        "0x 1",
        " 0x1",
        "0X1",
        "0x1 ",
        "0x" + "f" * 16,
        "0x" + "f" * 17,
        "0x" + "f" * 64,
        "0x" + "f" * 65,
        "0x" + "f" * 2000,
        "0x" + "ab" * 20,
        "0x" + "ab" * 32,
        "0x" + "ab" * 21,
        "0x" + "ab" * 19 + "a",
        ADDR0,
        "latest",
        "pending",
        "earliest",
        "safe",
        "finalized",
        "Latest",
        KNOWN["block"],
        KNOWN["tx"],
        "0x" + "00" * 32,
        "\u0661",
        "0x\u0661",
        "0x\x00",
    ]
)
_scalars = st.one_of(
    _hexes,
    st.none(),
    st.booleans(),
    st.integers(-(2**300), 2**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
_KEYS = [
    "from",
    "to",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "value",
    "data",
    "input",
    "nonce",
    "accessList",
    "authorizationList",
    "blobVersionedHashes",
    "type",
    "maxFeePerBlobGas",
    "chainId",
    "address",
    "topics",
    "fromBlock",
    "toBlock",
    "blockHash",
    "blockNumber",
    "storageKeys",
    "yParity",
    "r",
    "s",
    "balance",
    "code",
    "state",
    "stateDiff",
    "tracer",
    "disableStack",
    "enableMemory",
    "enableReturnData",
    "x",
]
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=10,
)


def _check_response(resp, id_=1) -> None:
    assert isinstance(resp, dict) and resp["jsonrpc"] == "2.0" and resp["id"] == id_
    json.dumps(resp, allow_nan=False)  # strict JSON: what every client can parse
    if "error" in resp:
        err = resp["error"]
        assert err["code"] in (-32602, -32000, 3, -32601), err
        assert isinstance(err["message"], str) and err["message"]
    else:
        assert "result" in resp


def _call(method: str, params) -> dict:
    resp = DISPATCHER.call_one({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    _check_response(resp)
    return resp


@_settings(400)
@given(st.sampled_from(METHODS), st.lists(json_values, max_size=5))
def test_every_method_random_params(method, params):
    _call(method, params)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_wrong_counts(method):
    required, most = _arity(API.methods()[method])
    if required:
        assert _call(method, [None] * (required - 1))["error"]["code"] == -32602
    if most is not None:
        assert _call(method, ["0x1"] * (most + 1))["error"]["code"] == -32602
    for v in (None, True, 1, -1, 2**256, 1.5, "", "0x", "0xzz", [], {}, [[[]]], {"a": {"b": {}}}):
        _call(method, [v] * max(required, 1))


_tx_values = st.one_of(
    json_values,
    st.sampled_from(
        [
            "0x0",
            "0x1",
            "0x5208",
            "0x2",
            "0x3",
            "0x4",
            "0x7f",
            "0x" + "f" * 64,
            "0x" + "ff" * 70,
            "0x60006000f3",
            [],
            [{"address": "0x" + "11" * 20, "storageKeys": ["0x" + "00" * 32]}],
            [
                {
                    "chainId": "0x539",
                    "address": "0x" + "11" * 20,
                    "nonce": "0x0",
                    "yParity": "0x1",
                    "r": "0x1",
                    "s": "0x1",
                }
            ],
        ]
    ),
)
tx_objects = st.fixed_dictionaries(
    {
        "from": st.sampled_from([ADDR0, "0x" + "22" * 20]),
        "to": st.sampled_from([None, "0x" + "11" * 20, "0x" + "00" * 19 + "01", "0x" + "00" * 19 + "0a"]),
    },
    optional={
        k: _tx_values
        for k in (
            "gas",
            "gasPrice",
            "maxFeePerGas",
            "maxPriorityFeePerGas",
            "value",
            "data",
            "input",
            "nonce",
            "accessList",
            "authorizationList",
            "blobVersionedHashes",
            "type",
            "maxFeePerBlobGas",
            "chainId",
        )
    },
)
overrides = st.dictionaries(
    st.sampled_from(["0x" + "11" * 20, ADDR0, "0x12", "x"]),
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {}, optional={k: json_values | st.just("0x1") for k in ("balance", "nonce", "code", "state", "stateDiff")}
        ),
    ),
    max_size=2,
)
filters = st.fixed_dictionaries(
    {}, optional={k: json_values for k in ("address", "topics", "fromBlock", "toBlock", "blockHash")}
)


@_settings(150)
@given(
    st.sampled_from(["eth_call", "eth_estimateGas", "eth_createAccessList", "debug_traceCall", "eth_sendTransaction"]),
    tx_objects,
    st.sampled_from(["latest", "0x0", "0x1", None]),
    overrides | json_values,
)
def test_transaction_objects(method, tx, block, extra):
    params = {"eth_sendTransaction": [tx], "eth_createAccessList": [tx, block]}.get(method, [tx, block, extra])
    _call(method, params)


@_settings(100)
@given(st.sampled_from(["eth_getLogs", "eth_newFilter"]), filters)
def test_filters(method, flt):
    _call(method, [flt])


_SIGNED = [
    Transaction(
        type=t,
        chain_id=1337,
        nonce=50 + t,
        gas=50_000,
        to=b"\x11" * 20,
        value=1,
        gas_price=10**10 if t < 2 else 0,
        max_fee_per_gas=10**10,
        max_priority_fee_per_gas=1,
    )
    .sign(KEY0)
    .encode()
    for t in (0, 1, 2)
]


@_settings(150)
@given(
    st.sampled_from(_SIGNED),
    st.lists(
        st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.integers(0, 10**6), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_raw_transactions(raw, edits):
    data = bytearray(raw)
    for op, pos, byte in edits:
        pos %= max(len(data), 1)
        if op == "flip" and data:
            data[pos] = byte
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = bytes([byte])
    _call("eth_sendRawTransaction", ["0x" + bytes(data).hex()])


# bugs these tests found (each was a -32603 internal error, or worse), fixed in client/rpc/
def test_regressions():
    # "0x-1" parsed as -1 by int(s, 16): OverflowError in block lookups; signs, "_" and spaces are not hex
    for bad in ("0x-1", "0x+1", "0x1_0", "0x 1", "0x\u0661"):
        assert _call("eth_getBlockByNumber", [bad, False])["error"]["code"] == -32602
        assert _call("eth_getStorageAt", [ADDR0, bad, "latest"])["error"]["code"] == -32602
    assert _call("web3_sha3", ["0x01 02"])["error"]["code"] == -32602
    # a state override whose state/stateDiff is not an object: AttributeError
    for v in ("0x1", [1]):
        r = _call("eth_call", [{"to": "0x" + "11" * 20}, "latest", {"0x" + "11" * 20: {"stateDiff": v}}])
        assert r["error"]["code"] == -32602
    # blobVersionedHashes not an array: TypeError
    for v in (1, 1.5, True):
        assert _call("eth_estimateGas", [{"from": ADDR0, "blobVersionedHashes": v}])["error"]["code"] == -32602
    # an unknown transaction type in eth_sendTransaction: ValueError while signing
    r = _call("eth_sendTransaction", [{"from": ADDR0, "to": "0x" + "11" * 20, "type": "0x7f", "gas": "0x5208"}])
    assert r["error"]["code"] == -32602
    # evm_mine with a timestamp beyond uint64 sealed a block no other client could decode
    head = API.node.head()
    for v in (2**64, 10**300, -1):
        assert _call("evm_mine", [v])["error"]["code"] == -32602
    assert API.node.head() == head


def test_strict_json_bodies():
    for text in (b"NaN", b'{"id": NaN}', b"[Infinity]", b"1e400", b"-1e400", b"9" * 5000, b"[" * 100_000):
        with pytest.raises((ValueError, RecursionError)):
            parse_body(text)
    assert parse_body(b'{"a": 1.5, "b": 10000000000000000000000}') == {"a": 1.5, "b": 10**22}


def test_deep_nesting_with_a_raised_recursion_limit():
    """py_ecc and web3 raise the recursion limit to 100,000 on import; CPython's JSON decoder then recursed until
    the C stack overflowed: a segfault, for a 100 KB body or genesis file. Now refused before decoding."""
    import subprocess
    import sys

    code = (
        "import sys; sys.setrecursionlimit(100000)\n"
        "from client.rpc.server import parse_body\n"
        "from client.genesis import load_genesis\n"
        "from client.errors import UserError\n"
        "try:\n    parse_body(b'[' * 200000)\nexcept ValueError:\n    print('rpc ok')\n"
        "open(sys.argv[1], 'wb').write(b'{\"a\":' * 200000)\n"
        "try:\n    load_genesis(sys.argv[1])\nexcept UserError as e:\n    print('genesis ok', e)\n"
    )
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run(
            [sys.executable, "-c", code, os.path.join(d, "g.json")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.splitlines()[0] == "rpc ok" and "nested too deeply" in p.stdout.splitlines()[1]


# -- over HTTP, against the real node --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node():
    from test_node_rpc import NodeProcess

    tmp = tempfile.mkdtemp(prefix="evm-mlir-rpcfuzz-")
    n = NodeProcess(os.path.join(tmp, "data"), ["--evm", "interpreter", "--max-request-size", str(1024 * 1024)])
    n.start()
    yield n
    assert n.proc.poll() is None, "the node died"
    n.stop()
    log = Path(tmp, "node.log").read_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert "Traceback" not in log, log[-3000:]


class Http:
    """One keep-alive connection, reopened only if the server closes it (which the test then notices)."""

    def __init__(self, url: str) -> None:
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, body: bytes, content_type: str | None = "application/json") -> tuple[int, bytes]:
        headers = {"Content-Type": content_type} if content_type else {}
        self.conn.request("POST", "/", body=body, headers=headers)
        r = self.conn.getresponse()
        return r.status, r.read()


def _rpc_answer(status: int, data: bytes):
    assert status == 200, (status, data[:200])
    if not data:
        return None  # notifications only
    doc = json.loads(data, parse_constant=lambda c: pytest.fail(f"{c} in the answer"))
    for resp in doc if isinstance(doc, list) else [doc]:
        assert resp["jsonrpc"] == "2.0" and ("result" in resp or "error" in resp)
        if "error" in resp:
            assert resp["error"]["code"] != -32603, resp
    return doc


def _alive(h: Http) -> None:
    status, data = h.post(b'{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}')
    assert status == 200 and json.loads(data) == {"jsonrpc": "2.0", "id": 7, "result": "0x539"}


BODIES = {
    "empty": (b"", -32700),
    "garbage": (b"\x00\x01\x02garbage", -32700),
    "invalid UTF-8": (b'{"jsonrpc":"2.0","id":1,"method":"eth_\xff\xfe"}', -32700),
    "invalid UTF-8 in a string": (b'{"jsonrpc":"2.0","id":"\xc3\x28","method":"eth_chainId"}', -32700),
    "truncated": (b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"', -32700),
    "5000-digit param": (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[' + b"9" * 5000 + b"]}", -32700),
    "5000-digit id": (b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"eth_chainId"}', -32700),
    "NaN id": (b'{"jsonrpc":"2.0","id":NaN,"method":"eth_chainId"}', -32700),
    "1e400 id": (b'{"jsonrpc":"2.0","id":1e400,"method":"eth_chainId"}', -32700),
    "deep array": (b"[" * 100_000 + b"]" * 100_000, -32700),
    "deep object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, -32700),
    "deep params": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[' + b"[" * 400 + b"]" * 400 + b"]}",
        -32602,
    ),
    "params nested 600 deep": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[' + b"[" * 600 + b"]" * 600 + b"]}",
        -32700,
    ),
    "null": (b"null", -32600),
    "number": (b"5", -32600),
    "string": (b'"x"', -32600),
    "no jsonrpc": (b'{"id":1,"method":"eth_chainId"}', -32600),
    "method not a string": (b'{"jsonrpc":"2.0","id":1,"method":5}', -32600),
    "object id": (b'{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}', -32600),
    "params an object": (b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}', -32602),
    "params a string": (b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":"x"}', -32600),
    "unknown method": (b'{"jsonrpc":"2.0","id":1,"method":"eth_nope","params":[]}', -32601),
    "empty batch": (b"[]", -32600),
    "batch of 1001": (
        json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)]).encode(),
        -32600,
    ),
    "huge quantity": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x' + b"f" * 4000 + b'",false]}',
        -32602,
    ),
}


def test_http_bodies(node):
    h = Http(node.url)
    for name, (body, code) in BODIES.items():
        doc = _rpc_answer(*h.post(body))
        assert doc["error"]["code"] == code, (name, doc)
        _alive(h)
    # a batch of junk: one error per item
    doc = _rpc_answer(*h.post(b'[1,"a",null,[],{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}]'))
    assert [r.get("error", {}).get("code") for r in doc] == [-32600, -32600, -32600, -32600, None]
    # notifications only: an empty answer
    assert h.post(b'[{"jsonrpc":"2.0","method":"eth_chainId"}]') == (200, b"")
    # other encodings of JSON are decoded as Go's would not, but answered properly
    _rpc_answer(*h.post('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'.encode("utf-16")))
    _alive(h)


def test_http_content_types_and_sizes(node):
    h = Http(node.url)
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
    for ct in ("text/plain", None, "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "json"):
        status, data = h.post(body, ct)
        assert status == 415, (ct, status)
        _alive(h)
    for ct in ("application/json; charset=utf-8", "application/json-rpc", "application/jsonrequest"):
        assert _rpc_answer(*h.post(body, ct))["result"] == "0x539"
    status, _ = Http(node.url).post(b"[" + b" " * (1024 * 1024 + 10) + b"]")  # over --max-request-size
    assert status == 413
    _alive(h)
    # just under the limit: parsed and answered
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": ["0x" + "ab" * 500_000]}).encode()
    assert _rpc_answer(*h.post(big))["result"].startswith("0x")


@settings(
    max_examples=N or 120,
    deadline=None,
    derandomize=not N,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.tuples(st.sampled_from(METHODS), st.lists(json_values, max_size=4), json_values).map(
            lambda t: json.dumps({"jsonrpc": "2.0", "id": t[2], "method": t[0], "params": t[1]}).encode()
        ),
        st.lists(st.tuples(st.sampled_from(METHODS), st.lists(json_values, max_size=3)), min_size=1, max_size=5).map(
            lambda items: json.dumps(
                [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(items)]
            ).encode()
        ),
    )
)
def test_http_random_bodies(node, body):
    if b"evm_mine" in body:
        return  # sealing blocks at random timestamps is fine but slow; evm_mine is covered in-process
    h = getattr(test_http_random_bodies, "conn", None) or Http(node.url)
    test_http_random_bodies.conn = h
    _rpc_answer(*h.post(body))
