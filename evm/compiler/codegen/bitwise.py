"""AND OR XOR NOT BYTE SHL SHR SAR CLZ (shift amounts >= 256 never reach LLVM's poison)."""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith, llvm

from ..analysis import Instr
from . import MASK256, Emitter, Handler, KWord, P, binary, handler, lanewise

# the compact tier keeps these inline, lane-wise on <4 x i64> (one vector instruction: cheap to select, unlike
# i256 arithmetic, so they need not call the op library there)
handler("AND")(lanewise(binary(arith.andi), lambda em, a, b: arith.andi(a, b), lambda a, b: a & b))
handler("OR")(lanewise(binary(arith.ori), lambda em, a, b: arith.ori(a, b), lambda a, b: a | b))
handler("XOR")(lanewise(binary(arith.xori), lambda em, a, b: arith.xori(a, b), lambda a, b: a ^ b))


@handler("NOT")
def not_(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    if not em.compact:
        em.push(arith.xori(a, em.c(MASK256)))
    elif type(a) is KWord:
        em.push(KWord(a.value ^ MASK256))
    else:
        em.push(arith.xori(a, em.vec_splat(-1)))


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
