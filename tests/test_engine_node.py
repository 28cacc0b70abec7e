"""`evm-mlir node --authrpc.*`: the node process under a (stand-in) consensus client: the JWT secret generated
into the datadir, 401 without a token, no blocks of its own, blocks through the Engine API, the forkchoice
state kept across a restart, and start-up errors of the flags."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time

import jwt
import requests
from test_node_rpc import GENESIS, ROOT, NodeProcess, _command

SECRET_FILE = "jwtsecret"


def _engine_url(node: NodeProcess) -> str:
    line = node.proc.stdout.readline()
    m = re.match(r"Engine API on (http://\S+) \(JWT secret (.+)\)", line)
    assert m, line
    return m.group(1)


def _call(url: str, secret: bytes | None, method: str, *params):
    headers = {}
    if secret is not None:
        headers["Authorization"] = "Bearer " + jwt.encode({"iat": int(time.time())}, secret, algorithm="HS256")
    return requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, headers=headers, timeout=60
    )


def _ok(url: str, secret: bytes | None, method: str, *params):
    r = _call(url, secret, method, *params)
    assert r.status_code == 200, r.text
    out = r.json()
    assert "error" not in out, out
    return out["result"]


def test_node_under_a_consensus_client(tmp_path):
    datadir = str(tmp_path / "data")
    node = NodeProcess(datadir, ["--authrpc.port", "0", "--evm", "interpreter"])
    node.start()
    try:
        engine = _engine_url(node)
        path = os.path.join(datadir, SECRET_FILE)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        secret = bytes.fromhex(open(path).read().strip()[2:])
        assert len(secret) == 32
        assert _call(engine, None, "eth_chainId").status_code == 401
        assert _call(engine, b"\x00" * 32, "eth_chainId").status_code == 401
        assert _ok(engine, secret, "eth_chainId") == hex(1337)
        # a transaction through the public port is not sealed by the node itself
        key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        from eth_account import Account

        raw = (
            Account.from_key(key)
            .sign_transaction(
                {
                    "type": 2,
                    "chainId": 1337,
                    "nonce": 0,
                    "to": "0x" + "00" * 19 + "42",
                    "value": 9,
                    "gas": 21000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 10**9,
                }
            )
            .raw_transaction
        )
        tx_hash = _ok(node.url, None, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
        time.sleep(0.5)
        assert _ok(node.url, None, "eth_blockNumber") == "0x0"
        head = _ok(engine, secret, "eth_getBlockByNumber", "latest", False)
        hashes = [head["hash"]]
        for _slot in range(3):
            attrs = {
                "timestamp": hex(int(head["timestamp"], 16) + 12),
                "prevRandao": "0x" + "33" * 32,
                "suggestedFeeRecipient": "0x" + "fe" * 20,
                "withdrawals": [],
                "parentBeaconBlockRoot": "0x" + "be" * 32,
            }
            fcs = {"headBlockHash": head["hash"], "safeBlockHash": hashes[0], "finalizedBlockHash": hashes[0]}
            pid = _ok(engine, secret, "engine_forkchoiceUpdatedV3", fcs, attrs)["payloadId"]
            built = _ok(engine, secret, "engine_getPayloadV5", pid)
            p = built["executionPayload"]
            status = _ok(engine, secret, "engine_newPayloadV4", p, [], "0x" + "be" * 32, built["executionRequests"])
            assert status["status"] == "VALID"
            fcs = {"headBlockHash": p["blockHash"], "safeBlockHash": head["hash"], "finalizedBlockHash": hashes[0]}
            assert _ok(engine, secret, "engine_forkchoiceUpdatedV3", fcs, None)["payloadStatus"]["status"] == "VALID"
            hashes.append(p["blockHash"])
            head = _ok(node.url, None, "eth_getBlockByNumber", "latest", False)
            assert head["hash"] == p["blockHash"]
        receipt = _ok(node.url, None, "eth_getTransactionReceipt", tx_hash)
        assert receipt["blockHash"] == hashes[1]
    finally:
        assert node.stop() == 0
    # restarted: the head, safe and finalized blocks are the consensus client's, the secret file reused
    node = NodeProcess(datadir, ["--authrpc.port", "0", "--evm", "interpreter"])
    node.start()
    try:
        engine = _engine_url(node)
        assert _ok(engine, secret, "eth_getBlockByNumber", "latest", False)["hash"] == hashes[-1]
        assert _ok(node.url, None, "eth_getBlockByNumber", "safe", False)["hash"] == hashes[-2]
        assert _ok(node.url, None, "eth_getBlockByNumber", "finalized", False)["hash"] == hashes[0]
    finally:
        assert node.stop() == 0


def test_authrpc_flag_errors(tmp_path):
    bad = tmp_path / "secret.hex"
    bad.write_text("0x1234\n")
    base = _command() + ["node", "--genesis", str(GENESIS), "--datadir", str(tmp_path / "d"), "--http.port", "0"]
    for extra, message in (
        (["--authrpc.jwtsecret", str(bad)], f"error: JWT secret {bad} must hold 32 bytes"),
        (["--authrpc.jwtsecret", str(tmp_path / "missing")], "error: cannot read JWT secret"),
        (["--authrpc.port", "70000"], "error: --authrpc.port 70000 is not a port number"),
        (["--authrpc.port", "0", "--block-time", "2"], "error: --block-time seals blocks of the node's own"),
    ):
        p = subprocess.run(base + extra, capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert p.returncode == 1, extra
        lines = p.stderr.strip().splitlines()
        assert lines[-1].startswith(message), lines
        assert "Traceback" not in p.stderr
