"""BLAKE2b compression F compiled to native code at first use with llvmlite (a project dependency).

The IR mirrors ``blake2f.compress``: v[0..16] lives in a stack array that LLVM's optimiser
promotes to registers; the 8 G mixes of a round are unrolled at IR-build time, the message
schedule row is read from a constant SIGMA table. ``load()`` returns ``None`` when the JIT is not
available, and the caller falls back to pure Python.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from llvmlite import binding as llvm
from llvmlite import ir

from evm.precompiles.blake2f import IV, SIGMA

_MIX = (
    (0, 4, 8, 12),
    (1, 5, 9, 13),
    (2, 6, 10, 14),
    (3, 7, 11, 15),
    (0, 5, 10, 15),
    (1, 6, 11, 12),
    (2, 7, 8, 13),
    (3, 4, 9, 14),
)
_engine = None  # keeps the JIT (and so the function's code) alive


def _build_ir() -> str:
    i8, i64 = ir.IntType(8), ir.IntType(64)
    i64p = i64.as_pointer()
    module = ir.Module(name="blake2f")
    sigma_ty = ir.ArrayType(ir.ArrayType(i8, 16), 10)
    sigma = ir.GlobalVariable(module, sigma_ty, "sigma")
    sigma.global_constant = True
    sigma.initializer = ir.Constant(sigma_ty, [ir.Constant(ir.ArrayType(i8, 16), list(row)) for row in SIGMA])
    # void blake2f(i64 rounds, i64* h (in/out), i64* m, i64 t0, i64 t1, i64 final_mask)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [i64, i64p, i64p, i64, i64, i64]), "blake2f")
    rounds, h, m, t0, t1, final_mask = fn.args
    entry, loop, body, done = (fn.append_basic_block(n) for n in ("entry", "loop", "body", "done"))

    b = ir.IRBuilder(entry)
    v = b.alloca(ir.ArrayType(i64, 16), name="v")
    slot = [b.gep(v, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), i)]) for i in range(16)]
    for i in range(8):
        b.store(b.load(b.gep(h, [ir.Constant(i64, i)])), slot[i])
        b.store(ir.Constant(i64, IV[i]), slot[8 + i])
    for i, x in ((12, t0), (13, t1), (14, final_mask)):
        b.store(b.xor(b.load(slot[i]), x), slot[i])
    b.branch(loop)

    b.position_at_end(loop)
    r = b.phi(i64, "r")
    r.add_incoming(ir.Constant(i64, 0), entry)
    b.cbranch(b.icmp_unsigned("<", r, rounds), body, done)

    b.position_at_end(body)
    row = b.urem(r, ir.Constant(i64, 10))

    def word(k: int) -> Any:  # m[sigma[row][k]]
        idx = b.load(b.gep(sigma, [ir.Constant(i64, 0), row, ir.Constant(i64, k)]))
        return b.load(b.gep(m, [b.zext(idx, i64)]))

    def rotr(x: Any, n: int) -> Any:
        return b.or_(b.lshr(x, ir.Constant(i64, n)), b.shl(x, ir.Constant(i64, 64 - n)))

    for j, (ia, ib, ic, id_) in enumerate(_MIX):
        a, bb, c, d = (b.load(slot[i]) for i in (ia, ib, ic, id_))
        a = b.add(b.add(a, bb), word(2 * j))
        d = rotr(b.xor(d, a), 32)
        c = b.add(c, d)
        bb = rotr(b.xor(bb, c), 24)
        a = b.add(b.add(a, bb), word(2 * j + 1))
        d = rotr(b.xor(d, a), 16)
        c = b.add(c, d)
        bb = rotr(b.xor(bb, c), 63)
        for i, x in ((ia, a), (ib, bb), (ic, c), (id_, d)):
            b.store(x, slot[i])
    r.add_incoming(b.add(r, ir.Constant(i64, 1)), body)
    b.branch(loop)

    b.position_at_end(done)
    for i in range(8):
        hp = b.gep(h, [ir.Constant(i64, i)])
        b.store(b.xor(b.load(hp), b.xor(b.load(slot[i]), b.load(slot[i + 8]))), hp)
    b.ret_void()
    return str(module)


def load() -> Callable[..., None] | None:
    """The native ``blake2f(rounds, h, m, t0, t1, final_mask)`` as a ctypes function, or None."""
    global _engine
    if sys.byteorder != "little":
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target_machine = llvm.Target.from_default_triple().create_target_machine(opt=3)
        mod = llvm.parse_assembly(_build_ir())
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
