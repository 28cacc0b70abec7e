"""AND OR XOR NOT BYTE SHL SHR SAR CLZ (shift amounts >= 256 never reach LLVM's poison)."""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith, llvm

from ..analysis import Instr
from . import MASK256, Emitter, Handler, P, binary, handler

handler("AND")(binary(arith.andi))
handler("OR")(binary(arith.ori))
handler("XOR")(binary(arith.xori))


@handler("NOT")
def not_(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    em.push(arith.xori(a, em.c(MASK256)))


@handler("BYTE")
def byte(em: Emitter, ins: Instr) -> None:
    i, x = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, i, em.c(32))
    s = arith.select(lt, arith.subi(em.c(248), arith.muli(i, em.c(8))), em.c(0))
    em.push(arith.select(lt, arith.andi(arith.shrui(x, s), em.c(0xFF)), em.c(0)))


def _shift(op: Callable[[ir.Value, ir.Value], ir.Value]) -> Handler:
    def fn(em: Emitter, ins: Instr) -> None:
        s, v = em.pop(), em.pop()
        lt = arith.cmpi(P.ult, s, em.c(256))
        ss = arith.select(lt, s, em.c(0))
        em.push(arith.select(lt, op(v, ss), em.c(0)))

    return fn


handler("SHL")(_shift(arith.shli))
handler("SHR")(_shift(arith.shrui))


@handler("SAR")
def sar(em: Emitter, ins: Instr) -> None:
    s, v = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, s, em.c(256))
    em.push(arith.shrsi(v, arith.select(lt, s, em.c(255))))


@handler("CLZ")
def clz(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    em.push(llvm.intr_ctlz(a, False))
