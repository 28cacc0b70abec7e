"""AND OR XOR NOT BYTE SHL SHR SAR CLZ (shift amounts >= 256 never reach LLVM's poison)."""
from mlir.dialects import arith, llvm

from . import MASK256, P, binary, handler


handler("AND")(binary(arith.andi))
handler("OR")(binary(arith.ori))
handler("XOR")(binary(arith.xori))


@handler("NOT")
def not_(em, ins):
    a = em.pop()
    em.push(arith.xori(a, em.c(MASK256)))


@handler("BYTE")
def byte(em, ins):
    i, x = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, i, em.c(32))
    s = arith.select(lt, arith.subi(em.c(248), arith.muli(i, em.c(8))), em.c(0))
    em.push(arith.select(lt, arith.andi(arith.shrui(x, s), em.c(0xFF)), em.c(0)))


def _shift(op):
    def fn(em, ins):
        s, v = em.pop(), em.pop()
        lt = arith.cmpi(P.ult, s, em.c(256))
        ss = arith.select(lt, s, em.c(0))
        em.push(arith.select(lt, op(v, ss), em.c(0)))
    return fn


handler("SHL")(_shift(arith.shli))
handler("SHR")(_shift(arith.shrui))


@handler("SAR")
def sar(em, ins):
    s, v = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, s, em.c(256))
    em.push(arith.shrsi(v, arith.select(lt, s, em.c(255))))


@handler("CLZ")
def clz(em, ins):
    a = em.pop()
    em.push(llvm.intr_ctlz(a, False))
