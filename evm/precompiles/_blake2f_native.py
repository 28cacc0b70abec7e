"""BLAKE2b compression F compiled to native code at first use with llvmlite (a project dependency),
from the LLVM IR of `blake2f.ll` beside it (the same function as ``blake2f.compress``).
``load()`` returns ``None`` when the JIT is not available, and the caller falls back to pure Python.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from importlib import resources

from llvmlite import binding as llvm

_engine = None  # keeps the JIT (and so the function's code) alive


def _ir() -> str:
    return resources.files("evm.precompiles").joinpath("blake2f.ll").read_text()


def load() -> Callable[..., None] | None:
    """The native ``blake2f(rounds, h, m, t0, t1, final_mask)`` as a ctypes function, or None."""
    global _engine
    if sys.byteorder != "little":
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target_machine = llvm.Target.from_default_triple().create_target_machine(opt=3)
        mod = llvm.parse_assembly(_ir())
        mod.verify()
        builder = llvm.create_pass_builder(target_machine, llvm.create_pipeline_tuning_options(speed_level=3))
        builder.getModulePassManager().run(mod, builder)
        engine = llvm.create_mcjit_compiler(mod, target_machine)
        engine.finalize_object()
    except Exception:  # pragma: no cover - no usable LLVM in this environment
        return None
    _engine = engine
    u64p = ctypes.POINTER(ctypes.c_uint64)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_uint64, u64p, u64p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)
    return proto(engine.get_function_address("blake2f"))
