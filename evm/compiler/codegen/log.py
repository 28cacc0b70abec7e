"""LOG0..LOG4: 8 gas per data byte and memory expansion natively, the log itself in the host
(which also rejects it in a static context)."""
from mlir.dialects import arith

from . import P, handler


@handler(0xA0, 0xA1, 0xA2, 0xA3, 0xA4)
def log(em, ins):
    n = ins.op - 0xA0
    off, size = em.pop(), em.pop()
    topics = [em.pop() for _ in range(n)]
    em.check(arith.cmpi(P.ugt, size, em.c(0xFFFFFFFF)), 3)
    em.charge(arith.muli(arith.trunci(em.i64, size), em.c64(8)))
    em.mem_region(off, size)
    em.host(ins.op, [off, size, *topics])
