"""The "tiered" backend (the default): cold code is interpreted, hot code runs compiled.

Every frame goes through `TieredBackend.run_frame(message, host)`. Per (fork, code) it keeps a
small record: how many frames of that code were interpreted and how much gas they burnt *in their
own instructions* (gas used by the frame minus the gas used by its child frames, so a dispatcher
whose callee loops does not become hot itself). A code is **hot** once either count reaches its
threshold; it is then compiled by the `mlir` backend (`evm.compiler`), by default on one
background thread, while the frames of that code keep running on the interpreter. The next frame
after the compile finished runs compiled, and so does every later one. Code whose object file is
already in the on-disk cache (compiled by an earlier process, `$EVM_MLIR_CACHE`) runs compiled
from its first frame. Interpreted and compiled frames mix freely inside one transaction: both call
the same `evm.host.Host`, and the Host sends every child frame back through this backend.

Why a thread: llvmlite's O3 pipeline and object emission (about two thirds of a compile) release
the GIL, so on a second core they cost the interpreter nothing; building the MLIR module (Python)
and running the MLIR pass manager hold the GIL (measured; see docs/tiered.md). The compiled object
goes to the disk cache from the thread; the main thread then loads it into the MCJIT engine at the
next frame of that code (a few ms), so no compile ever waits on the engine's lock.

A compile that fails (an exception anywhere in the toolchain) never reaches the transaction: the
code is marked as failed, interpreted from then on, counted in ``stats()["compile_errors"]`` and
logged on the ``evm.tiered`` logger.

Tuning (environment, read when the backend is created):

  EVM_MLIR_TIER_CALLS       interpreted frames of one code before it is hot        (default 2000)
  EVM_MLIR_TIER_GAS         own gas of one code's interpreted frames before hot    (default 3000000)
  EVM_MLIR_TIER_BACKGROUND  1: compile on a background thread; 0: compile synchronously in the
                            frame that made the code hot                           (default 1)
  EVM_MLIR_TIER_DISK        1: code already in the disk cache runs compiled at once (default 1)

`--evm mlir` still compiles every frame; `--evm interpreter` never compiles.
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import os
import queue
import threading
import time

from .interpreter import InterpreterBackend
from .message import ExecutionResult

log = logging.getLogger("evm.tiered")

# states of a code record (index 2 of the record list)
COLD = 0        # interpreted, counting
QUEUED = 1      # hot, waiting for / being compiled
COMPILED = 2    # object file ready (disk cache), not yet loaded into the engine by the main thread
READY = 3       # native entry loaded: frames run compiled
FAILED = 4      # compile or load failed: interpreted for good

DEFAULT_CALLS = 2000
DEFAULT_GAS = 3_000_000


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.replace("_", ""), 0)
    except ValueError:
        log.warning("%s=%r is not an integer; using %d", name, raw, default)
        return default


def object_symbol(code: bytes, fork) -> str:
    """Symbol (and disk-cache file stem) of `code` at `fork`: the same formula as
    `evm.compiler.compile.symbol_for`, repeated here so that checking the disk cache does not
    import the MLIR bindings (tests/test_tiered.py checks the two agree)."""
    return f"evm_{hashlib.sha256(code).hexdigest()[:24]}_{int(fork)}"


class TieredBackend:
    """Backend "tiered": interpreter for cold code, the mlir backend for hot code."""

    name = "tiered"

    def __init__(self, calls: int | None = None, gas: int | None = None, background: bool | None = None,
                 disk: bool | None = None) -> None:
        self.calls_threshold = calls if calls is not None else _env_int("EVM_MLIR_TIER_CALLS", DEFAULT_CALLS)
        self.gas_threshold = gas if gas is not None else _env_int("EVM_MLIR_TIER_GAS", DEFAULT_GAS)
        self.background = background if background is not None else bool(_env_int("EVM_MLIR_TIER_BACKGROUND", 1))
        self.use_disk = disk if disk is not None else bool(_env_int("EVM_MLIR_TIER_DISK", 1))
        self.interpreter = InterpreterBackend()
        self._mlir = None                 # the "mlir" backend, created on first need
        self._mlir_lock = threading.Lock()
        self._disk_dir = None             # Path of the disk cache's versioned folder (or False)
        self._codes: dict = {}            # fork -> {code bytes -> [frames, own gas, state]}
        self._child_gas = 0               # gas used by the child frames of the running frame
        self._queue: queue.Queue | None = None
        self._worker: threading.Thread | None = None
        self._stopping = False
        # statistics
        self.frames_compiled = 0
        self.frames_interpreted = 0
        self.contracts_compiled = 0       # compiled by this process (background or sync)
        self.contracts_from_disk = 0      # cold start from the disk cache
        self.compile_errors = 0
        self.compile_seconds = 0.0

    # ------------------------------------------------------------------ the mlir backend
    def mlir(self):
        """The shared "mlir" backend instance (created, and its JIT initialised, once)."""
        m = self._mlir
        if m is None:
            with self._mlir_lock:
                m = self._mlir
                if m is None:
                    from .backends import get_backend
                    m = self._mlir = get_backend("mlir")
        return m

    def _disk_path(self, symbol: str):
        d = self._disk_dir
        if d is None:
            d = False
            if self.use_disk:
                try:
                    from .compiler.cache import DiskCache
                    cache = DiskCache()
                    if cache.enabled:
                        d = cache.dir
                except Exception as exc:  # no llvmlite / unusable cache: just interpret cold code
                    log.warning("tiered: disk cache unavailable: %s", exc)
            self._disk_dir = d
        if d is False:
            return None
        return d / f"{symbol}.o"

    # ------------------------------------------------------------------ execution
    def run_frame(self, message, host) -> ExecutionResult:
        code = message.code
        fork = host.fork
        try:
            rec = self._codes[fork][code]
        except KeyError:
            rec = self._first_sight(code, fork)
        except TypeError:  # unhashable code buffer
            code = bytes(code)
            rec = self._codes.get(fork, {}).get(code) or self._first_sight(code, fork)
        state = rec[2]
        if state == COMPILED:
            state = self._activate(rec, code, fork)
        if state == READY:
            self.frames_compiled += 1
            saved = self._child_gas
            result = self._mlir.run_frame(message, host)
            self._child_gas = saved + message.gas - result.gas_left
            return result
        self.frames_interpreted += 1
        saved = self._child_gas
        self._child_gas = 0
        result = self.interpreter.run_frame(message, host)
        used = message.gas - result.gas_left
        if state == COLD:
            rec[0] += 1
            if result.status != "error" or result.error == "OutOfGas":
                rec[1] += used - self._child_gas
            if rec[0] >= self.calls_threshold or rec[1] >= self.gas_threshold:
                self._hot(rec, bytes(code), fork)
        self._child_gas = saved + used
        return result

    def _first_sight(self, code, fork) -> list:
        code = bytes(code)
        rec = [0, 0, COLD]
        self._codes.setdefault(fork, {})[code] = rec
        path = self._disk_path(object_symbol(code, fork)) if self.use_disk else None
        if path is not None and path.exists():
            if self._activate(rec, code, fork) == READY:
                self.contracts_from_disk += 1
        return rec

    def _activate(self, rec: list, code: bytes, fork) -> int:
        """Load the compiled object of `code` (disk cache) into the engine: READY, or FAILED."""
        try:
            self.mlir().entry(code, fork)
            rec[2] = READY
        except Exception as exc:
            rec[2] = FAILED
            self.compile_errors += 1
            log.warning("tiered: loading compiled code %s failed, interpreting it: %s: %s",
                        object_symbol(code, fork), type(exc).__name__, exc)
        return rec[2]

    # ------------------------------------------------------------------ compilation
    def _hot(self, rec: list, code: bytes, fork) -> None:
        rec[2] = QUEUED
        if not self.background:
            self._compile(rec, code, fork)
            if rec[2] == COMPILED:
                self._activate(rec, code, fork)
            return
        if self._worker is None:
            self._queue = queue.Queue()
            self._worker = threading.Thread(target=self._work, name="evm-tiered-compiler", daemon=True)
            self._worker.start()
            atexit.register(self.shutdown)
        self._queue.put((rec, code, fork))

    def _work(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            if item is None or self._stopping:
                q.task_done()
                return
            try:
                self._compile(*item)
            finally:
                q.task_done()

    def _compile(self, rec: list, code: bytes, fork) -> None:
        """Compile `code` into the disk cache (state COMPILED: the main thread loads it at its
        next frame) or, without a usable disk cache, straight into the engine (READY)."""
        t = time.perf_counter()
        sym = object_symbol(code, fork)
        try:
            m = self.mlir()
            disk = m.disk
            if disk is not None and disk.enabled:
                from .compiler.compile import compile_to_object
                obj, sym = compile_to_object(code, fork)
                disk.store(sym, obj)
                if not (disk.dir / f"{sym}.o").exists():  # could not write: load it here
                    m.entry(code, fork)
                    state = READY
                else:
                    state = COMPILED
            else:
                m.entry(code, fork)
                state = READY
            self.contracts_compiled += 1
            rec[2] = state
        except Exception as exc:
            rec[2] = FAILED
            self.compile_errors += 1
            log.warning("tiered: compiling %s (%d bytes) failed, interpreting it: %s: %s",
                        sym, len(code), type(exc).__name__, exc)
        finally:
            self.compile_seconds += time.perf_counter() - t

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued compile has finished (tests, benchmarks); True when idle."""
        q = self._queue
        if q is None:
            return True
        end = None if timeout is None else time.monotonic() + timeout
        while q.unfinished_tasks:
            if end is not None and time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    def shutdown(self) -> None:
        """Drop queued compiles and wait for the one in flight (so the process never exits while
        LLVM runs on the worker thread). Registered with atexit."""
        if self._worker is None:
            return
        self._stopping = True
        q = self._queue
        try:
            while True:
                q.get_nowait()
                q.task_done()
        except queue.Empty:
            pass
        q.put(None)
        self._worker.join()
        self._worker = None

    def stats(self) -> dict:
        return {"frames_compiled": self.frames_compiled, "frames_interpreted": self.frames_interpreted,
                "contracts_compiled": self.contracts_compiled, "contracts_from_disk": self.contracts_from_disk,
                "compile_errors": self.compile_errors, "compile_seconds": round(self.compile_seconds, 3)}
