"""LT GT SLT SGT EQ ISZERO."""

from __future__ import annotations

from mlir.dialects import arith

from ..analysis import Instr
from . import Emitter, Handler, KWord, P, handler, lanewise


def _cmp(pred: arith.CmpIPredicate) -> Handler:
    def fn(em: Emitter, ins: Instr) -> None:
        a, b = em.pop(), em.pop()
        em.push(em.to_bool(arith.cmpi(pred, a, b)))

    return fn


handler("LT")(_cmp(P.ult))
handler("GT")(_cmp(P.ugt))
handler("SLT")(_cmp(P.slt))
handler("SGT")(_cmp(P.sgt))


# compact tier, on <4 x i64>: a == b when a XOR b has no bit set (a few vector instructions, inline)
handler("EQ")(
    lanewise(
        _cmp(P.eq),
        lambda em, a, b: em.vec_bool(em.vec_is_zero(arith.xori(a, b))),
        lambda a, b: int(a == b),
    )
)


@handler("ISZERO")
def iszero(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    if not em.compact:
        em.push(em.to_bool(arith.cmpi(P.eq, a, em.c(0))))
    elif type(a) is KWord:
        em.push(KWord(int(a.value == 0)))
    else:
        bit = em.bool_of(a)  # a 0/1 word made here: its negation (a chain of ISZEROs folds to one or none)
        em.push(em.vec_bool(em.vec_is_zero(a) if bit is None else arith.xori(bit, em.c(1, em.i1))))
