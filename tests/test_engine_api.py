"""The Engine API driven as a consensus client drives it: over HTTP, with JWT bearer tokens (tests/engine_driver.py).

A loop of forkchoiceUpdated with payload attributes, getPayload, newPayload and forkchoiceUpdated to the new
head; a reorg to a side chain and back; invalid payloads; the spec's error codes for wrong method versions and
bad forkchoice states; JWT checks (no request without a valid token touches anything); blob bundles checked
with the KZG library (ckzg)."""

from __future__ import annotations

import time

import jwt
import pytest
from engine_driver import KEY0, SECRET, ZERO32, BackgroundEngineServer, EngineNode, attributes, dev_genesis, forkchoice
from eth_account import Account
from eth_utils import to_checksum_address

from client.header import Header

ALICE = Account.from_key(KEY0)


@pytest.fixture(scope="module")
def server():
    srv = BackgroundEngineServer()
    yield srv
    srv.close()


@pytest.fixture()
def node(server):
    n = EngineNode(dev_genesis(), server)
    yield n
    n.close()


def _transfer(node: EngineNode, nonce: int, to: str, value: int) -> str:
    tx = {
        "type": 2,
        "chainId": 1337,
        "nonce": nonce,
        "to": to_checksum_address(to),
        "value": value,
        "gas": 21000,
        "maxFeePerGas": 20 * 10**9,
        "maxPriorityFeePerGas": 2 * 10**9,
    }
    raw = ALICE.sign_transaction(tx).raw_transaction
    return node.ok("eth_sendRawTransaction", "0x" + bytes(raw).hex())


def _propose(node: EngineNode, parent: dict, **attrs) -> dict:
    """forkchoiceUpdated(parent, attributes) then getPayloadV5: the payload response."""
    ts = int(parent["timestamp"], 16) + 12
    r = node.ok("engine_forkchoiceUpdatedV3", forkchoice(parent["hash"]), attributes(ts, **attrs))
    assert r["payloadStatus"]["status"] == "VALID" and r["payloadId"] is not None
    return node.ok("engine_getPayloadV5", r["payloadId"])


def _import(node: EngineNode, built: dict, beacon_root: str = "0x" + "be" * 32) -> dict:
    p = built["executionPayload"]
    return node.ok("engine_newPayloadV4", p, [], beacon_root, built["executionRequests"])


def _block(payload: dict) -> dict:
    """The block-shaped view (hash, number, timestamp) _propose needs of a payload."""
    return {"hash": payload["blockHash"], "number": payload["blockNumber"], "timestamp": payload["timestamp"]}


def test_consensus_client_loop(node):
    """Ten slots: build, fetch, import and make head, with safe and finalized trailing; transactions and
    withdrawals land in the blocks; the eth API sees the heads, safe and finalized blocks."""
    bob = "0x" + "b0" * 20
    head = node.head()
    hashes = [head["hash"]]
    for slot in range(10):
        sent = [_transfer(node, slot * 2 + k, bob, 1000 + k) for k in range(2)]
        withdrawals = [{"index": hex(slot), "validatorIndex": hex(7), "address": "0x" + "77" * 20, "amount": hex(5)}]
        built = _propose(node, head, withdrawals=withdrawals, randao="0x" + f"{slot:064x}")
        p = built["executionPayload"]
        assert int(p["blockNumber"], 16) == slot + 1 and p["parentHash"] == head["hash"]
        assert [t for t in p["transactions"]] and len(p["transactions"]) == 2
        assert p["withdrawals"] == withdrawals and p["prevRandao"] == "0x" + f"{slot:064x}"
        assert int(built["blockValue"], 16) == 2 * 21000 * 2 * 10**9  # each transaction's tip, whole
        assert built["blobsBundle"] == {"commitments": [], "proofs": [], "blobs": []}
        assert built["shouldOverrideBuilder"] is False and built["executionRequests"] == []
        # not in the chain until the consensus client sends it back
        assert node.call("eth_getBlockByHash", p["blockHash"], False)["result"] is None
        status = _import(node, built)
        assert status == {"status": "VALID", "latestValidHash": p["blockHash"], "validationError": None}
        assert node.head()["hash"] == head["hash"]  # newPayload does not move the head
        hashes.append(p["blockHash"])
        safe, finalized = hashes[max(0, len(hashes) - 3)], hashes[max(0, len(hashes) - 5)]
        r = node.ok("engine_forkchoiceUpdatedV3", forkchoice(p["blockHash"], safe, finalized), None)
        assert r == {
            "payloadStatus": {"status": "VALID", "latestValidHash": p["blockHash"], "validationError": None},
            "payloadId": None,
        }
        head = node.head()
        assert head["hash"] == p["blockHash"]
        for h in sent:
            assert node.ok("eth_getTransactionReceipt", h)["blockHash"] == p["blockHash"]
    assert node.ok("eth_getBlockByNumber", "safe", False)["hash"] == hashes[-3]
    assert node.ok("eth_getBlockByNumber", "finalized", False)["hash"] == hashes[-5]
    assert int(node.ok("eth_getBalance", bob, "latest"), 16) == 10 * 2001
    assert int(node.ok("eth_getBalance", "0x" + "77" * 20, "latest"), 16) == 10 * 5 * 10**9  # gwei -> wei
    # bodies by hash (unknown -> null) and by range (trailing blocks past the head left out)
    bodies = node.ok("engine_getPayloadBodiesByHashV1", [hashes[3], "0x" + "ab" * 32])
    assert len(bodies[0]["transactions"]) == 2 and bodies[0]["withdrawals"][0]["index"] == "0x2"
    assert bodies[1] is None
    assert len(node.ok("engine_getPayloadBodiesByRangeV1", "0x8", "0x10")) == 3  # blocks 8, 9, 10
    # the same attributes on the same parent: the same build process
    ts = int(head["timestamp"], 16) + 12
    a = node.ok("engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(ts))["payloadId"]
    b = node.ok("engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(ts))["payloadId"]
    c = node.ok("engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(ts + 1))["payloadId"]
    assert a == b != c


def test_reorg_to_a_side_chain_and_back(node):
    """Two payloads on the same parent; the chain follows one, then forkchoiceUpdated switches to the other's
    chain (a reorg), then back. The state of the non-canonical chain stays reachable by block hash."""
    carol, dave = "0x" + "c0" * 20, "0x" + "d0" * 20
    genesis = node.head()
    _transfer(node, 0, carol, 111)
    a1 = _propose(node, genesis, fee_recipient="0x" + "a1" * 20)
    # the same slot with other attributes: a competing block, built from the same pool
    b1 = _propose(node, genesis, fee_recipient="0x" + "b1" * 20, randao="0x" + "22" * 32)
    assert a1["executionPayload"]["blockHash"] != b1["executionPayload"]["blockHash"]
    for built in (a1, b1):
        assert _import(node, built)["status"] == "VALID"
    a1p = a1["executionPayload"]
    node.ok("engine_forkchoiceUpdatedV3", forkchoice(a1p["blockHash"]), None)
    _transfer(node, 1, carol, 222)
    a2 = _propose(node, _block(a1p))
    assert _import(node, a2)["status"] == "VALID"
    a2p = a2["executionPayload"]
    node.ok("engine_forkchoiceUpdatedV3", forkchoice(a2p["blockHash"]), None)
    assert int(node.ok("eth_getBalance", carol, "latest"), 16) == 333
    # side chain: B1 (holds the first transfer too), then B2 with a transaction paying dave
    b1p = b1["executionPayload"]
    bob_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # dev account 1
    r = node.ok(
        "engine_forkchoiceUpdatedV3",
        forkchoice(b1p["blockHash"]),
        attributes(int(b1p["timestamp"], 16) + 12, fee_recipient="0x" + "b2" * 20),
    )
    assert r["payloadStatus"] == {"status": "VALID", "latestValidHash": b1p["blockHash"], "validationError": None}
    assert node.head()["hash"] == b1p["blockHash"]  # the reorg happened: B1 is the head
    assert int(node.ok("eth_getBalance", carol, "latest"), 16) == 111
    raw = (
        Account.from_key(bob_key)
        .sign_transaction(
            {
                "type": 2,
                "chainId": 1337,
                "nonce": 0,
                "to": to_checksum_address(dave),
                "value": 5,
                "gas": 21000,
                "maxFeePerGas": 20 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        .raw_transaction
    )
    node.ok("eth_sendRawTransaction", "0x" + bytes(raw).hex())
    b2 = node.ok("engine_getPayloadV5", r["payloadId"])  # rebuilt: a transaction arrived since
    b2p = b2["executionPayload"]
    # A2's transfer left the canonical chain with it and went back to the pool: B2 holds it and the new one
    assert len(b2p["transactions"]) == 2
    assert _import(node, b2)["status"] == "VALID"
    node.ok("engine_forkchoiceUpdatedV3", forkchoice(b2p["blockHash"]), None)
    assert node.head()["hash"] == b2p["blockHash"]
    assert int(node.ok("eth_getBalance", dave, "latest"), 16) == 5
    assert int(node.ok("eth_getBalance", carol, "latest"), 16) == 333
    assert node.ok("eth_getBlockByNumber", "0x1", False)["hash"] == b1p["blockHash"]
    # the abandoned chain's state is still there, by block hash (EIP-1898)
    assert int(node.ok("eth_getBalance", carol, {"blockHash": a2p["blockHash"]}), 16) == 333
    # and back: A2 is head again, block 1 is A1 again, dave got nothing on this chain
    node.ok("engine_forkchoiceUpdatedV3", forkchoice(a2p["blockHash"], a1p["blockHash"], genesis["hash"]), None)
    assert node.head()["hash"] == a2p["blockHash"]
    assert node.ok("eth_getBlockByNumber", "0x1", False)["hash"] == a1p["blockHash"]
    assert int(node.ok("eth_getBalance", carol, "latest"), 16) == 333
    assert int(node.ok("eth_getBalance", dave, "latest"), 16) == 0
    assert node.ok("eth_getBlockByNumber", "safe", False)["hash"] == a1p["blockHash"]
    # forkchoice to an ancestor of the head: the head stays (the spec lets it) and nothing is built
    r = node.ok("engine_forkchoiceUpdatedV3", forkchoice(a1p["blockHash"]), attributes(int(a1p["timestamp"], 16) + 1))
    assert r["payloadStatus"]["status"] == "VALID" and r["payloadId"] is None
    assert node.head()["hash"] == a2p["blockHash"]
    # a finalized block off the head's chain: -38002, and nothing moves
    out = node.call("engine_forkchoiceUpdatedV3", forkchoice(a2p["blockHash"], ZERO32, b1p["blockHash"]), None)
    assert out["error"]["code"] == -38002 and out["error"]["message"] == "Invalid forkchoice state"


def _rehash(payload: dict, beacon_root: bytes, **changes) -> dict:
    """The payload with fields changed and a block hash that matches them (so only execution can refuse it)."""
    from client.blocks import compute_requests_hash
    from client.engine.payload import parse_payload

    p = dict(payload, **changes)
    header: Header = parse_payload(p).header(beacon_root, [])
    assert compute_requests_hash([]) == header.requests_hash
    return dict(p, blockHash="0x" + header.hash.hex())


def test_invalid_payloads(node):
    genesis = node.head()
    root = bytes.fromhex("be" * 32)
    built = _propose(node, genesis)
    good = built["executionPayload"]
    # a wrong state root with a block hash to match: INVALID after execution, the parent is the latest valid
    bad = _rehash(good, root, stateRoot="0x" + "66" * 32)
    s = node.ok("engine_newPayloadV4", bad, [], "0x" + root.hex(), [])
    assert s["status"] == "INVALID" and s["latestValidHash"] == genesis["hash"]
    assert s["validationError"].startswith("BlockException.INVALID_STATE_ROOT")
    assert node.ok("engine_newPayloadV4", bad, [], "0x" + root.hex(), []) == s  # the verdict stays
    # its child: INVALID without executing, the same latest valid hash
    child = _rehash(
        good, root, parentHash=bad["blockHash"], blockNumber="0x2", timestamp=hex(int(good["timestamp"], 16) + 12)
    )
    s2 = node.ok("engine_newPayloadV4", child, [], "0x" + root.hex(), [])
    assert s2["status"] == "INVALID" and s2["latestValidHash"] == genesis["hash"]
    # forkchoiceUpdated to the invalid block: INVALID, the head stays
    r = node.ok("engine_forkchoiceUpdatedV3", forkchoice(bad["blockHash"]), None)
    assert r["payloadStatus"]["status"] == "INVALID" and r["payloadId"] is None
    assert node.head()["hash"] == genesis["hash"]
    # a block hash that does not match the fields: INVALID, no latest valid hash
    s = node.ok("engine_newPayloadV4", dict(good, gasUsed="0x1"), [], "0x" + root.hex(), [])
    assert s["status"] == "INVALID" and s["latestValidHash"] is None and "blockhash mismatch" in s["validationError"]
    # the wrong parent beacon block root changes the block hash too
    s = node.ok("engine_newPayloadV4", good, [], "0x" + "00" * 32, [])
    assert s["status"] == "INVALID" and "blockhash mismatch" in s["validationError"]
    # expected blob versioned hashes that the transactions do not carry
    s = node.ok("engine_newPayloadV4", good, ["0x01" + "00" * 31], "0x" + root.hex(), [])
    assert s["status"] == "INVALID" and s["latestValidHash"] is None
    # an unknown parent: SYNCING (no peers to fetch it from); forkchoice to an unknown head: SYNCING
    orphan = _rehash(good, root, parentHash="0x" + "99" * 32)
    assert node.ok("engine_newPayloadV4", orphan, [], "0x" + root.hex(), [])["status"] == "SYNCING"
    r = node.ok("engine_forkchoiceUpdatedV3", forkchoice("0x" + "98" * 32), None)
    assert r == {
        "payloadStatus": {"status": "SYNCING", "latestValidHash": None, "validationError": None},
        "payloadId": None,
    }
    # the good payload is still VALID after all that
    assert _import(node, built)["status"] == "VALID"


def test_error_codes_of_method_versions_and_params(node):
    """Osaka chain: the versions that do not serve Osaka answer -38005; wrong structures -32602; unknown
    payload -38001; attributes not after the head -38003; too many bodies or blobs -38004."""
    genesis = node.head()
    built = _propose(node, genesis)
    p = built["executionPayload"]
    root = "0x" + "be" * 32
    pid = node.ok(
        "engine_forkchoiceUpdatedV3", forkchoice(genesis["hash"]), attributes(int(genesis["timestamp"], 16) + 12)
    )["payloadId"]

    def code(method, *params):
        out = node.call(method, *params)
        assert "error" in out, f"{method} answered {out['result']}"
        return out["error"]["code"]

    assert code("engine_newPayloadV3", p, [], root) == -38005  # Cancun's method, Osaka payload
    assert code("engine_newPayloadV2", p) == -38005
    v1 = {k: v for k, v in p.items() if k not in ("withdrawals", "blobGasUsed", "excessBlobGas")}
    assert code("engine_newPayloadV1", v1) == -38005
    assert code("engine_newPayloadV1", p) == -32602  # V1 has no withdrawals field
    assert code("engine_newPayloadV4", p, [], root) == -32602  # executionRequests missing
    assert code("engine_newPayloadV4", p, [], None, []) == -32602  # parentBeaconBlockRoot null
    assert code("engine_newPayloadV4", {k: v for k, v in p.items() if k != "excessBlobGas"}, [], root, []) == -32602
    assert code("engine_newPayloadV4", p, [], root, ["0x01aa", "0x00bb"]) == -32602  # requests out of order
    assert code("engine_newPayloadV4", p, [], root, ["0x00"]) == -32602  # empty request data
    assert code("engine_newPayloadV4", dict(p, blockNumber="1"), [], root, []) == -32602  # not hex
    assert code("engine_getPayloadV4", pid) == -38005  # Prague's getPayload, Osaka payload
    assert code("engine_getPayloadV3", pid) == -38005
    assert code("engine_getPayloadV5", "0x0102030405060708") == -38001
    assert code("engine_getPayloadV5", "0x0102") == -32602
    ts = int(genesis["timestamp"], 16) + 12
    assert (
        code(
            "engine_forkchoiceUpdatedV2",
            forkchoice(genesis["hash"]),
            {k: v for k, v in attributes(ts).items() if k != "parentBeaconBlockRoot"},
        )
        == -38005
    )
    no_root = {k: v for k, v in attributes(ts).items() if k != "parentBeaconBlockRoot"}
    assert code("engine_forkchoiceUpdatedV3", forkchoice(genesis["hash"]), no_root) == -32602
    assert code("engine_forkchoiceUpdatedV3", {"headBlockHash": genesis["hash"]}, None) == -32602
    assert (
        code("engine_forkchoiceUpdatedV3", forkchoice(genesis["hash"]), attributes(int(genesis["timestamp"], 16)))
        == -38003
    )
    assert code("engine_getPayloadBodiesByRangeV1", "0x1", hex(2000)) == -38004
    assert code("engine_getPayloadBodiesByRangeV1", "0x0", "0x1") == -32602
    assert code("engine_getPayloadBodiesByHashV1", [ZERO32] * 1025) == -38004
    assert code("engine_getBlobsV2", ["0x01" + "00" * 31] * 129) == -38004
    assert code("engine_exchangeCapabilities", "engine_newPayloadV4") == -32602
    assert code("engine_newPayloadV9", p) == -32601
    # the right versions work: V4 takes the Osaka payload
    assert _import(node, built)["status"] == "VALID"
    caps = node.ok("engine_exchangeCapabilities", ["engine_newPayloadV4", "engine_getPayloadV5"])
    assert {
        "engine_newPayloadV4",
        "engine_forkchoiceUpdatedV3",
        "engine_getPayloadV5",
        "engine_getBlobsV2",
        "engine_getPayloadBodiesByRangeV1",
        "engine_getClientVersionV1",
    } <= set(caps)
    assert "engine_exchangeCapabilities" not in caps
    (mine,) = node.ok(
        "engine_getClientVersionV1", {"code": "LH", "name": "Lighthouse", "version": "v8", "commit": "0x12345678"}
    )
    assert mine["name"] == "evm-mlir" and len(mine["code"]) == 2 and len(mine["commit"]) == 10


def test_cancun_methods_on_a_cancun_chain(server):
    """Prague scheduled later: Cancun payloads go through V3, and V4 refuses them; at Prague it turns."""
    genesis = dev_genesis(pragueTime=10**10, osakaTime=2 * 10**10)
    node = EngineNode(genesis, server)
    try:
        head = node.head()
        ts = int(head["timestamp"], 16) + 12
        pid = node.ok("engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(ts))["payloadId"]
        assert node.call("engine_getPayloadV4", pid)["error"]["code"] == -38005
        built = node.ok("engine_getPayloadV3", pid)
        assert "executionRequests" not in built
        p = built["executionPayload"]
        assert node.call("engine_newPayloadV4", p, [], "0x" + "be" * 32, [])["error"]["code"] == -38005
        assert node.ok("engine_newPayloadV3", p, [], "0x" + "be" * 32)["status"] == "VALID"
        node.ok("engine_forkchoiceUpdatedV3", forkchoice(p["blockHash"]), None)
        # attributes at the Prague time: Prague payload, served by V4 only
        pid = node.ok("engine_forkchoiceUpdatedV3", forkchoice(p["blockHash"]), attributes(10**10))["payloadId"]
        assert node.call("engine_getPayloadV3", pid)["error"]["code"] == -38005
        assert node.ok("engine_getPayloadV4", pid)["executionPayload"]["timestamp"] == hex(10**10)
    finally:
        node.close()


def _token(**claims) -> str:
    return jwt.encode({"iat": int(time.time()), **claims}, SECRET, algorithm="HS256")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 token, refused anyway
def test_jwt_authentication(node):
    """Without a valid HS256 token (iat within 60 s) the answer is 401 and nothing is done."""
    genesis = node.head()
    built = _propose(node, genesis)
    fcu = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "engine_newPayloadV4",
        "params": [built["executionPayload"], [], "0x" + "be" * 32, []],
    }
    now = int(time.time())
    refused = {
        "no token": "",
        "other secret": jwt.encode({"iat": now}, b"\x01" * 32, algorithm="HS256"),
        "iat 2 minutes ago": jwt.encode({"iat": now - 120}, SECRET, algorithm="HS256"),
        "iat 2 minutes ahead": jwt.encode({"iat": now + 120}, SECRET, algorithm="HS256"),
        "no iat": jwt.encode({"id": "cl"}, SECRET, algorithm="HS256"),
        "HS512": jwt.encode({"iat": now}, SECRET, algorithm="HS512"),
        "alg none": jwt.encode({"iat": now}, None, algorithm="none"),
        "garbage": "not.a.token",
    }
    for why, token in refused.items():
        r = node.post(fcu, token=token)
        assert r.status_code == 401, why
    basic = node.session.post(node.url, json=fcu, headers={"Authorization": "Basic " + _token()}, timeout=30)
    assert basic.status_code == 401
    # nothing was imported by the refused requests
    assert node.call("eth_getBlockByHash", built["executionPayload"]["blockHash"], False)["result"] is None
    # within the window either side, with extra claims (id, clv) as consensus clients send them
    assert node.post(fcu, token=_token(id="lighthouse", clv="v8")).status_code == 200
    r = node.post(
        {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"},
        token=jwt.encode({"iat": now - 50}, SECRET, algorithm="HS256"),
    )
    assert r.status_code == 200 and r.json()["result"] == hex(1337)
    assert node.call("eth_getBlockByHash", built["executionPayload"]["blockHash"], False)["result"] is not None


def test_jwt_checks_against_the_library_directly():
    from client.engine.auth import check_authorization, make_token

    now = time.time()
    assert check_authorization("Bearer " + make_token(SECRET), SECRET) is None
    assert check_authorization("Bearer " + make_token(SECRET, iat=int(now) - 59), SECRET, now) is None
    assert check_authorization("Bearer " + make_token(SECRET, iat=int(now) - 61), SECRET, now) is not None
    assert check_authorization("Bearer " + make_token(SECRET, iat=int(now) + 61), SECRET, now) is not None
    assert check_authorization(None, SECRET) == "missing token"
    expired = jwt.encode({"iat": int(now), "exp": int(now) - 10}, SECRET, algorithm="HS256")
    assert check_authorization("Bearer " + expired, SECRET) is not None


def test_paris_and_shanghai_method_versions(server):
    """A chain at Paris until Shanghai's time: V1 methods serve Paris payloads (V2 too, with the V1 structure);
    from Shanghai V2 with withdrawals, and V1 answers -38005."""
    shanghai = 10**10
    node = EngineNode(
        dev_genesis(shanghaiTime=shanghai, cancunTime=2 * shanghai, pragueTime=3 * shanghai, osakaTime=4 * shanghai),
        server,
    )
    try:
        head = node.head()
        attrs = {
            "timestamp": hex(int(head["timestamp"], 16) + 12),
            "prevRandao": "0x" + "44" * 32,
            "suggestedFeeRecipient": "0x" + "fe" * 20,
        }
        assert (
            node.call(
                "engine_forkchoiceUpdatedV3",
                forkchoice(head["hash"]),
                dict(attrs, withdrawals=[], parentBeaconBlockRoot=ZERO32),
            )["error"]["code"]
            == -38005
        )
        assert (
            node.call("engine_forkchoiceUpdatedV1", forkchoice(head["hash"]), dict(attrs, withdrawals=[]))["error"][
                "code"
            ]
            == -32602
        )
        pid = node.ok("engine_forkchoiceUpdatedV1", forkchoice(head["hash"]), attrs)["payloadId"]
        p = node.ok("engine_getPayloadV1", pid)
        assert "withdrawals" not in p and "blobGasUsed" not in p
        assert node.ok("engine_getPayloadV2", pid)["executionPayload"] == p
        assert node.call("engine_getPayloadV3", pid)["error"]["code"] == -38005
        assert node.call("engine_newPayloadV2", dict(p, withdrawals=[]))["error"]["code"] == -32602
        assert node.call("engine_newPayloadV3", p, [], ZERO32)["error"]["code"] == -32602
        # V1: a wrong block hash is INVALID_BLOCK_HASH there
        s = node.ok("engine_newPayloadV1", dict(p, gasLimit=hex(int(p["gasLimit"], 16) + 1)))
        assert s["status"] == "INVALID_BLOCK_HASH" and s["latestValidHash"] is None
        assert node.ok("engine_newPayloadV1", p)["status"] == "VALID"
        node.ok("engine_forkchoiceUpdatedV1", forkchoice(p["blockHash"]), None)
        # Shanghai: withdrawals required, V2 only
        attrs = dict(attrs, timestamp=hex(shanghai))
        assert node.call("engine_forkchoiceUpdatedV1", forkchoice(p["blockHash"]), attrs)["error"]["code"] == -38005
        assert node.call("engine_forkchoiceUpdatedV2", forkchoice(p["blockHash"]), attrs)["error"]["code"] == -32602
        w = [{"index": "0x0", "validatorIndex": "0x1", "address": "0x" + "55" * 20, "amount": "0x3"}]
        pid = node.ok("engine_forkchoiceUpdatedV2", forkchoice(p["blockHash"]), dict(attrs, withdrawals=w))["payloadId"]
        assert node.call("engine_getPayloadV1", pid)["error"]["code"] == -38005
        built = node.ok("engine_getPayloadV2", pid)
        q = built["executionPayload"]
        assert q["withdrawals"] == w and int(built["blockValue"], 16) == 0
        assert (
            node.call("engine_newPayloadV1", {k: v for k, v in q.items() if k != "withdrawals"})["error"]["code"]
            == -38005
        )
        assert node.ok("engine_newPayloadV2", q)["status"] == "VALID"
        node.ok("engine_forkchoiceUpdatedV2", forkchoice(q["blockHash"]), None)
        assert int(node.ok("eth_getBalance", "0x" + "55" * 20, "latest"), 16) == 3 * 10**9
    finally:
        node.close()
