"""The ethers v6 suite (tests/clients/ethers/): `npm ci` from the committed lock, then node's test runner on the
Hardhat test-file pattern against a real `evm-mlir node` (HTTP and WebSocket on one port, as anvil serves them).
The Lock contract (Hardhat's sample, in Vyper) is compiled here and handed over as a JSON artifact."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_node_rpc import NodeProcess

SUITE = Path(__file__).resolve().parent / "clients" / "ethers"
LOCK = """
# pragma version ^0.4.0
event Deposited:
    who: indexed(address)
    amount: uint256

owner: public(address)
unlock_time: public(uint256)
balances: public(HashMap[address, uint256])

@deploy
@payable
def __init__(unlock_time: uint256):
    self.owner = msg.sender
    self.unlock_time = unlock_time

@external
@payable
def deposit():
    self.balances[msg.sender] += msg.value
    log Deposited(who=msg.sender, amount=msg.value)

@external
def withdraw():
    assert block.timestamp >= self.unlock_time, "locked"
    assert msg.sender == self.owner, "not owner"
    send(msg.sender, self.balance)
"""
EXPECTED_TESTS = 7


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="node and npm not found")
def test_ethers_suite(tmp_path):
    import vyper

    out = vyper.compile_code(LOCK, output_formats=["abi", "bytecode"])
    artifact = tmp_path / "Lock.json"
    artifact.write_text(json.dumps({"abi": out["abi"], "bytecode": out["bytecode"]}))
    ci = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=SUITE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ci.returncode == 0, ci.stdout + ci.stderr
    node = NodeProcess(str(tmp_path / "data"))
    node.start()
    try:
        env = dict(
            os.environ,
            EVM_MLIR_URL=node.url,
            EVM_MLIR_WS=node.url.replace("http://", "ws://"),
            LOCK_ARTIFACT=str(artifact),
        )
        started = time.perf_counter()
        run = subprocess.run(
            ["node", "--test", "--test-concurrency=1", "--test-reporter=tap", "suite.test.js"],
            cwd=SUITE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.perf_counter() - started
    finally:
        assert node.stop() == 0
    report = run.stdout + run.stderr
    counts = {k: int(v) for k, v in re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", report, re.M)}
    print(f"ethers suite: {counts.get('pass', 0)} passed, {counts.get('fail', 0)} failed in {seconds:.1f} s")
    assert run.returncode == 0, report[-6000:]
    assert counts.get("pass") == EXPECTED_TESTS and counts.get("fail") == 0, report[-6000:]
