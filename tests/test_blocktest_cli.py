"""`evm-mlir blocktest` over the vendored blockchain-test sample (EEST and ethereum/tests formats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "blockchain_tests")
OTHER_FIXTURES = os.path.join(REPO, "tests", "fixtures", "blockchain")  # vendored by the genesis tests


def cli(*args: str, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _count_tests(path: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for dirpath, _, files in os.walk(path):
        for f in files:
            if f.endswith(".json"):
                for t in json.load(open(os.path.join(dirpath, f))).values():
                    counts[t["network"]] = counts.get(t["network"], 0) + 1
    return counts


def test_vendored_sample_passes(tmp_path):
    report = tmp_path / "report.json"
    proc = cli("blocktest", "--evm", "interpreter", "--json", str(report), FIXTURES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = sum(_count_tests(FIXTURES).values())
    assert proc.stdout.strip().splitlines()[-1] == f"{total} passed, 0 failed, 0 skipped"
    doc = json.load(open(report))
    assert doc["summary"]["failed"] == 0
    networks = {t["network"] for t in doc["tests"] if t["status"] == "passed"}
    # every post-Merge fork and transition, the blob-parameter-only ones included
    assert {
        "Paris",
        "Shanghai",
        "Cancun",
        "Prague",
        "Osaka",
        "ShanghaiToCancunAtTime15k",
        "CancunToPragueAtTime15k",
        "PragueToOsakaAtTime15k",
        "OsakaToBPO1AtTime15k",
        "BPO1ToBPO2AtTime15k",
        "BPO2ToBPO3AtTime15k",
        "BPO3ToBPO4AtTime15k",
    } <= networks
    # invalid blocks were really exercised
    assert sum(t.get("stats", {}).get("rejected", 0) for t in doc["tests"]) >= 10


def test_a_network_before_the_merge_is_skipped_with_its_reason(tmp_path):
    src = json.load(
        open(
            os.path.join(
                FIXTURES, "eest", "blockchain_tests", "paris", "security", "test_tx_selfdestruct_balance_bug.json"
            )
        )
    )
    name, test = next(iter(src.items()))
    london = tmp_path / "london.json"
    london.write_text(json.dumps({name: {**test, "network": "London"}}))
    proc = cli("blocktest", "--evm", "interpreter", str(london))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "0 passed, 0 failed, 1 skipped"
    assert (
        "SKIP London (1 test): network London: fork London is before the Merge (this client runs post-Merge "
        "chains: Paris through BPO5)"
    ) in lines


def test_other_vendored_blockchain_fixtures_pass():
    if not os.path.isdir(OTHER_FIXTURES):
        return
    proc = cli("blocktest", "--jobs", "2", OTHER_FIXTURES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed, " in proc.stdout.strip().splitlines()[-1]


def test_substring_filter_and_failure_reporting(tmp_path):
    src = os.path.join(FIXTURES, "ethereum-tests", "BlockchainTests", "ValidBlocks", "bcEIP1559", "besuBaseFeeBug.json")
    data = json.load(open(src))
    name, test = next(iter(data.items()))
    # a wrong expected balance: the post-state check must fail and name the account
    addr = next(iter(test["postState"]))
    test["postState"][addr]["balance"] = hex(int(test["postState"][addr]["balance"], 16) + 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name + "_corrupted": test, name: json.load(open(src))[name]}))
    proc = cli("blocktest", str(bad))
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"
    assert any(
        line.startswith(f"FAIL {name}_corrupted [Cancun]: post state differs") and addr.lower()[2:] in line.lower()
        for line in lines
    )
    proc = cli("blocktest", "-k", "_corrupted", str(bad))
    assert proc.stdout.strip().splitlines()[-1] == "0 passed, 1 failed, 0 skipped"


def test_expected_exception_that_imports_fails(tmp_path):
    src = os.path.join(FIXTURES, "ethereum-tests", "BlockchainTests", "ValidBlocks", "bcEIP1559", "besuBaseFeeBug.json")
    data = json.load(open(src))
    name, test = next(iter(data.items()))
    test["blocks"][0]["expectException"] = "BlockException.INVALID_STATE_ROOT"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test}))
    proc = cli("blocktest", str(bad))
    assert proc.returncode == 1
    assert "imported but BlockException.INVALID_STATE_ROOT was expected" in proc.stdout


def test_bad_input_is_one_clean_error(tmp_path):
    proc = cli("blocktest", str(tmp_path / "missing"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    notjson = tmp_path / "x.json"
    notjson.write_text("{")
    proc = cli("blocktest", str(notjson))
    assert proc.returncode == 1 and "invalid JSON" in proc.stderr
    proc = cli("blocktest", "--evm", "nope", FIXTURES)
    assert proc.returncode == 1 and "unknown EVM backend" in proc.stderr


def test_vendored_sample_passes_with_the_compiled_evm():
    from evm.backends import available_backends

    if "mlir" not in available_backends():
        import pytest

        pytest.skip("no mlir backend in this environment")
    proc = cli("blocktest", "--evm", "mlir", FIXTURES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith(" 0 failed, 0 skipped")


def test_tiered_jobs_with_a_warm_cache_runs_compiled_code_in_forked_workers(tmp_path):
    # The runners fork their workers after creating the backend: whatever tiered prepares when it is created
    # (the disk cache's folder and listing) must survive the fork, and the JIT stay in the workers (a JIT made
    # before the fork hangs them). A warm cache makes every worker load compiled code.
    env_cache = {"EVM_MLIR_CACHE": str(tmp_path / "cache")}
    warm = cli("blocktest", "--evm", "mlir", "--jobs", "1", FIXTURES, timeout=300, env=env_cache)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    report = tmp_path / "tiered.json"
    # (system calls' code too: by default it is interpreted until that has cost what loading it does)
    env_all = {**env_cache, "EVM_MLIR_TIER_SYSTEM_LOAD_S": "0"}
    proc = cli("blocktest", "--evm", "tiered", "--jobs", "2", "--json", str(report), FIXTURES, timeout=300, env=env_all)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.load(open(report))["summary"]
    assert summary["failed"] == 0 and summary["passed"] == sum(_count_tests(FIXTURES).values())
    assert summary["frames_compiled"] > 0 and summary["frames_interpreted"] == 0
    default = cli(
        "blocktest", "--evm", "tiered", "--jobs", "2", "--json", str(report), FIXTURES, timeout=300, env=env_cache
    )
    assert default.returncode == 0, default.stdout + default.stderr
    summary = json.load(open(report))["summary"]
    assert summary["frames_interpreted"] > 0 and summary["frames_compiled"] > summary["frames_interpreted"]
