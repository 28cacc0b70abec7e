"""The state-test runner through the real CLI: the vendored sample passes, bad input is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "state_tests"
CLI = [sys.executable, "-m", "client.cli"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("backend", ["interpreter", "mlir"])
def test_vendored_sample_passes(tmp_path, backend):
    report = tmp_path / "report.json"
    proc = run_cli("statetest", "--evm", backend, "--jobs", "2", "--json", str(report), str(SAMPLE))
    last = proc.stdout.strip().splitlines()[-1]
    passed, failed, skipped = (int(part.split()[0]) for part in last.split(", "))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert failed == 0 and passed > 600
    doc = json.loads(report.read_text())
    assert doc["summary"]["passed"] == passed
    post_merge = {"Paris", "Shanghai", "Cancun", "Prague", "Osaka"}
    assert {c["fork"] for c in doc["cases"] if c["status"] == "passed"} == post_merge
    # only forks before the Merge are skipped, and the run says why
    assert {c["fork"] for c in doc["cases"] if c["status"] == "skipped"} == {"Berlin", "London"}
    assert any(
        line.startswith("SKIP London (") and "fork London is before the Merge" in line
        for line in proc.stdout.splitlines()
    )
    # Every frame ran on the backend asked for: the compiled backend never falls back to the interpreter.
    compiled, interpreted = doc["summary"]["frames_compiled"], doc["summary"]["frames_interpreted"]
    assert (
        (compiled, interpreted > 0) == (0, True)
        if backend == "interpreter"
        else (compiled > 0, interpreted) == (True, 0)
    )


def test_a_wrong_expectation_fails_with_exit_1(tmp_path):
    src = next(SAMPLE.rglob("*.json"))
    data = json.loads(src.read_text())
    name, test = next(iter(data.items()))
    fork, cases = next((f, c) for f, c in test["post"].items() if f in ("Cancun", "Prague", "Osaka"))
    cases[0]["hash"] = "0x" + "11" * 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test}))
    proc = run_cli("statetest", str(bad), "--fork", fork)
    assert proc.returncode == 1
    assert f"FAIL {name} [{fork} #0]: state root" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].endswith("failed, 0 skipped")


@pytest.mark.parametrize(
    "content,needle",
    [("{not json", "invalid JSON"), ("[1, 2]", "not a fixture file"), ('{"x": {"env": {}}}', "is not a state test")],
)
def test_bad_fixture_is_one_clear_line(tmp_path, content, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = run_cli("statetest", str(bad))
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_a_fork_before_the_merge_is_refused_in_one_line():
    proc = run_cli("statetest", "--fork", "London", str(SAMPLE))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "error: --fork: fork London is before the Merge (this client runs post-Merge chains: Paris through BPO5)"
    )
    proc = run_cli("statetest", "--fork", "merge", "-k", "collision", str(SAMPLE))  # Paris by its other name
    assert proc.returncode == 0 and proc.stdout.strip().splitlines()[-1] == "6 passed, 0 failed, 0 skipped"


def test_missing_path_is_one_clear_line():
    proc = run_cli("statetest", "/nonexistent/fixtures")
    assert proc.returncode == 1 and proc.stderr.strip() == "error: no such file or directory: /nonexistent/fixtures"
