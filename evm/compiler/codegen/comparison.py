"""LT GT SLT SGT EQ ISZERO."""
from mlir.dialects import arith

from . import P, handler


def _cmp(pred):
    def fn(em, ins):
        a, b = em.pop(), em.pop()
        em.push(em.to_bool(arith.cmpi(pred, a, b)))
    return fn


handler("LT")(_cmp(P.ult))
handler("GT")(_cmp(P.ugt))
handler("SLT")(_cmp(P.slt))
handler("SGT")(_cmp(P.sgt))
handler("EQ")(_cmp(P.eq))


@handler("ISZERO")
def iszero(em, ins):
    a = em.pop()
    em.push(em.to_bool(arith.cmpi(P.eq, a, em.c(0))))
