"""The op library of the compact tier: per fork, one native function per instruction of
`opinfo.OUTLINED`, built by the same codegen handlers as inline code (so the two cannot differ),
compiled once at O3 and kept in the disk cache beside the runtime.

    i64 evmop_<NAME>_<fork>(ptr ctx, ptr top, i64 static_gas)

`top` points at the caller's first free EVM stack slot (the instruction's operands are the slots
below it, its results replace them); the gas counter is the context's (compact code keeps it
there). The function first charges `static_gas` (the static gas of the caller's whole segment,
which ends with this instruction: analysis.py) with an out-of-gas check, then runs the
instruction. It returns `layout.OP_CONTINUE`, or a halting status; the caller only looks at the
status of a terminal instruction (RETURN, REVERT, SELFDESTRUCT), whose context it leaves as the
caller's own exit would. A function that halts otherwise leaves the counter negative (POISON) and,
for an error other than out-of-gas, its status in the context's HALT: the caller stops at its next
gas check, every later op-library call of the frame returns at once (its charge fails), and the
backend reports HALT.

Why: a contract of 24 KB of heavy one-byte instructions (MLOAD, SLOAD, BALANCE, ...) is ~25k
inline expansions of 10-50 operations each, and MLIR and LLVM cost 15-25 us per operation; as
calls it is one operation per instruction (compile.py, docs/compiler.md)."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import func, llvm

from ..spec import Fork
from . import layout as L
from .analysis import Instr
from .codegen import HANDLERS, Emitter
from .opinfo import OUTLINED, oplib_symbol


class OpLibraryEmitter(Emitter):
    def __init__(self, fork: Fork) -> None:
        super().__init__(None, fork, f"oplib_{int(fork)}")

    def build(self) -> ir.Module:
        self.mctx = ir.Context()
        with self.mctx, ir.Location.unknown():
            self._types()
            self.module = ir.Module.create()
            self._declared: set[str] = set()
            self._ip = None
            try:
                for op in sorted(OUTLINED):
                    if op in self.optable and op in HANDLERS:
                        self._op_function(op)
            finally:
                if self._ip is not None:
                    self._ip.__exit__(None, None, None)
                    self._ip = None
        return self.module

    def _op_function(self, op: int) -> None:
        entry = self._open_function(oplib_symbol(op, self.fork), [self.ptr, self.ptr, self.i64])
        self.ctxp, self.top, static_gas = entry.arguments
        self.tmp = llvm.alloca(self.ptr, self.c64(1), self.i256, alignment=32)
        self.table = self.ld(self.ptr, L.TABLE)
        self.gas_in_ctx = True
        self.gas_var = self.field(L.GAS)
        self.base = self.sp = None
        self.cur, self.orig, self.h = {}, {}, 0
        self.terminated = False
        self.block = None
        self.charge(static_gas)
        HANDLERS[op](self, Instr(0, op))
        if not self.terminated:
            self.flush()
            func.return_([self.c64(L.OP_CONTINUE)])

    def halt(self, code: int) -> None:
        self.st(self.c64(L.POISON), L.GAS)
        if code != L.ST_OOG:
            self.st(self.c64(code), L.HALT)
        func.return_([self.c64(code)])

    def host_failed(self, rc: ir.Value) -> None:
        self.st(rc, L.HALT)
        self.st(self.c64(L.POISON), L.GAS)
        func.return_([rc])

    def code_ref(self) -> tuple[ir.Value, ir.Value]:
        return self.ld(self.ptr, L.CODE_PTR), self.ld(self.i64, L.CODE_LEN)


def oplib_ir(fork: Fork) -> str:
    """LLVM IR text of the op library of `fork`."""
    from .compile import to_llvm_ir

    em = OpLibraryEmitter(fork)
    module = em.build()
    with module.context:
        return to_llvm_ir(module)
