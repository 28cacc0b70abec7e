"""LT GT SLT SGT EQ ISZERO."""
from mlir.dialects import arith

from . import P, handler


def _cmp(pred):
    def fn(em, ins):
        a, b = em.pop(), em.pop()
        em.push(em.to_bool(arith.cmpi(pred, a, b)))
    return fn


handler(0x10)(_cmp(P.ult))
handler(0x11)(_cmp(P.ugt))
handler(0x12)(_cmp(P.slt))
handler(0x13)(_cmp(P.sgt))
handler(0x14)(_cmp(P.eq))


@handler(0x15)
def iszero(em, ins):
    a = em.pop()
    em.push(em.to_bool(arith.cmpi(P.eq, a, em.c(0))))
