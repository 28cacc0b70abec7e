"""LT GT SLT SGT EQ ISZERO."""

from __future__ import annotations

from mlir.dialects import arith

from ..analysis import Instr
from . import Emitter, Handler, P, handler


def _cmp(pred: arith.CmpIPredicate) -> Handler:
    def fn(em: Emitter, ins: Instr) -> None:
        a, b = em.pop(), em.pop()
        em.push(em.to_bool(arith.cmpi(pred, a, b)))

    return fn


handler("LT")(_cmp(P.ult))
handler("GT")(_cmp(P.ugt))
handler("SLT")(_cmp(P.slt))
handler("SGT")(_cmp(P.sgt))
handler("EQ")(_cmp(P.eq))


@handler("ISZERO")
def iszero(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    em.push(em.to_bool(arith.cmpi(P.eq, a, em.c(0))))
