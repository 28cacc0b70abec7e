"""Fixture runners and fuzzing over a real Ray cluster on this machine (tests/ray_local_cluster.py: a
head node and a second node, one CPU each, started with `ray start`, torn down at the end even on
failure): the report of a run over Ray is the local run's byte for byte (timings aside), a worker
killed mid-run loses nothing and counts nothing twice, a case that kills its worker every time is a
failed case, and a fuzzing campaign gathers its divergences with their reproducers. The planning and
bookkeeping that need no cluster are tested directly, first.

The cluster's processes (and the CLI's) get tests/ray_plugins on PYTHONPATH: test backends shipped as
a real entry-point plugin (`crashy`, `gasleak`), since nothing registered in this process reaches a
Ray worker.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from client.errors import UserError
from client.fixtures import RUN_TIMINGS, CaseResult, FixtureBytes, comparable_report, load_fixture
from client.progress import Progress
from client.ray_pool import Task, connect, death_detail
from tests.ray_local_cluster import LocalRayCluster

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "tests" / "fixtures" / "state_tests"
BLOCKS = ROOT / "tests" / "fixtures" / "blockchain_tests"
PLUGINS = ROOT / "tests" / "ray_plugins"
ENV = {**os.environ, "PYTHONPATH": str(PLUGINS)}
ENV.pop("RAY_ADDRESS", None)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env or ENV,
    )


def without_timings(report: Path) -> str:
    return re.sub(r'"(cpu_)?seconds": [0-9.e-]+', r'"\1seconds": 0', report.read_text())


def ray_run_stats(stderr: str) -> dict:
    """The `ray run` summary the driver logs (with --log-json)."""
    for line in stderr.splitlines():
        if line.startswith("{") and '"ray run"' in line:
            return json.loads(line)
    raise AssertionError(f"no 'ray run' line in:\n{stderr[-3000:]}")


# ---------------------------------------------------------------------------------------------
# Without a cluster


def test_progress_bar_is_tqdm_counting_failures():
    out = io.StringIO()
    bar = Progress(3, "statetest", enabled=True, unit="case", file=out)
    bar.advance()
    bar.advance(2, failed=1)
    bar.close()
    text = out.getvalue()
    assert "statetest" in text and "3/3" in text and "1 failed" in text and "case" in text
    quiet = io.StringIO()
    bar = Progress(3, "statetest", file=quiet)  # not a terminal: nothing drawn
    bar.advance(3)
    bar.close()
    assert quiet.getvalue() == ""


def test_a_shipped_fixture_loads_like_its_file():
    path = next(STATE.rglob("*.json"))
    shipped = FixtureBytes(str(path), path.read_bytes())
    assert load_fixture(shipped) == load_fixture(path) and str(shipped) == str(path)
    with pytest.raises(UserError, match="^x.json: invalid JSON"):
        load_fixture(FixtureBytes("x.json", b"{not json"))


def test_plan_cuts_big_files_and_groups_small_ones():
    from client import statetest
    from client.fixtures import fixture_files
    from client.fixtures_ray import plan

    files = fixture_files([str(STATE)])
    tasks, total = plan(statetest, files, (None, None), workers=2)
    assert total == sum(1 for _ in statetest.iter_cases(files, None, None))
    per_file: dict[int, list[tuple[int, int]]] = {}
    for t in tasks:
        assert t.size == sum(stop - start for _, start, stop in t.key) > 0
        for file_no, start, stop in t.key:
            per_file.setdefault(file_no, []).append((start, stop))
    assert sorted(per_file) == list(range(len(files)))
    for ranges in per_file.values():  # every case exactly once
        ranges.sort()
        assert ranges[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert sum(t.size for t in tasks) == total
    big = max(range(len(files)), key=lambda i: files[i].stat().st_size)
    assert len(per_file[big]) > 1, "the biggest file is cut into ranges of cases"
    assert any(len(t.key) > 3 for t in tasks), "small files are grouped"
    assert len(tasks) < len(files) / 2
    assert len(plan(statetest, files, (None, None), workers=8)[0]) > len(tasks), "more workers, smaller tasks"


def test_a_crashing_task_is_split_then_its_case_reported():
    from client import statetest
    from client.fixtures_ray import FixtureSource

    paths = [
        STATE / "static" / "state_tests" / "stMemoryTest" / "mload_dejavu.json",
        STATE / "static" / "state_tests" / "stChainId" / "chainId.json",
    ]
    counts = [sum(1 for _ in statetest.iter_cases([p], None, None)) for p in paths]
    task = Task(((0, 0, counts[0]), (1, 0, counts[1])), (), sum(counts))
    source = FixtureSource(
        None, statetest, paths, (None, None), [task], ship=False, progress=Progress(sum(counts), enabled=False)
    )
    source.crashed(source.next_task(), "boom")
    singles = [source.next_task() for _ in range(sum(counts))]
    assert [t.key for t in singles] == [((f, i, i + 1),) for f in (0, 1) for i in range(counts[f])]
    assert source.next_task() is None
    source.crashed(singles[0], "boom")
    for t in singles[1:]:
        ((f, i, _),) = t.key
        source.done(t, [[CaseResult("t", str(paths[f]), "Cancun", "passed", index=i)]])
    results = source.ordered()
    assert results[0].status == "failed" and results[0].reason == "crashed: boom" and results[0].file == str(paths[0])
    assert [r.status for r in results[1:]] == ["passed"] * (sum(counts) - 1) and source.crashed_cases == 1


def test_a_fuzz_stream_resumes_after_a_crashing_chunk():
    from tests.fuzz.harness import Campaign
    from tests.fuzz.ray_campaign import Stream, StreamSource

    def ran(count):
        c = Campaign([], False, None, 0)
        c.stats["cases"] = count
        return c

    campaign = Campaign(["interpreter"], False, None, 0)
    source = StreamSource(
        campaign, [Stream("s.0", 0, 10)], chunk=4, deadline=None, progress=Progress(10, enabled=False)
    )
    chunk = source.next_task()
    assert chunk.args == ("s.0", 0, 4, None) and source.next_task() is None  # one chunk per stream at a time
    source.crashed(chunk, "died")
    singles = [source.next_task() for _ in range(4)]
    assert [t.args[:3] for t in singles] == [("s.0", i, 1) for i in range(4)]
    for t in (singles[0], singles[1], singles[3]):
        source.done(t, ran(1))
    source.crashed(singles[2], "died")  # case s.0:2 kills its worker every time
    nxt = source.next_task()
    assert nxt.args[:3] == ("s.0", 4, 4)
    source.done(nxt, ran(4))
    last = source.next_task()
    assert last.args[:3] == ("s.0", 8, 2)
    source.done(last, ran(2))
    assert source.next_task() is None
    assert campaign.stats["cases"] == 10 and campaign.stats["crashes"] == 1
    (crash,) = campaign.crashes
    assert crash["kind"] == "worker-crash" and crash["seed"] == "s.0" and crash["index"] == 2
    assert "--seed s.0 --start 2 --cases 1" in crash["reproduce"] and crash["case"]["tx"]


def test_a_dead_workers_detail_comes_from_rays_message():
    msg = (
        "The actor died unexpectedly before finishing this task.\n\tclass_name: FixtureWorker\n\tactor_id: ab\n"
        "\tpid: 4242\n\tip: 10.0.0.7\nThe actor is dead because its worker process has died. Worker exit type: "
        "SYSTEM_ERROR. Some common causes include: ..."
    )
    detail = death_detail(RuntimeError(msg))
    assert detail.startswith("pid 4242 on 10.0.0.7; The actor is dead") and "common causes" not in detail


@pytest.mark.parametrize(
    "address,needle", [("127.0.0.1:1", "no Ray cluster answers at"), ("ray://10.0.0.1:10001", "not supported")]
)
def test_an_unreachable_cluster_is_one_clear_line(address, needle):
    start = time.monotonic()
    with pytest.raises(UserError, match=needle):
        connect(address)
    assert time.monotonic() - start < 30
    proc = cli("statetest", "--ray", address, str(STATE))
    assert proc.returncode == 1 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# On a real cluster


@pytest.fixture(scope="module")
def cluster():
    c = LocalRayCluster(nodes=2, cpus_per_node=1, object_store_mb=100, env={"PYTHONPATH": str(PLUGINS)})
    c.start()
    try:
        yield c
    finally:
        c.stop()
    assert not c.pids(), "the cluster is gone"


@pytest.fixture(scope="module")
def local_state_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """The vendored state tests run locally on the interpreter: what every Ray run must give."""
    report = tmp_path_factory.mktemp("local") / "local.json"
    proc = cli("statetest", "--evm", "interpreter", "--jobs", "1", "--json", str(report), str(STATE))
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc, report


def test_statetest_on_ray_is_the_local_run(cluster, local_state_run, tmp_path):
    local, local_report = local_state_run
    ray = cli(
        "--log-json",
        "statetest",
        "--evm",
        "interpreter",
        "--ray",
        cluster.address,
        "--json",
        str(tmp_path / "ray.json"),
        str(STATE),
    )
    assert ray.returncode == 0, ray.stderr[-3000:]
    assert ray.stdout == local.stdout  # failures, per-fork counts, closing line
    assert without_timings(tmp_path / "ray.json") == without_timings(local_report)
    stats = ray_run_stats(ray.stderr)
    assert (stats["workers"], stats["nodes"], stats["workers_lost"]) == (2, 2, 0)
    assert stats["cases"] == sum(int(part.split()[0]) for part in local.stdout.splitlines()[-1].split(", "))


def test_blocktest_on_ray_auto_is_the_local_run(cluster, tmp_path):
    """Default (tiered) backend: which frames ran compiled depends on how warm each worker is, as
    with --jobs, so those counts are left out with the timings."""
    local = cli("blocktest", "--jobs", "1", "--json", str(tmp_path / "local.json"), str(BLOCKS))
    ray = cli(
        "blocktest",
        "--ray",
        "auto",
        "--json",
        str(tmp_path / "ray.json"),
        str(BLOCKS),
        env={**ENV, "RAY_ADDRESS": cluster.address},
    )
    assert local.returncode == ray.returncode == 0, ray.stderr[-3000:]

    ray_doc, local_doc = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("ray", "local"))
    assert all(key in t for t in ray_doc["tests"] + local_doc["tests"] for key in RUN_TIMINGS)
    assert comparable_report(ray_doc) == comparable_report(local_doc)
    frames = re.compile(r"^frames: .*\n", re.M)
    assert frames.sub("", ray.stdout) == frames.sub("", local.stdout)


def test_a_worker_killed_mid_run_loses_nothing(cluster, local_state_run, tmp_path):
    local, local_report = local_state_run
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client.cli",
            "--log-json",
            "--verbosity",
            "debug",
            "statetest",
            "--evm",
            "interpreter",
            "--ray",
            cluster.address,
            "--ray.paths",
            "--json",
            str(tmp_path / "ray.json"),
            str(STATE),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids, killed, events = {}, None, []
    watchdog = threading.Timer(300, proc.kill)  # a hung run fails the test instead of hanging it
    watchdog.start()
    try:
        for line in proc.stderr:
            event = json.loads(line) if line.startswith("{") else {"event": line}
            events.append(event)
            if event["event"] == "ray worker ready":
                pids[event["worker"]] = event["pid"]
            elif event["event"] == "ray task done" and killed is None:
                killed = pids[event["worker"]]  # it has its next task already: kill it in the middle
                os.kill(killed, signal.SIGKILL)
        stdout = proc.stdout.read()
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    assert killed is not None and proc.returncode == 0, events[-5:]
    assert stdout == local.stdout
    assert without_timings(tmp_path / "ray.json") == without_timings(local_report)
    lost = [e for e in events if e["event"] == "ray worker lost"]
    stats = next(e for e in events if e["event"] == "ray run")
    assert len(lost) == stats["workers_lost"] == 1 and stats["resubmitted"] >= 1 and stats["crashed_cases"] == 0
    assert lost[0]["error"].startswith(f"pid {killed} ")


def test_a_case_that_kills_its_worker_every_time_is_a_failed_case(cluster, tmp_path):
    folder = tmp_path / "fixtures"
    folder.mkdir()
    big = STATE / "static" / "state_tests" / "stBadOpcode" / "undefinedOpcodeFirstByte.json"
    shutil.copy(big, folder / "a.json")  # makes the crashing file small enough to be one task of two tests
    src = STATE / "static" / "state_tests" / "stMemoryTest" / "mload_dejavu.json"
    name, test = next(iter(json.loads(src.read_text()).items()))
    crashing = json.loads(json.dumps(test))
    crashing["transaction"]["data"] = ["0xdeadbeef"]  # the `crashy` backend dies on this calldata
    (folder / "b.json").write_text(json.dumps({name: test, name + "_crash": crashing}))
    cli("statetest", "--evm", "interpreter", "--jobs", "1", "--json", str(tmp_path / "local.json"), str(folder))
    ray = cli(
        "--log-json",
        "statetest",
        "--evm",
        "crashy",
        "--ray",
        cluster.address,
        "--ray.attempts",
        "2",
        "--json",
        str(tmp_path / "ray.json"),
        str(folder),
    )
    assert ray.returncode == 1, ray.stderr[-3000:]
    assert f"FAIL {name}_crash [Cancun #0]: crashed: its worker process died each of the 2 times it ran" in ray.stdout
    stats = ray_run_stats(ray.stderr)
    # the two-test task died twice, then its crashing test alone twice; nothing else was lost
    assert stats["workers_lost"] == 4 and stats["crashed_cases"] == 1
    got = json.loads((tmp_path / "ray.json").read_text())["cases"]
    want = json.loads((tmp_path / "local.json").read_text())["cases"]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if g["test"].endswith("_crash"):
            assert g["status"] == "failed" and "pid " in g["reason"]
        else:
            assert {**g, **dict.fromkeys(RUN_TIMINGS, 0)} == {**w, **dict.fromkeys(RUN_TIMINGS, 0)}
    counts = [sum(g["status"] == status for g in got) for status in ("passed", "failed", "skipped")]
    assert ray.stdout.strip().splitlines()[-1] == "{} passed, {} failed, {} skipped".format(*counts)


def test_fuzzing_on_ray_gathers_divergences_with_reproducers(cluster, tmp_path):
    sys.path.insert(0, str(PLUGINS))
    try:
        from evm_mlir_test_backends import GasLeakBackend

        from evm.backends import register_backend
        from tests.fuzz.harness import Campaign
    finally:
        sys.path.remove(str(PLUGINS))
    findings = tmp_path / "findings"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.harness",
            "--ray",
            cluster.address,
            "--cases",
            "16",
            "--seed",
            "ray-test",
            "--no-spec",
            "--backends",
            "interpreter,gasleak",
            "--ray.chunk",
            "4",
            "--save-dir",
            str(findings),
            "--json",
            str(tmp_path / "fuzz.json"),
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = json.loads((tmp_path / "fuzz.json").read_text())
    assert proc.returncode == 1, proc.stderr[-3000:]  # the leaking backend diverges
    assert summary["streams"] == {"ray-test.0": 8, "ray-test.1": 8} and summary["cases"] == 16
    assert summary["ray"]["workers"] == 2 and summary["crashes"] == 0
    # the same cases run here, stream by stream, give the same counts
    register_backend("gasleak", GasLeakBackend)
    local = Campaign(["interpreter", "gasleak"], False, None, 60)
    for stream in summary["streams"]:
        for i in range(8):
            local.run_case(stream, i)
    assert local.stats == summary["stats"] and summary["divergences"] == len(local.divergences) > 0
    saved = sorted(findings.glob("divergence-*.json"))
    assert len(saved) == summary["divergences"]
    record = json.loads(saved[0].read_text())
    assert record["reproduce"] == (
        f"python -m tests.fuzz.harness --seed {record['seed']} --start {record['index']} "
        "--cases 1 --backends interpreter,gasleak --no-spec"
    )
    again = Campaign(["interpreter", "gasleak"], False, None, 60)
    again.run_case(record["seed"], record["index"])
    assert again.stats["divergences"] == 1
    assert f"reproduce: {record['reproduce']}" in proc.stderr
