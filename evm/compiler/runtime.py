"""Native runtime of the compiled backend: one LLVM module (the .ll files of evm/compiler/ir/)
compiled once per process with llvmlite (and cached on disk), plus the JIT that loads compiled
contracts as object files.

The runtime holds the pure hot work the generated code calls through the function table of its
frame context (so compiled contracts contain no absolute address of this process):

* ``rt_mem_grow(ctx, gas, new_end) -> gas'``: memory expansion gas + growth (realloc, zero fill),
  returns a negative number when out of gas;
* ``rt_keccak(data, len, out)``: Keccak-256 (24-round Keccak-f[1600], unrolled);
* ``rt_exp(base, exponent) -> i256``: square-and-multiply;
* ``rt_copy(dst, src, src_len, src_off, n)``: copy with zero padding past the end of the source
  (CALLDATACOPY, CODECOPY, CALLDATALOAD past the end, EXTCODECOPY...);
* ``rt_sha256`` and ``rt_precompile`` (CALL* to a precompile): ir/sha256.ll, with libcrypto's
  digests and the Python callback for the other precompiles bound at load (precompile_calls.py);
* ``rt_sload_cold``, ``rt_sstore_cold`` and ``rt_dirty_lists``: ir/pyapi.ll, cold storage slots and the
  write-back through CPython's C API, bound at load (pyapi.py).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import llvmlite.binding as llvm

from common.heap import freeze_long_lived

from . import layout as L
from .runtime_slots import SLOT_FUNCTIONS

if TYPE_CHECKING:
    from ..message import ExecutionResult

RUNTIME_FUNCTIONS = (
    "rt_mem_grow",
    "rt_keccak",
    "rt_exp",
    "rt_copy",
    "rt_udiv",
    "rt_umod",
    "rt_sdiv",
    "rt_smod",
    "rt_addmod",
    "rt_mulmod",
    "rt_sha256",
    "rt_precompile",
    "rt_py_entry",
    *SLOT_FUNCTIONS,
)
UNROLL_OPTIONS = ("-unroll-runtime", "-unroll-runtime-multi-exit")
_lock = threading.Lock()
_GAS_Q, _CD_PTR_Q, _CD_LEN_Q = L.GAS // 8, L.CD_PTR // 8, L.CD_LEN // 8  # (the ctypes entry's stores)
_OPLIB_REF = re.compile(rb"evmop_[A-Z0-9]+_([0-9]+)")


def runtime_ir() -> str:
    """The runtime module's LLVM IR (the .ll files of evm/compiler/ir/)."""
    from .ir import runtime_module

    return runtime_module(llvm.get_default_triple().startswith("x86_64"))


_jit: Jit | None = None


class Jit:
    """One MCJIT engine per process: the runtime module, then every contract object file."""

    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()  # the runtime's 128/64 division is inline asm (x86-64 DIV)
        # EVM loops have several exits (gas, stack, the loop test): let LLVM unroll them with
        # run-time trip counts anyway (fibonacci: 1.75 -> 0.77 us per call).
        for opt in UNROLL_OPTIONS:
            llvm.set_option("", opt)
        target = llvm.Target.from_default_triple()
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
        self.tm = target.create_target_machine(
            cpu=cpu, features=features, opt=3, codemodel="default", reloc="pic", jit=False
        )
        # large contracts: instruction selection of i256 code at O1+ is superlinear (weierstrudel,
        # 14 KB: 11 s at O1 vs 0.9 s at O0 after the same IR optimisation)
        self.tm_fast = target.create_target_machine(
            cpu=cpu, features=features, opt=0, codemodel="default", reloc="pic", jit=False
        )
        self._objects: list[llvm.ObjectFileRef] = []  # kept alive while the engine uses them
        self._oplibs: set[int] = set()
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self._add_object(self._runtime_object())
        self.runtime = {name: self.engine.get_function_address(name) for name in RUNTIME_FUNCTIONS}
        from .precompile_calls import bind

        self.digests = bind(self.engine)  # {"sha256"/"ripemd160": address} of libcrypto's, those found
        from . import pyapi

        # the runtime's C-API calls (cold slots, write-back lists, contracts' entries), or None: the Python paths
        self.pyapi = pyapi.bind(self.engine)
        self.dirty_lists = pyapi.DIRTY_LISTS(self.runtime["rt_dirty_lists"]) if self.pyapi else None

    def entry(self, address: int) -> Callable[[Any, int, bytes], int | ExecutionResult]:
        """The compiled contract function at `address` as a callable taking its frame context's `arg`
        (context.FrameContext), the gas and the calldata (bytes): a Python builtin through the C API
        (pyapi.native_entry), else a Python function storing gas and calldata into the context (`arg` is
        the context then) and calling a ctypes function."""
        if self.pyapi:
            from .pyapi import native_entry

            return native_entry(self.runtime["rt_py_entry"], address)
        from .context import ENTRY_RAW, bytes_address

        raw = ENTRY_RAW(address)

        def entry(ctx: Any, gas: int, data: bytes) -> int:
            q = ctx.q
            q[_GAS_Q] = gas
            q[_CD_PTR_Q] = bytes_address(data)
            q[_CD_LEN_Q] = len(data)
            rc: int = raw(ctx.ptr)
            return rc

        return entry

    def _runtime_object(self) -> bytes:
        """The runtime module's object file, from the disk cache when present (compiling the
        unrolled Keccak takes ~1.5 s)."""
        from .cache import DiskCache

        text = runtime_ir()
        digest = hashlib.sha256(text.encode()).digest()
        disk = DiskCache()
        obj = disk.load("runtime", digest)
        if obj is None:
            obj = self.compile_ir(text, 3)
            disk.store("runtime", digest, 0, obj)
        return obj

    def _add_object(self, obj: bytes) -> None:
        ref = llvm.ObjectFileRef.from_data(obj)
        self._objects.append(ref)
        self.engine.add_object_file(ref)
        self.engine.finalize_object()

    def optimize(self, mod: llvm.ModuleRef, level: int) -> None:
        pto = llvm.create_pipeline_tuning_options(speed_level=level)
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)

    def compile_ir(self, ir_text: str, level: int = 3, tier: str = "full") -> bytes:
        """LLVM IR text -> object file bytes. Tiers (compile.choose_tier): "full" (the O`level`
        pipeline, optimising instruction selection), "cheap" (SROA + InstCombine + SimplifyCFG,
        the fast instruction selector), "compact" (no IR passes, the fast instruction selector:
        linear in the size of the code)."""
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
        if tier == "full":
            self.optimize(mod, level)
            full: bytes = self.tm.emit_object(mod)
            return full
        if tier == "cheap":
            pto = llvm.create_pipeline_tuning_options(speed_level=1)
            pb = llvm.create_pass_builder(self.tm, pto)
            fpm = llvm.create_new_function_pass_manager()
            fpm.add_sroa_pass()
            fpm.add_instruction_combine_pass()
            fpm.add_simplify_cfg_pass()
            for f in mod.functions:
                if not f.is_declaration:
                    fpm.run(f, pb)
        elif tier != "compact":
            raise ValueError(f"unknown compile tier {tier!r}")
        fast: bytes = self.tm_fast.emit_object(mod)
        return fast

    def ensure_oplib(self, fork: int) -> None:
        """Load the op library of `fork` (oplib.py) into the engine: from the disk cache, else
        compiled (~0.4 s) and stored there."""
        if fork in self._oplibs:
            return
        from .cache import DiskCache

        disk = DiskCache()
        key = f"oplib_{fork}"
        # the op library is built from the sources the cache version covers: its name and fork
        # identify it
        digest = hashlib.sha256(key.encode()).digest()
        obj = disk.load(key, digest, fork)
        if obj is None:
            from ..spec import Fork
            from .oplib import oplib_ir

            obj = self.compile_ir(oplib_ir(Fork(fork)), 3)
            disk.store(key, digest, fork, obj)
        with _lock:
            if fork not in self._oplibs:
                self._add_object(obj)
                self._oplibs.add(fork)

    def load_object(self, obj: bytes, symbol: str) -> int:
        for fork in {int(m) for m in _OPLIB_REF.findall(obj)}:  # compact-tier code calls the op library
            self.ensure_oplib(fork)
        with _lock:
            self._add_object(obj)
            addr: int = self.engine.get_function_address(symbol)
        if not addr:
            raise RuntimeError(f"symbol {symbol} not found in compiled object")
        return addr


def get_jit() -> Jit:
    global _jit
    if _jit is None:
        with _lock:
            if _jit is None:
                _jit = Jit()
                # its modules live as long as the process: keep full collections from walking them
                freeze_long_lived()
    return _jit
