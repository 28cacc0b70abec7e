"""The "tiered" backend (the default): cold code is interpreted, hot code runs compiled.

Every frame goes through `TieredBackend.run_frame(message, host)`. Per (fork, code) it keeps a
small record: how many frames of that code were interpreted, and the gas and the seconds they spent *in
their own instructions* (the frame's minus its child frames', so a dispatcher whose callee loops does
not become hot itself). A code is **hot** once the seconds it has cost interpreted exceed what its
compile is expected to cost the block (`expected_compile_seconds` for its size, times WORKER_SHARE when the
worker process compiles it on another CPU; the first compile also waits until
the seconds spent interpreting, all codes together, cover the worker's start as well: docs/tiered.md
"Policy"); with EVM_MLIR_TIER_GAS or EVM_MLIR_TIER_CALLS set, once its own
gas or its frame count (per KiB of code, in at least EVM_MLIR_TIER_MIN_TXS transactions) reaches that
figure instead (deterministic: tests). It is then compiled by
the `mlir` backend's compiler (`evm.compiler`), by default in one worker process, while the frames
of that code keep running on the interpreter. The next frame after the compile finished runs
compiled (also within the same block or transaction), and so does every later one. Code whose
object file is already in the on-disk cache (compiled by an earlier process, `$EVM_MLIR_CACHE`)
runs compiled from its first frame (EVM_MLIR_TIER_DISK_TXS). A compile running longer than its
budget is abandoned (the worker process is killed) and the code marked failed, also on disk
(`<symbol>.failed`), so no process compiles it again. Interpreted and compiled frames mix
freely inside one transaction: both call the same `evm.host.Host`, and the Host sends every child
frame back through this backend.

Why a worker process and not a thread: llvmlite's O3 pipeline and object emission (about two
thirds of a compile) release the GIL, but building the MLIR module (Python) and running the MLIR
pass manager hold it, and a compiling thread that takes and drops the GIL thousands of times per
second starves the interpreter thread (its own GIL-releasing calls, Keccak through cffi, wait up
to a switch interval to get it back): the public state tests ran 2.6x slower with a thread (see
docs/tiered.md). The worker (`python -m evm.tiered`, started at the first hot code) compiles each
request into the disk cache and answers with one line; a reader thread in this process marks the
code COMPILED, and the main thread loads the object into the MCJIT engine at the next frame of
that code (a few ms). The worker dies with its stdin (this process's exit).

A compile that fails (an exception anywhere in the toolchain, the worker dying, or the budget
exceeded) never reaches the transaction: the code is marked as failed, interpreted from then on,
counted in ``stats()["compile_errors"]`` and logged on the ``evm.tiered`` logger.

Tuning (environment, read when the backend is created):

  EVM_MLIR_TIER_CALLS       if set: interpreted frames of one code before it is hot (per KiB of
                            code, at least 1 KiB), on top of the compile-cost rule
  EVM_MLIR_TIER_GAS         if set: own gas per KiB of code before hot, instead of the
                            compile-cost rule
  EVM_MLIR_TIER_MIN_TXS     transactions (top-level messages) a code must have run in before its
                            frame count can make it hot (default 5: a deep recursion in one
                            transaction is not a bet worth a compile)
  EVM_MLIR_TIER_BUDGET      CPU seconds a compile may take before it is abandoned (default 8;
                            wall time: 10x that; thread/sync modes: wall seconds)
  EVM_MLIR_TIER_MODE        process: compile in a worker process (default); thread: on a
                            background thread of this process; sync: in the frame that made
                            the code hot (deterministic: used by tests)
  EVM_MLIR_TIER_DISK        1: code already in the disk cache runs compiled once it is used by
                            EVM_MLIR_TIER_DISK_TXS transactions (default 1)
  EVM_MLIR_TIER_DISK_TXS    see above (default 1: at its first frame; 2 saves loading objects
                            of code run once, ~0.1 ms each, as in state tests)
  EVM_MLIR_TIER_NICE        niceness the worker process adds to itself            (default 10)
  EVM_MLIR_TIER_SYSTEM_LOAD_S  interpreted seconds a system call's code (caller SYSTEM_ADDRESS) must cost
                            before its object on disk is loaded (default 0.0004; 0: at its first frame)

`--evm mlir` still compiles every frame; `--evm interpreter` never compiles.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from time import perf_counter as _clock
from typing import TYPE_CHECKING, Any, cast

from .backends import backend_factory, get_backend
from .compiler.cache import FAILED_SUFFIX, symbol_for
from .interpreter import InterpreterBackend
from .message import SYSTEM_ADDRESS, ExecutionResult, Message

if TYPE_CHECKING:
    from pathlib import Path

    from .compiler.backend import MlirBackend
    from .interfaces import BackendStats, NativeHost
    from .spec import Fork

# A code's record: [frames, own gas, state, frame limit, gas limit, last transaction, transactions, on disk,
# compiled by this process, own seconds, seconds limit]
Record = list[Any]
Job = tuple[Record, bytes, "Fork"]

log = logging.getLogger("evm.tiered")
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # `python -m evm.tiered` from here

# states of a code record (index 2 of the record list)
COLD = 0  # interpreted, counting
QUEUED = 1  # hot, waiting for / being compiled
COMPILED = 2  # object file ready (disk cache), not yet loaded into the engine by the main thread
READY = 3  # native entry loaded: frames run compiled
FAILED = 4  # compile or load failed: interpreted for good

MODES = ("process", "thread", "sync")
NEVER = sys.maxsize  # the limit of a rule that is off
DEFAULT_MIN_TXS = 5
DEFAULT_DISK_TXS = 1
SIZE_UNIT = 1024  # thresholds are per KiB of code (at least one)
# The compile-cost rule (docs/tiered.md, "Policy"): a code is compiled once interpreting it has taken as
# long as its compile is expected to take. Its seconds are measured, not inferred from its gas: the
# interpreter runs 6-30 Mgas/s on instruction-bound code and 75-1,000 Mgas/s where gas pays for a
# precompile, a CREATE or a SELFDESTRUCT (docs/benchmarks.md), so no one gas-per-second figure holds.
DEFAULT_NICE = 10  # the worker takes CPU only when the block's process leaves it (docs/tiered.md)
# The first compile also pays for starting the worker: its imports, and with a cache that does not
# hold them yet, building the runtime module and op library (once per machine and compiler version).
WORKER_START_S = 1.0
RUNTIME_BUILD_S = 2.3
# What starting the worker costs the block is not its CPU seconds (they run on another core, niced) but the
# slowdown of this process while they run beside it: measured on selfdestruct_created, 0.177 s alone and 0.210 s
# with the worker starting (+19%). Counting the whole start instead left a 3.6 s import with nothing compiled.
WORKER_SHARE = 0.2
# The block's system calls (EIP-4788, 2935, 7002, 7251) run a few short frames of fixed code once per block,
# ~30-60 us each interpreted, while loading a compiled object costs ~0.15 ms (the first also creates the compiled
# backend, 0.25 ms): even with their objects on disk they are interpreted until that is paid (ski rental; their
# frames are bounded, so the first cannot be a long one). An empty block took 2.1 ms tiered against 1.3 interpreted.
SYSTEM_LOAD_S = 0.0004
WALL_FACTOR = 10  # the budget is CPU seconds of the worker; wall time allowed: this many budgets
DEFAULT_BUDGET_S = 8.0  # a compile running longer is abandoned (3x the worst 24 KB shape, docs/compiler.md)


def expected_compile_seconds(size: int) -> float:
    """Seconds a compile of `size` bytes of code is expected to take here (docs/compiler.md, "Compile
    time"): the full/cheap tiers ~0.25 s per KB up to their budgets (~1.1 s, reached at ~4 KB), the
    compact tier beyond ~0.1 s per KB at worst (2.5 s at 24 KB)."""
    kb = size / 1000
    return max(min(0.1 + 0.25 * kb, 1.1), 0.15 + 0.1 * kb)


def _cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` (Linux /proc), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.replace("_", ""), 0)
    except ValueError:
        log.warning("%s=%r is not an integer; using %d", name, raw, default)
        return default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        log.warning("%s=%r is not a number; using %g", name, raw, default)
        return default


class TieredBackend:
    """Backend "tiered": interpreter for cold code, the mlir backend for hot code."""

    name = "tiered"

    def __init__(
        self,
        calls: int | None = None,
        gas: int | None = None,
        mode: str | None = None,
        disk: bool | None = None,
        min_txs: int | None = None,
        disk_txs: int | None = None,
        budget: float | None = None,
    ) -> None:
        # explicit rules (deterministic, for tests): frames per KiB of code, on top of the compile-cost rule;
        # own gas per KiB of code, instead of it
        self.calls_threshold: int | None = calls if calls is not None else _env_int("EVM_MLIR_TIER_CALLS", 0) or None
        self.gas_threshold: int | None = gas if gas is not None else _env_int("EVM_MLIR_TIER_GAS", 0) or None
        self._rules = self.calls_threshold is not None or self.gas_threshold is not None
        self.budget = budget if budget is not None else _env_float("EVM_MLIR_TIER_BUDGET", DEFAULT_BUDGET_S)
        self.min_txs = min_txs if min_txs is not None else _env_int("EVM_MLIR_TIER_MIN_TXS", DEFAULT_MIN_TXS)
        self._tx = 0  # top-level messages seen
        self.mode = mode or os.environ.get("EVM_MLIR_TIER_MODE", "").strip().lower() or "process"
        if self.mode not in MODES:
            log.warning("EVM_MLIR_TIER_MODE=%r is not one of %s; using process", self.mode, MODES)
            self.mode = "process"
        self.use_disk = disk if disk is not None else bool(_env_int("EVM_MLIR_TIER_DISK", 1))
        self.disk_txs = disk_txs if disk_txs is not None else _env_int("EVM_MLIR_TIER_DISK_TXS", DEFAULT_DISK_TXS)
        self.system_load_s = _env_float("EVM_MLIR_TIER_SYSTEM_LOAD_S", SYSTEM_LOAD_S)
        self._on_disk: set[str] | None = None  # object files in the disk cache when first looked at
        self._tombstones: set[str] = set()  # symbols whose compile failed (disk cache `.failed` files)
        self._start_s = 0.0  # interpreted seconds the first compile needs on top, for starting the worker
        # what a compile costs the block, per second of compile time: in process mode on more than one CPU, the
        # slowdown of this process while the niced worker compiles beside it (WORKER_SHARE); else all of it
        self._compile_share = WORKER_SHARE if self.mode == "process" and _cpus() > 1 else 1.0
        self._interp_s = 0.0  # own seconds of every cold code's interpreted frames so far (all codes)
        self.interpreter = InterpreterBackend()
        self._mlir: MlirBackend | None = None  # the "mlir" backend, created on first need
        self._mlir_lock = threading.Lock()
        self._disk_dir: Path | bool | None = None  # Path of the disk cache's versioned folder (or False)
        self._codes: dict[Fork, dict[bytes, Record]] = {}  # fork -> {code bytes -> its Record}
        self._child_gas = 0  # gas used by the child frames of the running frame
        self._child_s = 0.0  # seconds spent in them
        self._timing = 0  # interpreted frames on the stack whose own seconds are being measured
        self._queue: queue.Queue[Job | None] | None = None
        self._worker: threading.Thread | None = None
        self.worker_command = [sys.executable, "-m", "evm.tiered"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._outq: queue.Queue[bytes | None] = queue.Queue()  # lines for the worker process
        self._pending: dict[int, Job] = {}  # request id -> (record, code, fork)
        self._next_id = 0
        self._proc_lock = threading.Lock()
        self._stopping = False
        # the compile in flight in the worker: (request id, monotonic start, worker CPU seconds then)
        self._inflight: tuple[int, float, float | None] | None = None
        self._killed: int | None = None  # request id whose worker was killed for exceeding the budget
        # statistics
        self.frames_compiled = 0
        self.frames_interpreted = 0
        self.frames_traced = 0  # frames of traced messages (run on the tracing interpreter, evm.execute)
        self.contracts_compiled = 0  # compiled by this process (background or sync)
        self.contracts_from_disk = 0  # cold start from the disk cache
        self.compile_errors = 0
        self.compile_timeouts = 0  # compiles abandoned at the budget (also counted in compile_errors)
        self.compile_seconds = 0.0
        if self.use_disk:
            # The cache's versioned folder is resolved and listed with the backend, not on the first frame of
            # the first block: its version hashes the sources and asks llvmlite for the toolchain (~40 ms,
            # measured), which every run with the disk cache needs anyway. The mlir backend's factory is
            # resolved too (the backends' entry points scanned and evm.compiler imported: ~7 ms on the first
            # compiled frame of a block otherwise). Its instance and JIT stay lazy: runners fork their workers
            # after creating the backend, and a JIT made before a fork hangs them.
            self._disk_objects()
            backend_factory("mlir")

    # ------------------------------------------------------------------ the mlir backend
    def mlir(self) -> MlirBackend:
        """The shared "mlir" backend instance (created, and its JIT initialised, once)."""
        m = self._mlir
        if m is None:
            with self._mlir_lock:
                m = self._mlir
                if m is None:
                    m = self._mlir = cast("MlirBackend", get_backend("mlir"))
        return m

    def _disk_path(self, symbol: str) -> Path | None:
        d = self._disk_dir
        if d is None:
            d = False
            try:
                from .compiler.cache import DiskCache

                cache = DiskCache()
                if cache.enabled:
                    d = cache.dir
            except Exception as exc:  # no llvmlite / unusable cache: no worker process, no cold start
                log.warning("tiered: disk cache unavailable: %s", exc)
            self._disk_dir = d
        if d is False or d is True or d is None:
            return None
        return d / f"{symbol}.o"

    # ------------------------------------------------------------------ execution
    def run_frame(self, message: Message, host: NativeHost) -> ExecutionResult:
        code = message.code
        fork = host.fork
        try:
            rec = self._codes[fork][code]
        except KeyError:
            rec = self._first_sight(code, fork)
        except TypeError:  # unhashable code buffer
            code = bytes(code)
            rec = self._codes.get(fork, {}).get(code) or self._first_sight(code, fork)
        if message.depth == 0:  # a new transaction (top-level message)
            self._tx += 1
            self._child_gas = 0
            self._timing = 0  # (left over only where a frame raised)
        if rec[2] != COLD or rec[7] or self._rules:
            return self._run_counted(rec, code, fork, message, host)
        # The common case, kept short (each step here costs every interpreted frame): cold code, no explicit
        # rule, nothing on disk. Only its own seconds are counted (the compile-cost rule).
        self.frames_interpreted += 1
        saved = self._child_s
        self._child_s = 0.0
        self._timing += 1
        t = _clock()
        result = self.interpreter.run_frame(message, host)
        seconds = _clock() - t
        self._timing -= 1
        spent = seconds - self._child_s
        own = rec[9] = rec[9] + spent
        self._interp_s += spent
        self._child_s = saved + seconds
        if own >= rec[10] and rec[2] == COLD and self._start_paid(rec):
            # (a recursive frame of the same code may have made it hot already)
            self._hot(rec, bytes(code), fork)
        return result

    def _start_paid(self, rec: Record) -> bool:
        """For a code past its own seconds: whether its compile may go now. The first compile also starts
        the worker, worth it once interpreting (all codes together) took its share of the start too."""
        return self._proc is not None or self._interp_s >= rec[10] + self._start_s

    def _run_counted(self, rec: Record, code: bytes, fork: Fork, message: Message, host: NativeHost) -> ExecutionResult:
        """Every other frame: compiled code, code on disk, code queued or failed, and every frame when an
        explicit rule (EVM_MLIR_TIER_CALLS / _GAS) counts frames, gas and transactions too."""
        state = rec[2]
        if (
            rec[7]
            and state == COLD
            and rec[6] + (rec[5] != self._tx) >= self.disk_txs
            and (message.caller != SYSTEM_ADDRESS or rec[9] >= self.system_load_s)
        ):
            # compiled by an earlier process (disk cache), and this is its disk_txs-th transaction
            # (with disk_txs = 1: its first frame); a system contract's code once interpreting it has cost
            # what loading it does
            state = self._activate(rec, code, fork)
        if state == COMPILED:
            state = self._activate(rec, code, fork)
        if state == READY:
            self.frames_compiled += 1
            saved = self._child_gas
            if self._timing:  # an interpreted caller's own seconds exclude this frame's
                saved_s = self._child_s
                t = _clock()
                result = self.mlir().run_frame(message, host)
                self._child_s = saved_s + _clock() - t
            else:
                result = self.mlir().run_frame(message, host)
            self._child_gas = saved + message.gas - result.gas_left
            return result
        self.frames_interpreted += 1
        saved, saved_s = self._child_gas, self._child_s
        self._child_gas, self._child_s = 0, 0.0
        self._timing += 1
        t = _clock()
        result = self.interpreter.run_frame(message, host)
        seconds = _clock() - t
        self._timing -= 1
        used = message.gas - result.gas_left
        if state == COLD:
            rec[0] += 1
            if result.status != "error" or result.error == "OutOfGas":
                rec[1] += used - self._child_gas
            spent = seconds - self._child_s
            rec[9] += spent
            self._interp_s += spent
            if rec[5] != self._tx:
                rec[5] = self._tx
                rec[6] += 1
            # by seconds (or gas) at once: its compile has paid off; by frames only once seen in min_txs
            # transactions (a deep recursion in one transaction is not a bet worth a compile)
            paid = rec[9] >= rec[10] and self._start_paid(rec)
            if (paid or rec[1] >= rec[4] or (rec[0] >= rec[3] and rec[6] >= self.min_txs)) and rec[2] == COLD:
                # (a recursive frame of the same code may have made it hot already)
                self._hot(rec, bytes(code), fork)
        self._child_gas = saved + used
        self._child_s = saved_s + seconds
        return result

    def _first_sight(self, code: bytes, fork: Fork) -> Record:
        code = bytes(code)
        scale = max(1, len(code) // SIZE_UNIT)  # compile time grows with the code's size
        calls = self.calls_threshold * scale if self.calls_threshold else NEVER
        gas = self.gas_threshold * scale if self.gas_threshold else NEVER
        secs = NEVER if self.gas_threshold else expected_compile_seconds(len(code)) * self._compile_share
        sym = symbol_for(code, fork)
        on_disk = self.use_disk and sym in self._disk_objects()
        rec = [0, 0, COLD, calls, gas, -1, 0, on_disk, False, 0.0, secs]
        if self.use_disk and not on_disk and sym in self._tombstones:
            rec[2] = FAILED  # an earlier compile failed or exceeded its budget: never retried
        self._codes.setdefault(fork, {})[code] = rec  # run_frame activates it when on disk
        return rec

    def _disk_objects(self) -> set[str]:
        """Symbols in the disk cache, listed once (one directory read instead of a stat per code);
        objects written later are found by `_hot`."""
        if self._on_disk is None:
            self._on_disk = set()
            d = self._disk_path("x")
            if d is not None:
                try:
                    names = os.listdir(d.parent)
                except OSError:
                    names = []
                self._on_disk = {n[:-2] for n in names if n.endswith(".o")}
                self._tombstones = {n[: -len(FAILED_SUFFIX)] for n in names if n.endswith(FAILED_SUFFIX)}
                if self.mode == "process":  # the compile-cost rule, with a worker to start
                    start = WORKER_START_S + (0 if "runtime" in self._on_disk else RUNTIME_BUILD_S)
                    self._start_s = self._compile_share * start  # (the whole start on one CPU)
        return self._on_disk

    def _activate(self, rec: Record, code: bytes, fork: Fork) -> int:
        """Load the compiled object of `code` (disk cache) into the engine: READY, FAILED, or
        COLD again when the cache no longer holds a usable object (deleted, or rejected as
        damaged): it is compiled in the background again, never here on the caller's path."""
        try:
            rec[2] = READY if self.mlir().entry(code, fork, compile=False) is not None else COLD
            if rec[2] == READY and not rec[8]:  # (compile=False: the object came from the disk cache)
                self.contracts_from_disk += 1  # compiled by an earlier process or another one meanwhile
        except Exception as exc:
            rec[2] = FAILED
            self.compile_errors += 1
            log.warning(
                "tiered: loading compiled code %s failed, interpreting it: %s: %s",
                symbol_for(code, fork),
                type(exc).__name__,
                exc,
            )
        if rec[2] == COLD:
            rec[7] = False
        state: int = rec[2]
        return state

    # ------------------------------------------------------------------ compilation
    def _hot(self, rec: Record, code: bytes, fork: Fork) -> None:
        rec[2] = QUEUED
        path = self._disk_path(symbol_for(code, fork)) if self.use_disk else None
        if path is not None and path.exists():  # compiled meanwhile by another process
            rec[2] = COMPILED
            return
        if self.mode == "process" and self._disk_path("x") is not None:
            self._submit(rec, code, fork)
            return
        if self.mode == "sync":
            self._compile(rec, code, fork)
            if rec[2] == COMPILED:
                self._activate(rec, code, fork)
            return
        q = self._queue
        if self._worker is None or q is None:
            q = self._queue = queue.Queue()
            self._worker = threading.Thread(target=self._work, args=(q,), name="evm-tiered-compiler", daemon=True)
            self._worker.start()
            atexit.register(self.shutdown)
        q.put((rec, code, fork))

    def _work(self, q: queue.Queue[Job | None]) -> None:
        while True:
            item = q.get()
            if item is None or self._stopping:
                q.task_done()
                return
            try:
                self._compile(*item)
            finally:
                q.task_done()

    def _compile(self, rec: Record, code: bytes, fork: Fork) -> None:
        """Compile `code` into the disk cache (state COMPILED: the main thread loads it at its
        next frame) or, without a usable disk cache, straight into the engine (READY)."""
        t = time.perf_counter()
        sym = symbol_for(code, fork)
        try:
            m = self.mlir()
            disk = m.disk
            if disk is not None and disk.enabled:
                from .compiler.compile import compile_to_object

                obj, sym = compile_to_object(code, fork)
                if self._over_budget(rec, code, fork, time.perf_counter() - t):
                    return
                if not disk.store_code(code, fork, obj):  # could not write: load it here
                    m.entry(code, fork)
                    state = READY
                else:
                    state = COMPILED
            else:
                m.entry(code, fork)
                if self._over_budget(rec, code, fork, time.perf_counter() - t):
                    return
                state = READY
            self.contracts_compiled += 1
            rec[8] = True
            rec[2] = state
        except Exception as exc:
            self._fail(rec, code, fork, f"{type(exc).__name__}: {exc}", tombstone=True)
        finally:
            self.compile_seconds += time.perf_counter() - t

    def _over_budget(self, rec: Record, code: bytes, fork: Fork, seconds: float) -> bool:
        """Thread and sync modes cannot stop a compile in flight (LLVM holds the thread): one that
        took longer than the budget is discarded when it returns and its code marked failed."""
        if seconds <= self.budget:
            return False
        self.compile_timeouts += 1
        self._fail(rec, code, fork, f"compile took {seconds:.2f} s, over the budget of {self.budget:g} s", True)
        return True

    # worker process ------------------------------------------------------------------------
    def _submit(self, rec: Record, code: bytes, fork: Fork) -> None:
        with self._proc_lock:
            if self._proc is None:
                try:
                    self._proc = subprocess.Popen(
                        self.worker_command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        bufsize=0,
                        close_fds=True,
                        cwd=_SOURCE_ROOT,
                    )
                except OSError as exc:
                    self._fail(rec, code, fork, f"cannot start the compile worker: {exc}")
                    return
                self._outq = queue.Queue()
                threading.Thread(
                    target=self._read_results, args=(self._proc,), name="evm-tiered-reader", daemon=True
                ).start()
                threading.Thread(
                    target=self._write_requests, args=(self._proc, self._outq), name="evm-tiered-writer", daemon=True
                ).start()
                threading.Thread(
                    target=self._watch, args=(self._proc,), name="evm-tiered-watchdog", daemon=True
                ).start()
                atexit.register(self.shutdown)
            rid = self._next_id
            self._next_id += 1
            self._pending[rid] = (rec, code, fork)
            self._outq.put(f"{rid} {int(fork)} {code.hex()}\n".encode())

    def _write_requests(self, proc: subprocess.Popen[bytes], outq: queue.Queue[bytes | None]) -> None:
        """Writer thread (a full pipe must never block the frame that made a code hot)."""
        stdin = proc.stdin
        assert stdin is not None  # started with stdin=PIPE
        while True:
            line = outq.get()
            if line is None:
                break
            try:
                stdin.write(line)
            except (OSError, ValueError):  # the worker is gone: the reader fails what is pending
                break
        try:
            stdin.close()
        except OSError:
            pass

    def _watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Watchdog thread: kills the worker when its compile in flight exceeds the budget (a compile
        cannot be interrupted inside MLIR or LLVM, a process can); the reader then marks that code
        failed and sends the requests still queued to a new worker. The budget is the worker's CPU
        seconds (it runs niced: on a busy machine its wall time measures the others' load), and
        WALL_FACTOR budgets of wall time for a worker stuck without using CPU (or without /proc)."""
        tick = min(0.05, self.budget / 4)
        while proc.poll() is None:
            time.sleep(tick)
            with self._proc_lock:
                inflight = self._inflight
                if self._proc is not proc or inflight is None:
                    continue
                cpu0 = inflight[2]
                cpu = _cpu_seconds(proc.pid) if cpu0 is not None else None
                wall = self.budget * (WALL_FACTOR if cpu is not None else 1)
                over_cpu = cpu is not None and cpu0 is not None and cpu - cpu0 > self.budget
                if over_cpu or time.monotonic() - inflight[1] > wall:
                    self._killed = inflight[0]
                    try:
                        proc.kill()
                    except OSError:
                        pass
                    return

    def _read_results(self, proc: subprocess.Popen[bytes]) -> None:
        """Reader thread: `<id> start` when the worker begins a compile, then `<id> ok <seconds>` or
        `<id> err <text>`."""
        assert proc.stdout is not None  # started with stdout=PIPE
        for line in proc.stdout:
            text, _, rest = line.decode(errors="replace").strip().partition(" ")
            status, _, detail = rest.partition(" ")
            if not text.isdigit():  # (the worker writes nothing else there; never let a stray line stop this thread)
                log.warning("tiered: the compile worker wrote %r", line[:200])
                continue
            rid = int(text)
            with self._proc_lock:
                if status == "start":
                    self._inflight = (rid, time.monotonic(), _cpu_seconds(proc.pid))
                    continue
                self._inflight = None
                item = self._pending.pop(rid, None)
            if item is None:
                continue
            rec, code, fork = item
            if status == "ok":
                self.contracts_compiled += 1
                self.compile_seconds += float(detail or 0)
                rec[8] = True
                rec[2] = COMPILED
            else:
                self._fail(rec, code, fork, detail, tombstone=True)
        rc = proc.wait()
        with self._proc_lock:
            pending = dict(self._pending)  # left in _pending until settled below: drain() waits for them
            inflight, self._inflight = self._inflight, None
            killed, self._killed = self._killed, None
            if self._proc is proc:
                self._proc = None
        started = inflight[0] if inflight else None
        for req, (rec, code, fork) in pending.items():
            if req == killed:
                self.compile_timeouts += 1
                self.compile_seconds += self.budget
                self._fail(rec, code, fork, f"compile exceeded the budget of {self.budget:g} s: worker killed", True)
            elif killed is not None and not self._stopping:
                self._submit(rec, code, fork)  # queued behind the abandoned compile: a new worker
            else:  # the worker died on its own: the compile it was running is what killed it
                self._fail(rec, code, fork, f"compile worker exited with status {rc}", req == started and rc != 0)
        with self._proc_lock:
            for req in pending:
                self._pending.pop(req, None)

    def _fail(self, rec: Record, code: bytes, fork: Fork, why: str, tombstone: bool = False) -> None:
        """Interpret `code` from now on; with `tombstone` (the compile itself failed or ran over its
        budget) also in later processes: `<symbol>.failed` in the disk cache's versioned folder."""
        rec[2] = FAILED
        self.compile_errors += 1
        sym = symbol_for(code, fork)
        log.warning("tiered: compiling %s (%d bytes) failed, interpreting it: %s", sym, len(code), why)
        if tombstone and self.use_disk and self._disk_path(sym) is not None:
            from .compiler.cache import DiskCache

            self._tombstones.add(sym)
            DiskCache().mark_failed(sym, why)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued compile has finished (tests, benchmarks); True when idle."""
        q = self._queue
        end = None if timeout is None else time.monotonic() + timeout
        while self._pending or (q is not None and q.unfinished_tasks):
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    def shutdown(self) -> None:
        """Drop queued compiles and wait for the one in flight (so the process never exits while
        LLVM runs on the worker thread); close the worker process's stdin (it exits after its
        current compile). Registered with atexit."""
        if self._proc is not None:
            self._outq.put(None)  # the writer closes the worker's stdin
        q = self._queue
        if self._worker is None or q is None:
            return
        self._stopping = True
        try:
            while True:
                q.get_nowait()
                q.task_done()
        except queue.Empty:
            pass
        q.put(None)
        self._worker.join()
        self._worker = None

    def stats(self) -> BackendStats:
        return {
            "frames_compiled": self.frames_compiled,
            "frames_interpreted": self.frames_interpreted + self.frames_traced,
            "contracts_compiled": self.contracts_compiled,
            "contracts_from_disk": self.contracts_from_disk,
            "compile_errors": self.compile_errors,
            "compile_timeouts": self.compile_timeouts,
            "compile_seconds": round(self.compile_seconds, 3),
        }


def _worker_main() -> int:
    """`python -m evm.tiered`: the compile worker. Reads `<id> <fork> <code hex>` lines, compiles
    each into the disk cache ($EVM_MLIR_CACHE, inherited) and answers `<id> ok <seconds>` or
    `<id> err <reason>`; exits at end of input."""
    from .compiler.cache import DiskCache
    from .compiler.compile import compile_to_object
    from .spec import Fork

    try:  # background work: take a core only when nobody else wants it
        os.nice(_env_int("EVM_MLIR_TIER_NICE", DEFAULT_NICE))
    except OSError:
        pass
    disk = DiskCache()
    # stdout is the answers' channel: keep it for them alone, and send whatever else would be written there
    # (a log line, a library's print, LLVM's own output on fd 1) to stderr, where it cannot be read as one
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    parent = os.getppid()
    try:  # the JIT and its runtime module (built once per cache) before any compile's budget starts
        from .compiler.runtime import get_jit

        get_jit()
    except Exception:  # reported by the first compile
        pass
    for line in sys.stdin.buffer:
        if os.getppid() != parent:  # the parent is gone: leave what it queued
            break
        parts = line.split()
        if len(parts) != 3:
            continue
        rid = parts[0].decode()
        try:  # the parent's watchdog times the compile from this line
            out.write(f"{rid} start\n".encode())
            out.flush()
        except OSError:
            break
        t = time.perf_counter()
        try:
            code = bytes.fromhex(parts[2].decode())
            obj, sym = compile_to_object(code, Fork(int(parts[1])))
            if not disk.store_code(code, int(parts[1]), obj):
                raise OSError(f"cannot write {disk.dir}")
            reply = f"{rid} ok {time.perf_counter() - t:.4f}"
        except Exception as exc:  # reported to the parent, which interprets the code
            reply = f"{rid} err {type(exc).__name__}: {exc}".replace("\n", " ")
        try:
            out.write(reply.encode() + b"\n")
            out.flush()
        except OSError:  # the parent has exited: the object is in the disk cache anyway
            break
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main())
