"""The "mlir" backend: `run_frame(message, host) -> ExecutionResult` runs a frame as native code.

Per execution the Python work is: a dict lookup of the compiled entry (code bytes -> ctypes
function), a pooled frame context (per depth), three int64 stores (gas, calldata pointer and
length), the ctypes call, and reading the status, gas and output back."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from ..message import ExecutionResult
from . import layout as L
from .cache import DiskCache, symbol_for
from .context import FrameContext, FunctionTable
from .hostcalls import CONTEXTS, LOG_LEN_Q, NDIRTY_Q, REFUND_Q, ST_EXCEPTION, flush_slots, install
from .precompile_calls import PRECOMPILES_KEY, NativePrecompiles
from .runtime import get_jit

if TYPE_CHECKING:
    from ..interfaces import BackendStats, NativeHost
    from ..message import Message
    from ..precompiles import Precompile
    from ..spec import Fork

_ERRORS = dict(L.ERROR_NAMES)
# context fields run_frame reads and writes (layout.py), as int64 indices of FrameContext.q
_GAS_Q = L.GAS // 8
_MEM_PTR_Q = L.MEM_PTR // 8
_MEM_CAP_Q = L.MEM_CAP // 8
_RET_OFF_Q = L.RET_OFF // 8
_RET_LEN_Q = L.RET_LEN // 8
_FAULT_PC_Q = L.FAULT_PC // 8
_FAULT_H_Q = L.FAULT_H // 8
_PC_MASK_Q = L.PC_MASK // 8
_STATIC_Q = L.STATIC // 8
_HALT_Q = L.HALT // 8
_TOUCH_FN_Q = L.TOUCH_FN // 8
_TOUCH_ADDR_Q = L.TOUCH_ADDR // 8
_FRAMES_Q = L.FRAMES // 8


# CompiledEntry.flags, from the code (bytes inside PUSH data count too: a superset is enough)
CALLS = 1  # may CALL* (its frames read PC_MASK: `may_call`)
WRITES = 2  # may leave native writes or LOGs to write back (`may_write`)
STORAGE = 4  # may SLOAD or SSTORE (its frames set TOUCH_FN and TOUCH_ADDR: ir/pyapi.ll)


class CompiledEntry(Protocol):
    """A contract's native entry point, called with its frame context's `arg`, the message's gas and its
    calldata as bytes (Jit.entry: a Python builtin through the C API, which stores the last two into the
    context itself, else a ctypes function behind a Python function that does). It returns the status, or
    (the builtin) the frame's ExecutionResult when it succeeded (STOP or RETURN). Its flags (CALLS | WRITES | STORAGE) are kept
    beside it."""

    def __call__(self, ctx: Any, gas: int, data: bytes, /) -> int | ExecutionResult: ...


class MlirBackend:
    name = "mlir"

    def __init__(self, disk_cache: bool | str = True) -> None:
        self.jit = get_jit()
        self.table = FunctionTable()
        install(self.table)
        # fork -> {code bytes -> (ctypes entry, its flags)} (a tuple: run_frame unpacks it, cheaper than an attribute)
        self._fns: dict[Fork, dict[bytes, tuple[CompiledEntry, int]]] = {}
        self._symbols: dict[str, tuple[CompiledEntry, int]] = {}
        self._pool: list[FrameContext] = []
        self._spares: list[FrameContext] = []  # contexts for frames of other threads
        self._lock = threading.Lock()
        self.disk = DiskCache(disk_cache if isinstance(disk_cache, str) else None) if disk_cache else None
        # statistics: contracts compiled / loaded from disk (frames run: each context counts its own, FRAMES)
        self.frames_traced = 0
        self.compiled = 0
        self.disk_hits = 0
        self.compile_seconds = 0.0

    # ---------------------------------------------------------------- compilation
    @overload
    def entry(self, code: bytes, fork: Fork, compile: Literal[True] = True) -> CompiledEntry: ...
    @overload
    def entry(self, code: bytes, fork: Fork, compile: bool) -> CompiledEntry | None: ...

    def entry(self, code: bytes, fork: Fork, compile: bool = True) -> CompiledEntry | None:
        """Native entry point of `code` at `fork` (compiling or loading it once). With
        compile=False only a valid cached object is loaded: None when there is none."""
        known = self._known(code, fork, compile)
        return None if known is None else known[0]

    def _known(self, code: bytes, fork: Fork, compile: bool = True) -> tuple[CompiledEntry, int] | None:
        """(entry, flags) of `code` at `fork` from the backend's table, loaded (or compiled) into it once."""
        fns = self._fns.get(fork)
        if fns is None:
            fns = self._fns.setdefault(fork, {})
        known = fns.get(code)
        if known is None:
            known = self._load(bytes(code), fork, compile)
            if known is not None:
                fns[bytes(code)] = known
        return known

    def _load(self, code: bytes, fork: Fork, compile: bool = True) -> tuple[CompiledEntry, int] | None:
        with self._lock:
            sym = symbol_for(code, fork)
            known = self._symbols.get(sym)
            if known is not None:
                return known
            # validated before it is mapped (cache.py): anything unusable is deleted and None
            obj = self.disk.load_code(code, fork) if self.disk else None
            if obj is not None:
                self.disk_hits += 1
            elif not compile:
                return None
            else:
                import time

                # Loaded here: a process that only runs cached objects never imports the MLIR bindings.
                from .compile import compile_to_object

                t = time.perf_counter()
                obj, _ = compile_to_object(code, fork)
                self.compile_seconds += time.perf_counter() - t
                self.compiled += 1
                if self.disk:
                    self.disk.store_code(code, fork, obj)
            fn: CompiledEntry = self.jit.entry(self.jit.load_object(obj, sym))
            flags = (
                (CALLS if may_call(code) else 0)
                | (WRITES if may_write(code) else 0)
                | (STORAGE if b"\x54" in code or b"\x55" in code else 0)  # SLOAD or SSTORE (PUSH data too)
            )
            self._symbols[sym] = known = (fn, flags)
            return known

    # ---------------------------------------------------------------- contexts
    def _context(self, depth: int) -> FrameContext:
        pool = self._pool
        while len(pool) <= depth:
            c = FrameContext(self.table, len(pool))
            CONTEXTS[c.addr] = c
            pool.append(c)
        c = pool[depth]
        if c.busy:  # another thread runs a frame at this depth: use a spare context
            with self._lock:
                for c in self._spares:
                    if not c.busy:
                        c.busy = True  # claimed (run_frame sets it again)
                        return c
                c = FrameContext(self.table, depth)
                c.busy = True
                CONTEXTS[c.addr] = c
                self._spares.append(c)
        return c

    # ---------------------------------------------------------------- execution
    def run_frame(self, message: Message, host: NativeHost) -> ExecutionResult:
        # The path every compiled frame takes: each line here costs tens of ns per message call
        # (docs/compiler.md, "The message path"), so what depends only on the code is looked up once
        # (fn.flags) and the common case (bytes calldata, a free pooled context) runs straight.
        try:
            fn, flags = self._fns[host.fork][message.code]
        except (KeyError, TypeError):
            known = self._known(message.code, host.fork)
            assert known is not None  # (compile=True: an entry or an exception)
            fn, flags = known
        depth = message.depth
        try:
            c = self._pool[depth]
        except IndexError:
            c = self._context(depth)
        if c.busy:
            c = self._context(depth)
        c.busy = True
        c.message = message
        c.host = host
        data = message.data
        if type(data) is not bytes:  # (the entry takes exact bytes; the context keeps them alive)
            data = c.calldata = bytes(data)
        q = c.q
        if flags:
            if flags & CALLS:  # only code with CALL* reads PC_MASK (~0.2 us, not paid by other frames)
                q[_PC_MASK_Q] = precompile_mask(host)
            if flags & WRITES:  # STATIC is read by nothing but the native SSTORE, TSTORE and LOG (ir/slots.ll)
                q[_STATIC_Q] = message.is_static  # native stores leave a static frame's writes to the Host
            if flags & STORAGE:  # the runtime fetches cold slots itself (ir/pyapi.ll): what it calls, on what
                c.touch = touch = host.touch_slot
                q[_TOUCH_FN_Q] = id(touch)
                q[_TOUCH_ADDR_Q] = id(message.target)
        try:
            rc: Any = fn(c.arg, message.gas, data)  # (the entry stores gas and calldata: GAS, CD_PTR, CD_LEN)
        except BaseException:  # a Python exception the runtime's C-API calls left (ctypes raised it)
            c.busy = False
            q[_HALT_Q] = 0
            c.drop_slots()
            raise
        c.busy = False
        # hostcalls.native_pending, inlined, for code that can leave any (SSTORE, TSTORE, LOG*): native
        # writes and logs are kept when the frame succeeded (a result made by the builtin entry, or status <= 1)
        if flags & WRITES and (q[NDIRTY_Q] or q[REFUND_Q] or q[LOG_LEN_Q]):
            if type(rc) is ExecutionResult or rc <= 1:
                flush_slots(c)
            else:
                c.drop_slots()
        if type(rc) is ExecutionResult:  # STOP or RETURN, the result made by the builtin entry (pyapi.ll)
            return rc
        if rc == 1:
            n = q[_RET_LEN_Q]
            if n:
                off = q[_RET_OFF_Q]
                if q[_MEM_CAP_Q] != c.mem_cap:  # the buffer grew, so it may have moved (context.refresh_view)
                    c.refresh_view()
                return ExecutionResult("success", c.mem_chars[off : off + n], q[_GAS_Q])
            return ExecutionResult("success", b"", q[_GAS_Q])
        if rc == 0:
            return ExecutionResult("success", b"", q[_GAS_Q])
        if rc == 2:
            n = q[_RET_LEN_Q]
            if n and q[_MEM_CAP_Q] != c.mem_cap:
                c.refresh_view()
            off = q[_RET_OFF_Q]
            return ExecutionResult("revert", c.mem_chars[off : off + n] if n else b"", q[_GAS_Q])
        return self._error(c, rc)

    def _error(self, c: FrameContext, rc: int) -> ExecutionResult:
        halt = c.q[_HALT_Q]
        if halt:  # an op-library function of compact code halted the frame with this status
            c.q[_HALT_Q] = 0
            rc = halt
        if rc == ST_EXCEPTION:
            exc, c.exception = c.exception, None
            assert exc is not None  # (the callback that returned ST_EXCEPTION stored it)
            raise exc
        if rc == L.ST_HOST_ERROR:
            name, c.error = c.error, None
            return ExecutionResult("error", b"", 0, name)
        if rc == L.ST_STACK_FAULT:
            q = c.q
            return ExecutionResult(
                "error",
                b"",
                0,
                stack_fault_error(c.message.code, c.host.fork, q[_FAULT_PC_Q], q[_FAULT_H_Q], q[_GAS_Q]),
            )
        return ExecutionResult("error", b"", 0, _ERRORS.get(rc, f"status {rc}"))

    @property
    def frames(self) -> int:
        """Frames run as native code: the sum of the contexts' FRAMES counters (the compiled prologue
        increments its context's)."""
        return sum(c.q[_FRAMES_Q] for c in (*self._pool, *self._spares))

    def stats(self) -> BackendStats:
        # Every frame this backend runs is compiled; frames of messages given to it with a tracer
        # run on the tracing interpreter (evm.execute) and are counted as interpreted.
        return {
            "frames_compiled": self.frames,
            "frames_interpreted": self.frames_traced,
            "contracts_compiled": self.compiled,
            "contracts_from_disk": self.disk_hits,
            "compile_seconds": round(self.compile_seconds, 3),
        }


def stack_fault_error(code: bytes, fork: Fork, pc: int, height: int, gas: int) -> str:
    """The error the interpreter reports for a frame whose compiled code failed a segment's stack
    guard (codegen `stack_guard`) at `pc` with `height` items and `gas` left: the interpreter's
    own loop (bounds, then static gas, per instruction, from its instruction table) replayed over
    the segment's pure instructions until it stops (analysis.py, "Segments")."""
    from ..interpreter import instruction_table
    from ..opcodes import opcode_info

    if gas < 0:  # an earlier instruction's charge was not checked yet
        return "OutOfGas"
    table = instruction_table(fork)
    while pc < len(code):
        op = code[pc]
        _, static_gas, lo, hi = table[op]
        if height < lo:
            return "StackUnderflow"
        if height > hi:
            return "StackOverflow"
        gas -= static_gas
        if gas < 0:
            return "OutOfGas"
        info = opcode_info(op, fork)
        if not info.valid:
            break
        height += info.outputs - info.inputs
        pc += 1 + info.immediate
    raise RuntimeError(f"stack guard failed at pc {pc} but the segment runs without a stack fault")


# ---------------------------------------------------------------- native precompile calls
# rt_precompile (ir/sha256.ll) takes CALL*s without value to addresses below 64 whose PC_MASK bit is set
NATIVE_LIMIT = 64


def may_call(code: bytes) -> bool:
    """Whether `code` may contain CALL/CALLCODE/DELEGATECALL/STATICCALL (bytes inside PUSH data
    count too: a superset is enough)."""
    return any(op in code for op in (b"\xf1", b"\xf2", b"\xf4", b"\xfa"))


def may_write(code: bytes) -> bool:
    """Whether `code` may leave native writes, a refund delta or LOGs in its frame context for the
    backend to write back: SSTORE, TSTORE or LOG0..LOG4 anywhere in it (PUSH data counts too)."""
    return any(op in code for op in (b"\x55", b"\x5d", b"\xa0", b"\xa1", b"\xa2", b"\xa3", b"\xa4"))


def _native_precompiles(host: NativeHost) -> NativePrecompiles:
    """(mask of every bit, frozenset of the addresses, ((bit, address), ...), {address: function} of those
    at 0x40 and above) of the precompiles compiled code may call without `Host.call` for this host
    (rt_precompile below 0x40, precompile_calls.lean_outcome above): `NativeHost.plain_precompiles()` (the
    fork's own implementations at undelegated addresses, none while tracing)."""
    out: list[tuple[int, bytes]] = []
    high: dict[bytes, Precompile] = {}
    for a, fn in host.plain_precompiles().items():
        n = int.from_bytes(a, "big")
        if n < NATIVE_LIMIT:
            out.append((1 << n, a))
        else:
            high[a] = fn
    mask = 0
    for bit, _ in out:
        mask |= bit
    return mask, frozenset(a for _, a in out), tuple(out), high


def native_precompiles(host: NativeHost) -> NativePrecompiles:
    """_native_precompiles(host), computed once per Host (the code at precompile addresses is fixed)."""
    cache = host.backend_cache
    try:
        # what this function stored (backend_cache values are `object`; a cast() would cost ~30 ns per frame)
        return cache[PRECOMPILES_KEY]  # type: ignore[return-value]
    except KeyError:
        pcs = cache[PRECOMPILES_KEY] = _native_precompiles(host)
        return pcs


def precompile_mask(host: NativeHost) -> int:
    """ctx PC_MASK for a frame of `host`: those precompiles that are warm now (within a transaction
    all of them are). A cold one takes the Python path, which charges and warms it (EIP-2929). A bit
    stays valid for the whole frame: an address warm when the frame starts (or warmed by it) can only
    turn cold again when a snapshot older than the frame is reverted, i.e. after the frame ended."""
    mask, addrs, pcs, _ = native_precompiles(host)
    if not pcs or host.warm_addresses_include(addrs):
        return mask
    m = 0
    warm = host.is_warm_address
    for bit, a in pcs:
        if warm(a):
            m |= bit
    return m
