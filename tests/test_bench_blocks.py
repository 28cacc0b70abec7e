"""bench/blocks.py on a vendored tiny benchmark block (tests/fixtures/benchmark/jumps_1M.json: the 1M-gas
variant of the execution-spec-tests `jumps` family): the interpreter's block imports with the fixture's
block hash and post state, its Mgas/s is positive, revm runs the same transactions with the receipts'
gas, and the table comes out with both columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "benchmark" / "jumps_1M.json"


def test_blocks_benchmark_smoke(tmp_path):
    out = tmp_path / "blocks.json"
    proc = subprocess.run(
        [
            sys.executable,
            "bench/blocks.py",
            "--gas",
            "1M",
            "--engines",
            "interpreter,revm",
            "--timeout",
            "120",
            "--json",
            str(out),
            str(FIXTURE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    [row] = doc["rows"]
    assert row["family"] == "jumps"
    interp, revm = row["runs"]["interpreter"], row["runs"]["revm"]
    # ok = block hash, lastblockhash and post state equal to the fixture's (checked by the worker)
    assert interp["ok"], interp
    assert interp["gas"] == 1_000_000 and interp["txs"] == 1
    assert interp["gas"] / interp["seconds"] > 0
    # a block this short is run five times by every engine, the median reported (--short)
    assert len(interp["samples"]) == 5 and sorted(interp["samples"])[2] == interp["seconds"]
    assert len(revm["samples"]) == 5
    assert revm["ok"], revm  # same gas per transaction as the receipts
    assert revm["gas"] == interp["gas"]
    assert "not_comparable" not in row
    line = next(l for l in proc.stdout.splitlines() if l.startswith("jumps"))
    assert line.split()[1] not in ("-", "fail", "timeout")


def test_worker_reports_a_post_state_mismatch(tmp_path):
    """The check is real: a fixture whose expected post state was altered fails."""
    fixture = json.loads(FIXTURE.read_text())
    [(name, case)] = fixture.items()
    sender = case["blocks"][0]["transactions"][0]["sender"]
    case["postState"][sender]["nonce"] = "0x63"
    case["blocks"][0].pop("blockHeader")  # the block hash would catch it first
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: case}))
    proc = subprocess.run(
        [sys.executable, "bench/blocks.py", "--worker", "interpreter", "--file", str(bad), "--test", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    res = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
    assert not res["ok"] and "post state" in res["reason"], res
