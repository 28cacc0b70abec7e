"""`evm-mlir enginetest` over the vendored engine fixtures, the converter that made them from the vendored
blockchain tests, the same results as `evm-mlir blocktest` test by test, and the runner catching wrong answers."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from client.engine.convert import convert_file
from client.enginetest import run_test

REPO = Path(__file__).resolve().parent.parent
ENGINE = REPO / "tests" / "fixtures" / "engine"
BLOCKCHAIN = REPO / "tests" / "fixtures" / "blockchain_tests"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def _report(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / f"{args[0]}.json"
    proc = cli(args[0], "--evm", "interpreter", "--jobs", "1", "--json", str(report), *args[1:])
    return proc, json.loads(report.read_text())


def test_converter_gives_the_vendored_engine_fixtures():
    """Deterministic, and the vendored files are up to date with it."""
    for src in sorted(BLOCKCHAIN.rglob("*.json")):
        converted, left_out = convert_file(src)
        assert not left_out
        vendored = ENGINE / "blockchain_tests" / src.relative_to(BLOCKCHAIN)
        assert json.loads(vendored.read_text()) == json.loads(json.dumps(converted)), src


def test_engine_fixtures_pass_with_the_same_results_as_blocktest(tmp_path):
    proc, engine = _report(tmp_path, "enginetest", str(ENGINE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    s = engine["summary"]
    assert proc.stdout.strip().splitlines()[-1] == f"{s['passed']} passed, 0 failed, {s['skipped']} skipped"
    assert s["passed"] >= 20
    proc, blocks = _report(tmp_path, "blocktest", str(BLOCKCHAIN))
    assert proc.returncode == 0
    assert {t["test"]: t["status"] for t in engine["tests"]} == {t["test"]: t["status"] for t in blocks["tests"]}
    assert engine["summary"]["per_network"] == blocks["summary"]["per_network"]
    # what the payloads exercised: every method version from V2 on, invalid payloads, error codes, SYNCING
    stats: dict[str, int] = {}
    for t in engine["tests"]:
        for k, v in t.get("stats", {}).items():
            stats[k] = stats.get(k, 0) + v
    assert stats["valid"] >= 30 and stats["invalid"] >= 8
    assert stats["error_codes"] >= 1 and stats["syncing"] >= 1
    versions = {
        p["newPayloadVersion"]
        for f in ENGINE.rglob("*.json")
        for t in json.loads(f.read_text()).values()
        for p in t["engineNewPayloads"]
    }
    assert {"2", "3", "4"} <= versions


def _fixture(rel: str) -> dict:
    return next(iter(json.loads((ENGINE / "blockchain_tests" / rel).read_text()).values()))


VALID_BLOCKS = "ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559/besuBaseFeeBug.json"


def test_runner_catches_wrong_answers():
    good = _fixture(VALID_BLOCKS)
    ok, reason, stats = run_test(good, "interpreter")
    assert ok, reason
    # a valid payload the fixture calls invalid
    bad = copy.deepcopy(good)
    bad["engineNewPayloads"][0]["validationError"] = "BlockException.INVALID_STATE_ROOT"
    ok, reason, _ = run_test(bad, "interpreter")
    assert not ok and "status VALID, INVALID (BlockException.INVALID_STATE_ROOT) expected" in reason
    # an error code where the node answers
    bad = copy.deepcopy(good)
    bad["engineNewPayloads"][0]["errorCode"] = "-32602"
    ok, reason, _ = run_test(bad, "interpreter")
    assert not ok and "error -32602 expected" in reason
    # another last block, another post state
    bad = copy.deepcopy(good)
    bad["lastblockhash"] = "0x" + "12" * 32
    ok, reason, _ = run_test(bad, "interpreter")
    assert not ok and "!= lastblockhash" in reason
    bad = copy.deepcopy(good)
    address = next(iter(bad["postState"]))
    bad["postState"][address]["balance"] = hex(int(bad["postState"][address]["balance"], 16) + 1)
    ok, reason, _ = run_test(bad, "interpreter")
    assert not ok and reason.startswith("post state differs")
    # a genesis header that is not the pre state's
    bad = copy.deepcopy(good)
    bad["genesisBlockHeader"]["stateRoot"] = "0x" + "00" * 32
    with pytest.raises(AssertionError):
        run_test(bad, "interpreter")


def test_strict_exceptions_and_bad_input(tmp_path):
    # the blocktest's uncle test: its payload can only be INVALID for its block hash (a payload has no ommers)
    uncle = (
        ENGINE
        / "blockchain_tests/ethereum-tests/BlockchainTests/InvalidBlocks/bcMultiChainTest/UncleFromSideChain.json"
    )
    assert cli("enginetest", "--evm", "interpreter", str(uncle)).returncode == 0
    proc = cli("enginetest", "--evm", "interpreter", "--strict-exceptions", str(uncle))
    assert proc.returncode == 1
    assert "BlockException.INVALID_BLOCK_HASH" in proc.stdout and "IMPORT_IMPOSSIBLE_UNCLES" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "0 passed, 1 failed, 0 skipped"
    not_engine = BLOCKCHAIN / "ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559/besuBaseFeeBug.json"
    proc = cli("enginetest", str(not_engine))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"error: {not_engine}: 'besuBaseFeeBug_Cancun' is not a blockchain engine test "
        f"(no engineNewPayloads/genesisBlockHeader/pre)"
    ]
    assert "Traceback" not in cli("enginetest", str(tmp_path / "nope.json")).stderr
