"""Fixture replay on one machine and on a Ray cluster, side by side (the figures of docs/cluster.md).

Starts a Ray cluster on this machine (tests/ray_local_cluster.py: a head node and a second node, one
CPU each, so "2 workers" are two nodes), then in each of --rounds rounds runs, in turn, `statetest` on
FIXTURES/eest/state_tests and `blocktest` on FIXTURES/eest/blockchain_tests + FIXTURES/ethereum-tests:
locally with --jobs 1 and 2, and over Ray with 1 and 2 workers (file contents shipped, and paths with
--ray.paths for 2 workers). Wall time of the whole command (start-up, planning and connecting
included), median and range over the rounds. Every run's report must equal the local --jobs 1 report
(timings and the tiered backend's compiled/interpreted frame counts aside) or the table says so.
Then one Ray run with a worker killed (SIGKILL) after --kill-after tasks: its counts.

Usage: python bench/ray_fixtures.py [--fixtures DIR] [--rounds 3] [--evm NAME] [--kill-after 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ray_local_cluster import LocalRayCluster  # noqa: E402

CLI = [sys.executable, "-m", "client.cli"]


def comparable(report: Path) -> list:
    """The report's cases without what depends on the run (client.fixtures.comparable_report)."""
    from client.fixtures import comparable_report

    doc = comparable_report(json.loads(report.read_text()))
    return doc.get("cases") or doc.get("tests")


def run(args: list[str], report: Path, env: dict | None = None) -> tuple[float, str, dict]:
    start = time.monotonic()
    proc = subprocess.run(
        [*CLI, "--log-json", *args, "--json", str(report)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    seconds = time.monotonic() - start
    stats = next((json.loads(line) for line in proc.stderr.splitlines() if '"ray run"' in line), {})
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout.strip().splitlines()[-1], stats


def killed_run(args: list[str], report: Path, kill_after: int) -> tuple[float, str, dict, int]:
    proc = subprocess.Popen(
        [*CLI, "--log-json", "--verbosity", "debug", *args, "--json", str(report)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = time.monotonic()
    pids, done, killed, stats = {}, 0, 0, {}
    for line in proc.stderr:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event["event"] == "ray worker ready":
            pids[event["worker"]] = event["pid"]
        elif event["event"] == "ray task done":
            done += 1
            if done == kill_after and not killed:
                killed = pids[event["worker"]]
                os.kill(killed, signal.SIGKILL)
        elif event["event"] == "ray run":
            stats = event
    out = proc.stdout.read()
    proc.wait()
    return time.monotonic() - start, out.strip().splitlines()[-1], stats, killed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixtures", default="/work/shared/fixtures/public")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--evm", default="tiered")
    p.add_argument("--kill-after", type=int, default=5, help="tasks done before a worker is killed")
    args = p.parse_args()
    fx = Path(args.fixtures)
    suites = {
        "statetest": ["statetest", "--evm", args.evm, str(fx / "eest" / "state_tests")],
        "blocktest": [
            "blocktest",
            "--evm",
            args.evm,
            str(fx / "eest" / "blockchain_tests"),
            str(fx / "ethereum-tests"),
        ],
    }
    tmp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        measure(args, suites, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, suites: dict[str, list[str]], tmp: Path) -> None:
    with LocalRayCluster(nodes=2, cpus_per_node=1, object_store_mb=200) as cluster:
        configs = {
            "local --jobs 1": ["--jobs", "1"],
            "local --jobs 2": ["--jobs", "2"],
            "ray, 1 worker": ["--ray", cluster.address, "--ray.workers", "1"],
            "ray, 2 workers": ["--ray", cluster.address, "--ray.workers", "2"],
            "ray, 2 workers, --ray.paths": ["--ray", cluster.address, "--ray.workers", "2", "--ray.paths"],
        }
        times: dict[tuple[str, str], list[float]] = {}
        lines: dict[tuple[str, str], str] = {}
        same: dict[tuple[str, str], bool] = {}
        extra: dict[tuple[str, str], dict] = {}
        for r in range(args.rounds):
            for suite, base in suites.items():
                reference = tmp / f"{suite}-local --jobs 1.json"
                for name, flags in configs.items():
                    report = tmp / f"{suite}-{name}.json"
                    seconds, last, stats = run([*base, *flags], report)
                    times.setdefault((suite, name), []).append(seconds)
                    lines[(suite, name)] = last
                    extra[(suite, name)] = stats
                    same[(suite, name)] = same.get((suite, name), True) and comparable(report) == comparable(reference)
                    print(f"round {r + 1} {suite:9} {name:28} {seconds:7.2f} s  {last}", file=sys.stderr)
        load = os.getloadavg()
        print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores)\n")
        print("| suite | run | wall s (median) | range | tasks | result | report = local |")
        print("|---|---|---:|---|---:|---|---|")
        for (suite, name), ts in times.items():
            tasks = extra[(suite, name)].get("tasks", "")
            print(
                f"| {suite} | {name} | {statistics.median(ts):.2f} | {min(ts):.2f}-{max(ts):.2f} | {tasks} | "
                f"{lines[(suite, name)]} | {'yes' if same[(suite, name)] else 'NO'} |"
            )
        suite, base = "statetest", suites["statetest"]
        report = tmp / "killed.json"
        seconds, last, stats, killed = killed_run(
            [*base, "--ray", cluster.address, "--ray.workers", "2"], report, args.kill_after
        )
        equal = comparable(report) == comparable(tmp / f"{suite}-local --jobs 1.json")
        print(
            f"\nkilled run ({suite}, worker pid {killed} killed after {args.kill_after} tasks): {seconds:.2f} s, "
            f"{last}; workers lost {stats.get('workers_lost')}, tasks resubmitted {stats.get('resubmitted')}, "
            f"tasks {stats.get('tasks')}, cases {stats.get('cases')}, crashed cases {stats.get('crashed_cases')}; "
            f"report = local: {'yes' if equal else 'NO'}"
        )


if __name__ == "__main__":
    main()
