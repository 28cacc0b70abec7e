"""Bytecode -> MLIR -> LLVM dialect -> LLVM IR -> optimised object file."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from mlir import ir
from mlir._mlir_libs._mlirDialectsLLVM import translate_module_to_llvmir
from mlir.passmanager import PassManager

from ..errors import CompileError
from ..spec import Fork
from .analysis import Analysis, analyze
from .cache import symbol_for
from .codegen import Emitter
from .opinfo import OUTLINED, inline_cost
from .runtime import get_jit

PIPELINE = (
    "builtin.module(func.func(canonicalize),convert-arith-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm,reconcile-unrealized-casts)"
)
# The compact tier folds constants without region simplification (block merging is superlinear in
# the number of similar blocks); folding first matters: the dialect conversion's own folding is
# quadratic on chains of foldable operations (24k NOTs: 95 s).
PIPELINE_COMPACT = (
    "builtin.module(func.func(canonicalize{region-simplify=disabled}),convert-arith-to-llvm,"
    "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)"
)
OPT_LEVEL = 3

# Tiers (docs/compiler.md, "Compile tiers"). The cost of a contract's inline code is estimated from
# its instructions before anything is built (`opinfo.inline_cost`: the MLIR operations its handlers
# emit); LLVM's O3 pipeline costs ~100-200 us per operation and grows faster than linearly, the
# light pipeline with the fast instruction selector ~30 us, so each tier takes code up to a budget
# that keeps it well under a second here, and the rest is compact (one op-library call per
# instruction: linear, ~40 us per instruction for all stages together).
FULL_BUDGET = 4_000
CHEAP_BUDGET = 20_000
TIERS = ("full", "cheap", "compact")


def choose_tier(an: Analysis) -> str:
    forced = os.environ.get("EVM_MLIR_TIER", "").strip().lower()
    if forced:
        if forced not in TIERS:
            raise CompileError(f"EVM_MLIR_TIER={forced!r}: expected one of {', '.join(TIERS)}")
        return forced
    cost = inline_cost(an)
    if cost <= FULL_BUDGET:
        return "full"
    if cost <= CHEAP_BUDGET:
        return "cheap"
    return "compact"


@dataclass
class CompileStats:
    analysis_s: float = 0.0
    mlir_build_s: float = 0.0
    lower_s: float = 0.0
    llvm_s: float = 0.0
    tier: str = ""
    mlir_blocks: int = 0


def build_mlir(
    code: bytes, fork: Fork, symbol: str | None = None, compact: bool | None = None
) -> tuple[ir.Module, Emitter]:
    an = analyze(code, fork)
    if compact is None:
        compact = choose_tier(an) == "compact"
    if compact:
        an = analyze(code, fork, OUTLINED)
    em = Emitter(an, fork, symbol or symbol_for(code, fork), compact)
    return em.build(), em


def to_llvm_ir(module: ir.Module, compact: bool = False) -> str:
    pm = PassManager.parse(PIPELINE_COMPACT if compact else PIPELINE, context=module.context)
    pm.run(module.operation)
    text: str = translate_module_to_llvmir(module.operation)
    return text


def compile_to_object(code: bytes, fork: Fork, stats: CompileStats | None = None) -> tuple[bytes, str]:
    """The object file of `code` at `fork` and its entry symbol; CompileError if any stage fails."""
    try:
        return _compile_to_object(code, fork, stats)
    except CompileError:
        raise
    except Exception as exc:  # a compiler fault: named, with the code it failed on
        raise CompileError(
            f"{symbol_for(code, fork)[:20]}... ({len(code)} bytes): {type(exc).__name__}: {exc}"
        ) from exc


def _compile_to_object(code: bytes, fork: Fork, stats: CompileStats | None) -> tuple[bytes, str]:
    sym = symbol_for(code, fork)
    t0 = time.perf_counter()
    an = analyze(code, fork)
    tier = choose_tier(an)
    compact = tier == "compact"
    if compact:
        an = analyze(code, fork, OUTLINED)
    t1 = time.perf_counter()
    em = Emitter(an, fork, sym, compact)
    module = em.build()
    t2 = time.perf_counter()
    with module.context:
        ir_text = to_llvm_ir(module, compact)
    t3 = time.perf_counter()
    obj = get_jit().compile_ir(ir_text, OPT_LEVEL, tier)
    t4 = time.perf_counter()
    if stats is not None:
        stats.analysis_s, stats.mlir_build_s, stats.lower_s, stats.llvm_s = t1 - t0, t2 - t1, t3 - t2, t4 - t3
        stats.tier = tier
        stats.mlir_blocks = em.n_blocks
    return obj, sym
