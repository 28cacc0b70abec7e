"""The tiered backend (evm/tiered.py): cold code interpreted, hot code compiled, identical results."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evm.backends import get_backend, register_backend
from evm.compiler.cache import symbol_for
from evm.spec import Fork
from evm.tiered import COLD, FAILED, TieredBackend
from tests.evm_helpers import CONTRACT, OTHER, ops, run

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "state_tests"

# i = 0; while i < n: i += 1; sum += i*i ; SSTORE(0, sum); return sum   (n = calldata word 0)
LOOP = bytes.fromhex(
    "5f"  # 0  PUSH0            sum
    "5f"  # 1  PUSH0            i
    "5b"  # 2  JUMPDEST         [sum, i]
    "80"  # 3  DUP1
    "5f35"  # 4  PUSH0 CALLDATALOAD
    "11"  # 6  GT  n > i
    "15"  # 7  ISZERO
    "6018"  # 8  PUSH1 0x18
    "57"  # 10 JUMPI -> end
    "6001"
    "01"  # 11 PUSH1 1 ADD      i+1
    "80"
    "80"
    "02"  # 14 DUP1 DUP1 MUL    (i+1)^2
    "82"
    "01"  # 17 DUP3 ADD         sum + (i+1)^2
    "91"
    "50"  # 19 SWAP2 POP        [sum', i+1]
    "6002"
    "56"  # 21 PUSH1 2 JUMP
    "5b"  # 24 JUMPDEST
    "50"  # 25 POP              [sum]
    "80"
    "5f"
    "55"  # 26 DUP1 PUSH0 SSTORE
    "5f52"
    "60205ff3"  # MSTORE(0, sum) RETURN(0, 32)
)


def word(n: int) -> bytes:
    return n.to_bytes(32, "big")


@pytest.fixture
def tiered():
    """Factory of fresh TieredBackends registered as "tiered_test" (the disk cache is the
    process's: the shared mlir backend writes there)."""
    made = []

    def factory(**kw):
        kw.setdefault("min_txs", 1)
        tb = TieredBackend(**kw)
        register_backend("tiered_test", lambda: tb)
        made.append(tb)
        return tb

    yield factory
    for tb in made:
        tb.shutdown()


def same(a, b):
    assert (a.status, a.output, a.result.gas_left, a.result.error) == (
        b.status,
        b.output,
        b.result.gas_left,
        b.result.error,
    )
    assert a.state.get_storage(CONTRACT, 0) == b.state.get_storage(CONTRACT, 0)


def test_hot_loop_is_compiled_after_the_call_threshold(tiered):
    tb = tiered(calls=3, gas=10**15, mode="sync", disk=False)
    for i in range(6):
        data = word(50 + i)
        same(run(LOOP, data, backend="tiered_test"), run(LOOP, data, backend="interpreter"))
    s = tb.stats()
    assert (s["frames_interpreted"], s["frames_compiled"]) == (3, 3)
    assert s["contracts_compiled"] == 1 and s["compile_errors"] == 0


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_hot_by_gas_and_background_compile(tiered, mode):
    tb = tiered(calls=10**9, gas=200_000, mode=mode, disk=False, min_txs=1)
    data = word(3000)  # one frame burns > 200k gas of its own
    first = run(LOOP, data, backend="tiered_test")
    same(first, run(LOOP, data, backend="interpreter"))
    assert tb.drain(120)
    second = run(LOOP, data, backend="tiered_test")
    same(second, first)
    s = tb.stats()
    assert (s["frames_interpreted"], s["frames_compiled"]) == (1, 1)


def test_disk_cached_code_runs_compiled_at_once(tiered):
    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"  # never seen before: not in the disk cache yet
    first = tiered(calls=1, gas=10**15, mode="sync")
    run(code, word(5), backend="tiered_test")  # interpreted, then compiled into the disk cache
    assert first.stats()["contracts_compiled"] == 1
    again = tiered(calls=10**9, gas=10**15, mode="sync", disk_txs=1)  # a "new process": nothing in memory
    same(run(code, word(7), backend="tiered_test"), run(code, word(7), backend="interpreter"))
    s = again.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_from_disk"]) == (0, 1, 1)
    # by default at its first frame too (issue 14: contracts compiled on disk are used at once)
    later = tiered(calls=10**9, gas=10**15, mode="sync")
    for n in (7, 8, 9):
        same(run(code, word(n), backend="tiered_test"), run(code, word(n), backend="interpreter"))
    s = later.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_from_disk"]) == (0, 3, 1)
    # with EVM_MLIR_TIER_DISK_TXS=2, from its second transaction
    second = tiered(calls=10**9, gas=10**15, mode="sync", disk_txs=2)
    for n in (7, 8, 9):
        same(run(code, word(n), backend="tiered_test"), run(code, word(n), backend="interpreter"))
    s = second.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_from_disk"]) == (1, 2, 1)


def test_system_calls_load_compiled_code_once_interpreting_it_paid_the_load(tiered):
    """A system call's code whose object is in the disk cache is interpreted until its own seconds reach
    SYSTEM_LOAD_S (one such frame costs less interpreted than loading the object), then loaded; a transaction's
    frame of the same code loads it at once."""
    from evm import execute
    from evm import tiered as T
    from evm.message import SYSTEM_ADDRESS, BlockEnv, Message, TxEnv
    from tests.evm_helpers import make_state

    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"
    first = tiered(calls=1, gas=10**15, mode="sync")
    run(code, word(5), backend="tiered_test")  # compiled into the disk cache
    assert first.stats()["contracts_compiled"] == 1
    tb = tiered(calls=10**9, gas=10**15, mode="sync")  # a "new process"
    state = make_state({CONTRACT: {"code": code}})
    env = BlockEnv(fork=Fork.OSAKA)

    def system_call(backend: str):  # each on the same state (what it writes is reverted)
        msg = Message(SYSTEM_ADDRESS, CONTRACT, 0, word(5), 30_000_000, code, CONTRACT)
        snap = state.snapshot()
        try:
            return execute(msg, state, env, TxEnv(origin=SYSTEM_ADDRESS), backend)
        finally:
            state.revert(snap)

    want = system_call("interpreter")
    for _ in range(2):
        got = system_call("tiered_test")
        assert (got.status, got.output, got.gas_left) == (want.status, want.output, want.gas_left)
    rec = tb._codes[Fork.OSAKA][code]
    s = tb.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_from_disk"]) == (2, 0, 0)
    assert 0 < rec[9] < T.SYSTEM_LOAD_S == tb.system_load_s  # its interpreted seconds, counted
    rec[9] = T.SYSTEM_LOAD_S  # (as after enough blocks)
    got = system_call("tiered_test")
    assert (got.status, got.output, got.gas_left) == (want.status, want.output, want.gas_left)
    s = tb.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_from_disk"]) == (2, 1, 1)
    other = tiered(calls=10**9, gas=10**15, mode="sync")
    same(run(code, word(5), backend="tiered_test"), run(code, word(5), backend="interpreter"))
    assert other.stats()["frames_compiled"] == 1  # a transaction's frame: loaded at once


def test_stats_count_objects_found_on_disk_when_code_turns_hot(tiered):
    """An object written by another process after this one first saw the code is loaded from disk
    when the code turns hot, and counted as such (not as compiled here)."""
    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"
    tb = tiered(calls=2, gas=10**15, mode="sync")
    run(code, word(3), backend="tiered_test")  # first sight: not on disk
    other = tiered(calls=1, gas=10**15, mode="sync")  # "another process" compiles it into the cache
    run(code, word(3), backend="tiered_test")
    assert other.stats()["contracts_compiled"] == 1
    register_backend("tiered_test", lambda: tb)
    for n in (4, 5):
        same(run(code, word(n), backend="tiered_test"), run(code, word(n), backend="interpreter"))
    s = tb.stats()
    assert (s["contracts_compiled"], s["contracts_from_disk"], s["frames_compiled"]) == (0, 1, 1)


def test_default_rule_is_the_expected_compile_seconds():
    """No explicit rule: a code's limit is its expected compile time (seconds), no gas or frame limit."""
    from evm.tiered import NEVER, expected_compile_seconds

    sizes = [100, 1000, 4000, 8000, 24576]
    secs = [expected_compile_seconds(n) for n in sizes]
    assert secs == sorted(secs) and secs[-1] < 3.0  # issue 12's bound on any compile
    tb = TieredBackend(mode="sync", disk=False)
    rec = tb._first_sight(LOOP, Fork.OSAKA)
    assert (rec[3], rec[4], rec[10]) == (NEVER, NEVER, expected_compile_seconds(len(LOOP)))
    explicit = TieredBackend(calls=7, gas=1000, mode="sync", disk=False)._first_sight(LOOP, Fork.OSAKA)
    assert (explicit[3], explicit[4], explicit[10]) == (7, 1000, NEVER)  # EVM_MLIR_TIER_GAS replaces the rule


def test_a_worker_on_another_cpu_costs_the_block_its_share(monkeypatch):
    """Process mode with more than one CPU: a compile costs the block WORKER_SHARE of its seconds (the niced
    worker runs beside it), so a code's limit is that share of its expected compile time; on one CPU, or
    compiling in this process (thread, sync), the whole of it."""
    from evm import tiered as T

    assert T._cpus() == len(os.sched_getaffinity(0))  # the CPUs this process may run on, not the machine's
    full = T.expected_compile_seconds(len(LOOP))
    monkeypatch.setattr(T, "_cpus", lambda: 2)
    shared = TieredBackend(mode="process", disk=False)._first_sight(LOOP, Fork.OSAKA)
    assert shared[10] == T.WORKER_SHARE * full
    for mode in ("thread", "sync"):
        assert TieredBackend(mode=mode, disk=False)._first_sight(LOOP, Fork.OSAKA)[10] == full
    monkeypatch.setattr(T, "_cpus", lambda: 1)
    assert TieredBackend(mode="process", disk=False)._first_sight(LOOP, Fork.OSAKA)[10] == full


def test_seconds_interpreted_make_a_code_hot_in_its_first_transaction(tiered):
    """The default rule: once the seconds a code has cost interpreted exceed its expected compile time,
    it is hot at once (no min_txs), and its next frame runs compiled."""
    tb = tiered(mode="sync", disk=False, min_txs=10**9)
    tb._first_sight(LOOP, Fork.OSAKA)[10] = 0.002  # the rule's figure for a faster compiler
    data = word(3000)  # ~36k instructions interpreted: well over 2 ms
    same(run(LOOP, data, backend="tiered_test"), run(LOOP, data, backend="interpreter"))
    same(run(LOOP, data, backend="tiered_test"), run(LOOP, data, backend="interpreter"))
    s = tb.stats()
    assert (s["frames_interpreted"], s["frames_compiled"], s["contracts_compiled"]) == (1, 1, 1)


def test_gas_alone_does_not_make_a_code_hot(tiered):
    """Gas is not time: a frame burning 10M gas in a few instructions (here one huge memory expansion)
    costs the interpreter microseconds, and compiling it would not pay."""
    tb = tiered(mode="sync", disk=False, min_txs=1)
    code = ops(0, 70_000 * 32 - 32, "MSTORE", "STOP")  # 70,000 words of memory: 9.8M gas (quadratic cost)
    for _ in range(3):
        r = run(code, gas=30_000_000, backend="tiered_test")
        assert r.status == "success" and r.result.gas_left < 30_000_000 - 9_000_000
    rec = tb._codes[Fork.OSAKA][code]
    assert 0 < rec[9] < rec[10] and rec[2] == COLD and tb.stats()["contracts_compiled"] == 0


def test_own_seconds_exclude_child_frames(tiered):
    """A caller whose callee loops is not charged the callee's seconds."""
    tb = tiered(mode="sync", disk=False)
    accounts = {OTHER: {"code": LOOP}}
    caller = ops(3000, 0, "MSTORE", 32, 0, 32, 0, 0, OTHER, "GAS", "CALL", 0, "MLOAD", 1, "SSTORE", 32, 0, "RETURN")
    same(run(caller, accounts=accounts, backend="tiered_test"), run(caller, accounts=accounts, backend="interpreter"))
    own = tb._codes[Fork.OSAKA][caller]
    callee = tb._codes[Fork.OSAKA][LOOP]
    assert 0 < own[9] < callee[9] / 5


SLOW_WORKER = (
    "import sys, time\n"
    "for line in sys.stdin:\n"
    "    print(line.split()[0], 'start', flush=True)\n"
    "    t = time.process_time()\n"
    "    while time.process_time() - t < 60:  # spins, as LLVM would: the budget is CPU time\n"
    "        pass\n"
)


def test_compile_over_budget_is_abandoned_marked_failed_and_not_retried(tiered, tmp_path, monkeypatch, caplog):
    """Process mode: a compile still running at the budget gets its worker killed; the code is
    interpreted for good, here and (tombstone in the disk cache) in a new process."""
    monkeypatch.setenv("EVM_MLIR_CACHE", str(tmp_path))
    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"
    tb = tiered(calls=2, gas=10**15, mode="process", budget=0.3)
    tb.worker_command = [sys.executable, "-c", SLOW_WORKER]  # an injected compile that never ends
    with caplog.at_level(logging.WARNING, logger="evm.tiered"):
        for i in range(3):
            same(run(code, word(20 + i), backend="tiered_test"), run(code, word(20 + i), backend="interpreter"))
        assert tb.drain(30)
        proc_gone = tb._proc is None
        for i in range(3):
            same(run(code, word(30 + i), backend="tiered_test"), run(code, word(30 + i), backend="interpreter"))
    s = tb.stats()
    assert proc_gone and tb._proc is None and tb._next_id == 1  # killed, and never asked again
    assert (s["compile_errors"], s["compile_timeouts"], s["frames_compiled"], s["frames_interpreted"]) == (1, 1, 0, 6)
    assert "exceeded the budget" in caplog.text
    sym = symbol_for(code, Fork.OSAKA)
    assert list(tmp_path.glob(f"*/{sym}.failed"))
    # a new process finds the tombstone: interpreted at once, no compile requested
    probe = (
        "import sys; from evm.tiered import TieredBackend, FAILED; from evm.spec import Fork\n"
        "tb = TieredBackend(calls=1, gas=1, mode='process')\n"
        "rec = tb._first_sight(bytes.fromhex(sys.argv[1]), Fork.OSAKA)\n"
        "print(rec[2] == FAILED)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, code.hex()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EVM_MLIR_CACHE": str(tmp_path)},
    )
    assert out.stdout.strip() == "True", out.stderr[-2000:]


def test_sync_compile_over_budget_is_discarded(tiered, tmp_path, monkeypatch):
    """Thread and sync modes cannot interrupt a compile: one that returns after the budget is
    discarded and its code marked failed (with its tombstone)."""
    monkeypatch.setenv("EVM_MLIR_CACHE", str(tmp_path))
    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"
    tb = tiered(calls=2, gas=10**15, mode="sync", budget=0.0)
    for i in range(4):
        same(run(code, word(20 + i), backend="tiered_test"), run(code, word(20 + i), backend="interpreter"))
    s = tb.stats()
    assert (s["compile_timeouts"], s["contracts_compiled"], s["frames_compiled"]) == (1, 0, 0)
    sym = symbol_for(code, Fork.OSAKA)
    assert list(tmp_path.glob(f"*/{sym}.failed")) and not list(tmp_path.glob(f"*/{sym}.o"))
    again = tiered(calls=1, gas=1, mode="sync")  # "a new process": the tombstone keeps it interpreted
    run(code, word(5), backend="tiered_test")
    assert again.stats()["contracts_compiled"] == 0 and again._codes[Fork.OSAKA][bytes(code)][2] == FAILED


def test_compiled_and_interpreted_frames_mix_in_one_transaction(tiered):
    """A cold caller (interpreted) CALLs the hot LOOP (compiled) at OTHER, then stores the result."""
    tb = tiered(calls=2, gas=10**15, mode="sync", disk=False)
    caller = ops(
        40,
        0,
        "MSTORE",
        32,
        0,
        32,
        0,
        0,
        OTHER,
        "GAS",
        "CALL",
        0,
        "MLOAD",
        1,
        "SSTORE",
        1,
        "SSTORE",
        0,
        "MLOAD",
        0,
        "MSTORE",
        32,
        0,
        "RETURN",
    )
    accounts = {OTHER: {"code": LOOP}}
    for _i in range(2):  # LOOP alone, twice: hot, compiled
        run(LOOP, word(3), backend="tiered_test")
    t = run(caller, accounts=accounts, backend="tiered_test")  # caller interpreted (cold), LOOP compiled
    r = run(caller, accounts=accounts, backend="interpreter")
    same(t, r)
    assert t.state.get_storage(CONTRACT, 1) == r.state.get_storage(CONTRACT, 1) == 1
    assert t.state.get_storage(OTHER, 0) == r.state.get_storage(OTHER, 0) == sum(k * k for k in range(41))
    s = tb.stats()
    assert s["frames_compiled"] == 1 and s["frames_interpreted"] == 3


def test_compile_worker_dying_falls_back_to_the_interpreter(tiered, caplog):
    tb = tiered(calls=2, gas=10**15, mode="process", disk=False)
    tb.worker_command = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    with caplog.at_level(logging.WARNING, logger="evm.tiered"):
        for i in range(6):
            same(run(LOOP, word(20 + i), backend="tiered_test"), run(LOOP, word(20 + i), backend="interpreter"))
            if i == 2:
                assert tb.drain(60)
    s = tb.stats()
    assert s["compile_errors"] == 1 and s["frames_compiled"] == 0 and s["frames_interpreted"] == 6
    assert "exited with status 3" in caplog.text


def test_background_compile_error_falls_back_to_the_interpreter(tiered, monkeypatch, caplog):
    import evm.compiler.compile as C

    def broken(code, fork, stats=None):
        raise RuntimeError("injected toolchain failure")

    get_backend("mlir")  # the JIT is initialised before the compile function is broken
    monkeypatch.setattr(C, "compile_to_object", broken)
    tb = tiered(calls=2, gas=10**15, mode="thread", disk=False)
    with caplog.at_level(logging.WARNING, logger="evm.tiered"):
        for i in range(3):
            same(run(LOOP, word(20 + i), backend="tiered_test"), run(LOOP, word(20 + i), backend="interpreter"))
        assert tb.drain(60)
        for i in range(3):
            same(run(LOOP, word(30 + i), backend="tiered_test"), run(LOOP, word(30 + i), backend="interpreter"))
    s = tb.stats()
    assert s["compile_errors"] == 1 and s["frames_compiled"] == 0 and s["frames_interpreted"] == 6
    assert [rec[2] for rec in tb._codes[Fork.OSAKA].values()] == [FAILED]
    assert "injected toolchain failure" in caplog.text


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        {},
        {
            "EVM_MLIR_TIER_CALLS": "8",
            "EVM_MLIR_TIER_GAS": "300000",
            "EVM_MLIR_TIER_MIN_TXS": "1",
            "EVM_MLIR_TIER_MODE": "sync",
        },
    ],
    ids=["default", "low-thresholds"],
)
def test_vendored_state_tests_pass_with_tiered(tmp_path, thresholds):
    """Through the CLI (tiered is the default --evm): 0 failed. With low thresholds, many codes get
    compiled in the middle of the run (synchronously: a background compile would mostly finish after
    the last case of its test), so compiled and interpreted frames mix in many cases."""
    report = tmp_path / "r.json"
    proc = cli(
        "statetest",
        "--jobs",
        "1",
        "--json",
        str(report),
        str(SAMPLE),
        env={"EVM_MLIR_CACHE": str(tmp_path / "cache"), **thresholds},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    passed, failed, skipped = (int(part.split()[0]) for part in last.split(", "))
    assert failed == 0 and passed > 600
    summary = json.loads(report.read_text())["summary"]
    assert summary["frames_interpreted"] > 0
    if thresholds:
        assert summary["frames_compiled"] > 0


def test_first_compile_pays_for_starting_the_worker(tmp_path, monkeypatch, tiered):
    """Process mode, compile-cost rule: until a worker runs, a code needs the worker's start (and, with a
    cache lacking the runtime module, its build) in own seconds on top of its expected compile time."""
    from evm import tiered as T

    monkeypatch.setenv("EVM_MLIR_CACHE", str(tmp_path))
    tb = TieredBackend(mode="process")
    tb._disk_objects()
    assert tb._start_s == T.WORKER_SHARE * (T.WORKER_START_S + T.RUNTIME_BUILD_S)
    tb._disk_path("runtime").write_bytes(b"")  # a damaged runtime object: the worker below rejects it, says so
    # (a log line, which once reached the answers' channel and stopped the reader thread) and builds it again
    warm = tiered(mode="process", min_txs=1)
    warm._disk_objects()
    assert warm._start_s == T.WORKER_SHARE * T.WORKER_START_S
    assert TieredBackend(mode="sync")._start_s == 0
    code = LOOP + b"\x67" + os.urandom(8) + b"\x00"
    rec = warm._first_sight(code, Fork.OSAKA)
    rec[10] = 0.002
    run(code, word(3000), backend="tiered_test")  # well past 2 ms, far short of 2 ms + the worker's start
    assert rec[9] >= rec[10] and warm._interp_s < rec[10] + warm._start_s and rec[2] == COLD and warm._proc is None
    # the start is paid by the seconds interpreting all codes took, not this code's alone
    warm._interp_s += warm._start_s
    run(code, word(3000), backend="tiered_test")
    assert rec[2] != COLD and warm._proc is not None
    assert warm.drain(120) and warm.stats()["contracts_compiled"] == 1
