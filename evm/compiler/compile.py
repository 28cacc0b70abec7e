"""Bytecode -> MLIR -> LLVM dialect -> LLVM IR -> optimised object file."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from mlir.passmanager import PassManager
from mlir._mlir_libs._mlirDialectsLLVM import translate_module_to_llvmir

from .analysis import analyze
from .cache import symbol_for
from .codegen import Emitter
from .opinfo import OUTLINED
from .runtime import get_jit

PIPELINE = ("builtin.module(func.func(canonicalize),convert-arith-to-llvm,convert-cf-to-llvm,"
            "convert-func-to-llvm,reconcile-unrealized-casts)")
# The compact tier folds constants without region simplification (block merging is superlinear in
# the number of similar blocks); folding first matters: the dialect conversion's own folding is
# quadratic on chains of foldable operations (24k NOTs: 95 s).
PIPELINE_COMPACT = ("builtin.module(func.func(canonicalize{region-simplify=disabled}),convert-arith-to-llvm,"
                    "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)")
# Contracts of more instructions than this compile in the compact tier (see use_compact).
COMPACT_INSTRUCTIONS = 2500
OPT_LEVEL = 3
# Contracts with more instructions than this are compiled in the fast tier: O1 IR optimisation and
# O0 instruction selection (compile time stays ~linear; the code is slower but still native).
FAST_TIER_INSTRUCTIONS = 2500
FAST_TIER_BLOCKS = 1500      # MLIR blocks of the function (EVM blocks + checks + slow paths)
NO_OPT_BLOCKS = 8000


NO_OPT_EVM_BLOCKS = 1000
# Beyond those limits, code of few EVM blocks (long straight-line runs, e.g. unrolled MSTOREs) still
# gets the optimising instruction selector: it works one basic block at a time (linear), and its
# code is half the size of O0's, which matters when megabytes of straight-line code run once
# (memory_grow_mstore: 128 -> 109 us, 2 -> 6 s to compile 20 KB).
STRAIGHT_EVM_BLOCKS = 64


def tier_for(n_instr: int, n_blocks: int, n_evm_blocks: int = 0) -> str:
    if n_instr <= FAST_TIER_INSTRUCTIONS and n_blocks <= FAST_TIER_BLOCKS:
        return "full"
    if n_blocks <= NO_OPT_BLOCKS and n_evm_blocks <= NO_OPT_EVM_BLOCKS:
        return "cheap"
    if n_evm_blocks <= STRAIGHT_EVM_BLOCKS:
        return "straight"
    return "none"


def use_compact(an) -> bool:
    """Whether `an` is compiled in the compact tier (op-library calls, no IR optimisation)."""
    forced = os.environ.get("EVM_MLIR_COMPACT", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return sum(len(b.instrs) for b in an.blocks) > COMPACT_INSTRUCTIONS


@dataclass
class CompileStats:
    analysis_s: float = 0.0
    mlir_build_s: float = 0.0
    lower_s: float = 0.0
    llvm_s: float = 0.0
    tier: str = ""
    mlir_blocks: int = 0


def build_mlir(code: bytes, fork, symbol: str | None = None, compact: bool | None = None):
    an = analyze(code, fork)
    if compact is None:
        compact = use_compact(an)
    if compact:
        an = analyze(code, fork, OUTLINED)
    em = Emitter(an, fork, symbol or symbol_for(code, fork), compact)
    return em.build(), em


def to_llvm_ir(module, compact: bool = False) -> str:
    pm = PassManager.parse(PIPELINE_COMPACT if compact else PIPELINE, context=module.context)
    pm.run(module.operation)
    return translate_module_to_llvmir(module.operation)


def compile_to_object(code: bytes, fork, stats: CompileStats | None = None) -> tuple[bytes, str]:
    sym = symbol_for(code, fork)
    t0 = time.perf_counter()
    an = analyze(code, fork)
    compact = use_compact(an)
    if compact:
        an = analyze(code, fork, OUTLINED)
    t1 = time.perf_counter()
    em = Emitter(an, fork, sym, compact)
    module = em.build()
    t2 = time.perf_counter()
    with module.context:
        ir_text = to_llvm_ir(module, compact)
    t3 = time.perf_counter()
    tier = "compact" if compact else tier_for(sum(len(b.instrs) for b in an.blocks), em.n_blocks, len(an.blocks))
    obj = get_jit().compile_ir(ir_text, OPT_LEVEL, tier)
    t4 = time.perf_counter()
    if stats is not None:
        stats.analysis_s, stats.mlir_build_s, stats.lower_s, stats.llvm_s = t1 - t0, t2 - t1, t3 - t2, t4 - t3
        stats.tier = tier
        stats.mlir_blocks = em.n_blocks
    return obj, sym
