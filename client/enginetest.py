"""Blockchain-engine-test runner: execution-spec-tests `blockchain_test_engine` fixtures, driven over HTTP with
JWT as execution-spec-tests' consume-engine simulator drives a client under hive.

For each test a node is started (in this process, on a free loopback port, its chain in memory) from the
test's `pre` allocation and `genesisBlockHeader`; then, over the authenticated Engine API:
1. forkchoiceUpdated to the genesis block (VALID), and eth_getBlockByNumber(0) must be the genesis block;
2. every `engineNewPayloads[]` entry is sent as engine_newPayloadV`newPayloadVersion`(*params): with `errorCode`
   the call must fail with that code; with `expectedStatus` (client/engine/convert.py's extension, for a
   payload whose parent the node cannot know) the status must be that one; otherwise the status must be INVALID when `validationError` is given
   (with a validationError of its own), VALID when not; a VALID payload becomes the head through
   engine_forkchoiceUpdatedV`forkchoiceUpdatedVersion`, which must answer VALID;
3. the head (eth_getBlockByNumber "latest") must be `lastblockhash` and its state `postState` (or
   `postStateHash`).
The node's validationError names the reason as execution-spec-tests' exceptions do (`BlockException.X: ...`);
a reason other than the expected one is counted in the stats (`exception_mismatches`) and fails the test only
with `--strict-exceptions`, as consume-engine's strict exception matching would.
"""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from state.db import StateDB, alloc_from_fixture
from state.kv import MemoryStore

from .blocks import Block
from .blocktest import post_state_mismatch
from .chain.store import CONFIG_KEY, GENESIS_KEY, ChainStore
from .fixtures import CaseResult, fixture_config, hex_bytes, run_case, select_fixtures
from .header import Header

_server = None  # one event-loop thread per process serves every test's node in turn


def iter_cases(files: list[Path], substring: str | None, strict: bool = False) -> Iterator[tuple]:
    for path, name, fixture in select_fixtures(
        files, substring, ("engineNewPayloads", "genesisBlockHeader", "pre"), "blockchain engine test"
    ):
        yield path, name, fixture, strict


class EngineClient:
    """JSON-RPC over one keep-alive HTTP connection, a fresh HS256 token (iat = now) on every request."""

    def __init__(self, url: str, secret: bytes) -> None:
        u = urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=300)
        self.secret = secret
        self.ids = 0

    def call(self, method: str, params: list) -> dict[str, Any]:
        from .engine.auth import make_token

        self.ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        self.conn.request(
            "POST",
            "/",
            body,
            {"Content-Type": "application/json", "Authorization": "Bearer " + make_token(self.secret)},
        )
        resp = self.conn.getresponse()
        text = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{method}: HTTP {resp.status} {text[:200]!r}")
        return json.loads(text)

    def result(self, method: str, params: list) -> Any:
        out = self.call(method, params)
        if "error" in out:
            raise RuntimeError(f"{method}: error {out['error'].get('code')} {out['error'].get('message')}")
        return out["result"]

    def close(self) -> None:
        self.conn.close()


def node_store(fixture: dict) -> tuple[ChainStore, Any]:
    """A chain store holding the test's pre state and genesis block (whose hash must be the fixture's)."""
    config = fixture_config(fixture)
    genesis = Header.from_json(fixture["genesisBlockHeader"])
    store = ChainStore(MemoryStore())
    with store.kv.write_batch() as batch:
        root = StateDB(store.kv).commit_alloc(alloc_from_fixture(fixture["pre"]), batch)
        if root != genesis.state_root:
            raise AssertionError(f"pre state root 0x{root.hex()} != genesis header's 0x{genesis.state_root.hex()}")
        body = Block(genesis, [], [], [] if genesis.withdrawals_root is not None else None)
        h = store.put_block(batch, genesis, body.body_rlp())
        store.set_head(batch, h)
        batch.put(GENESIS_KEY, h)
        batch.put(CONFIG_KEY, json.dumps(config.raw, sort_keys=True).encode())
    want = fixture["genesisBlockHeader"].get("hash")
    if want and hex_bytes(want) != h:
        raise AssertionError(f"genesis hash 0x{h.hex()} != fixture's {want}")
    return store, config


def _expected_matches(expected: str, got: str | None) -> bool:
    """Whether the node's validationError ("BlockException.X: ...") names one of `expected`'s alternatives."""
    code = (got or "").split(":", 1)[0].strip()
    return any(alt.strip() == code for alt in expected.split("|"))


def drive(client: EngineClient, fixture: dict, genesis_hash: bytes, strict: bool) -> tuple[bool, str, dict]:
    """Steps 1-3 of the module docstring; (passed, reason, stats)."""
    payloads = fixture["engineNewPayloads"]
    stats = {"payloads": len(payloads), "valid": 0, "invalid": 0, "error_codes": 0, "exception_mismatches": 0}
    fcu_version = payloads[0]["forkchoiceUpdatedVersion"] if payloads else "3"
    zero = "0x" + "00" * 32
    g = "0x" + genesis_hash.hex()
    r = client.result(
        f"engine_forkchoiceUpdatedV{fcu_version}",
        [{"headBlockHash": g, "safeBlockHash": zero, "finalizedBlockHash": zero}, None],
    )
    if r["payloadStatus"]["status"] != "VALID":
        return False, f"forkchoiceUpdated to genesis: {r['payloadStatus']}", stats
    got = client.result("eth_getBlockByNumber", ["0x0", False])
    if got is None or got["hash"] != g:
        return False, f"genesis block is {got and got['hash']}, not {g}", stats
    for i, p in enumerate(payloads):
        method = f"engine_newPayloadV{p['newPayloadVersion']}"
        out = client.call(method, p["params"])
        want_error = p.get("errorCode")
        if want_error is not None:
            if "error" not in out:
                return False, f"payload #{i}: {method} answered {out.get('result')}, error {want_error} expected", stats
            if out["error"].get("code") != int(want_error):
                return False, f"payload #{i}: error {out['error']} instead of code {want_error}", stats
            stats["error_codes"] += 1
            continue
        if "error" in out:
            return False, f"payload #{i}: {method} failed: {out['error']}", stats
        status = out["result"]
        if p.get("expectedStatus"):  # client/engine/convert.py's extension: SYNCING for an unknown parent
            if status["status"] != p["expectedStatus"]:
                return False, f"payload #{i}: status {status['status']}, {p['expectedStatus']} expected", stats
            stats["syncing"] = stats.get("syncing", 0) + 1
            continue
        expected = p.get("validationError")
        if expected:
            if status["status"] != "INVALID":
                return False, f"payload #{i}: status {status['status']}, INVALID ({expected}) expected", stats
            if not status.get("validationError"):
                return False, f"payload #{i}: INVALID without a validationError", stats
            stats["invalid"] += 1
            if not _expected_matches(expected, status["validationError"]):
                stats["exception_mismatches"] += 1
                if strict:
                    return (
                        False,
                        (f"payload #{i}: validationError {status['validationError']!r}, {expected} expected"),
                        stats,
                    )
            continue
        if status["status"] != "VALID":
            return (
                False,
                f"payload #{i}: status {status['status']} ({status.get('validationError')}), VALID expected",
                stats,
            )
        stats["valid"] += 1
        head = p["params"][0]["blockHash"]
        r = client.result(
            f"engine_forkchoiceUpdatedV{p['forkchoiceUpdatedVersion']}",
            [{"headBlockHash": head, "safeBlockHash": zero, "finalizedBlockHash": zero}, None],
        )
        if r["payloadStatus"]["status"] != "VALID":
            return False, f"payload #{i}: forkchoiceUpdated answered {r['payloadStatus']}", stats
    latest = client.result("eth_getBlockByNumber", ["latest", False])
    if latest["hash"] != fixture["lastblockhash"]:
        return (
            False,
            f"head {latest['hash']} (number {int(latest['number'], 16)}) != lastblockhash {fixture['lastblockhash']}",
            stats,
        )
    stats["state_root"] = latest["stateRoot"]
    return True, "", stats


def run_test(fixture: dict, backend: str, strict: bool = False) -> tuple[bool, str, dict]:
    global _server
    from .engine.server import BackgroundEngineServer, engine_dispatcher
    from .node.node import Node

    if _server is None:
        _server = BackgroundEngineServer()
    store, config = node_store(fixture)
    node = Node(store, config, backend)
    dispatcher, _ = engine_dispatcher(node)
    secret = secrets.token_bytes(32)
    runner, url = _server.serve(dispatcher, secret)
    client = EngineClient(url, secret)
    try:
        ok, reason, stats = drive(client, fixture, node.genesis_hash, strict)
        if ok:
            reason = post_state_mismatch(store.kv, fixture, hex_bytes(stats.pop("state_root")))
            ok = not reason
        return ok, reason, stats
    finally:
        client.close()
        _server.stop_serving(runner)
        dispatcher.shutdown()


def run_one(path: Path, name: str, fixture: dict, strict: bool = False, backend: str = "interpreter") -> CaseResult:
    return run_case(path, name, fixture, backend, lambda config: run_test(fixture, backend, strict))
