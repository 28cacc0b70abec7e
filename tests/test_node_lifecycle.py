"""The node process: interval mining, clean shutdown on SIGINT, JSON logs, and start-up errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import requests
from test_node_rpc import GENESIS, ROOT, NodeProcess, _command


def _rpc(url: str, method: str, *params):
    return requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    ).json()


def test_block_time_mines_empty_blocks_and_sigint_stops(tmp_path):
    node = NodeProcess(str(tmp_path / "data"), ["--block-time", "0.5", "--evm", "interpreter"])
    node.start()
    try:
        deadline = time.time() + 20
        number = 0
        while time.time() < deadline and number < 3:
            time.sleep(0.25)
            number = int(_rpc(node.url, "eth_blockNumber")["result"], 16)
        assert number >= 3
        blocks = [_rpc(node.url, "eth_getBlockByNumber", hex(n), False)["result"] for n in (1, 2, 3)]
        assert all(b["transactions"] == [] and b["difficulty"] == "0x0" for b in blocks)
        # empty blocks: the base fee falls by 1/8 each block
        fees = [int(b["baseFeePerGas"], 16) for b in blocks]
        assert fees[1] == fees[0] - fees[0] // 8 and fees[2] == fees[1] - fees[1] // 8
        assert all(int(b["timestamp"], 16) > int(a["timestamp"], 16) for a, b in zip(blocks, blocks[1:]))
        assert [b["parentHash"] for b in blocks[1:]] == [b["hash"] for b in blocks[:-1]]
    finally:
        node.proc.send_signal(signal.SIGINT)
        code = node.proc.wait(timeout=30)
        node.proc.stdout.close()
        node.stderr.close()
    assert code == 0
    log = (tmp_path / "node.log").read_text()
    assert "stopped" in log


def test_json_logs_and_startup_errors(tmp_path):
    datadir = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = subprocess.run(
            _command()
            + [
                "--log-json",
                "node",
                "--genesis",
                str(GENESIS),
                "--datadir",
                str(datadir),
                "--http.port",
                str(port),
                "--evm",
                "interpreter",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")
    # the logs before the error are JSON lines
    first = json.loads(p.stderr.strip().splitlines()[0])
    assert first["event"] == "datadir initialised" and first["level"] == "info"
    # a datadir of another chain is refused with one line
    other = json.loads(GENESIS.read_text())
    other["alloc"]["0x" + "42" * 20] = {"balance": "0x1"}
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(other))
    cmd = ["--http.port", "0", "--evm", "interpreter"]
    p = subprocess.run(
        _command() + ["node", "--genesis", str(other_path), "--datadir", str(datadir)] + cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 1 and "holds another chain" in p.stderr
    other = json.loads(GENESIS.read_text())
    other["config"]["chainId"] = 7777
    other_path.write_text(json.dumps(other))
    p = subprocess.run(
        _command() + ["node", "--genesis", str(other_path), "--datadir", str(datadir)] + cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 1 and "holds chain id 1337" in p.stderr
    p = subprocess.run(
        _command() + ["node", "--genesis", str(GENESIS), "--datadir", str(datadir), "--evm", "nope"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 1 and "unknown EVM backend" in p.stderr
    p = subprocess.run(
        _command()
        + ["node", "--genesis", str(ROOT / "genesis" / "mainnet.json"), "--datadir", str(tmp_path / "mainnet")]
        + cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 1 and "block 1: fork Frontier is before the Merge" in p.stderr
    assert not (tmp_path / "mainnet").exists()
