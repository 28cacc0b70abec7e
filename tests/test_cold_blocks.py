"""bench/cold_blocks.py (issue 12's empty-cache criterion) on the vendored 1M-gas `jumps` block: both backends
run through the CLI, mlir with an empty cache, the block passes on both, the per-test CPU seconds the reports
now carry are there, and the criteria are computed from the rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.cold_blocks import compare, family

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "benchmark" / "jumps_1M.json"


def test_family_names():
    base = "tests/benchmark/compute/x.py::test_"
    assert family(base + "jumps[fork_Osaka-blockchain_test-benchmark-gas-value_100M]") == "jumps"
    assert (
        family(base + "selfdestruct_created[fork_Osaka-blockchain_test-value_bearing_True-benchmark-gas-value_100M]")
        == "selfdestruct_created[value_bearing_True]"
    )


def test_criteria_from_rows():
    def report(*secs, status="passed"):
        return {"tests": [{"test": f"t{i}", "status": status, "seconds": s} for i, s in enumerate(secs)]}

    ok = compare(report(1.0, 2.0), report(1.5, 1.0))["criteria"]  # 3.0 s against 2.5 s overall
    assert not ok["overall_not_slower"] and ok["no_block_over_3s_slower"] and ok["all_passed"]
    bad = compare(report(5.0, 0.1, status="failed"), report(1.0, 10.0))["criteria"]
    assert bad["overall_not_slower"] and not bad["no_block_over_3s_slower"] and not bad["all_passed"]
    assert bad["worst_block"]["delta_s"] == 4.0


def test_cold_blocks_on_a_small_block(tmp_path):
    out = tmp_path / "cold.json"
    proc = subprocess.run(
        [sys.executable, "bench/cold_blocks.py", "--gas", "1M", "--json", str(out), str(FIXTURE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.exists(), proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["criteria"]["all_passed"], res["failures"]
    (row,) = res["rows"]
    assert row["family"] == "jumps" and row["frames_compiled"] > 0
    assert row["interp_cpu_s"] > 0 and row["mlir_cold_cpu_s"] > 0
    assert "criterion 1" in proc.stdout and "criterion 2" in proc.stdout
