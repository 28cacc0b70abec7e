"""LOG0..LOG4: 8 gas per data byte and memory expansion natively; the record goes to the frame's
native log buffer (runtime_slots.py rt_log), written back to the journal with the slots, or to the
host when the runtime declines (a static frame: the host raises the error)."""

from __future__ import annotations

from mlir.dialects import arith

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, handler


@handler("LOG0", "LOG1", "LOG2", "LOG3", "LOG4")
def log(em: Emitter, ins: Instr) -> None:
    n = ins.op - 0xA0
    off, size = em.pop(), em.pop()
    topics = [em.pop() for _ in range(n)]
    em.check(arith.cmpi(P.ugt, size, em.c(0xFFFFFFFF)), 3)
    em.charge(arith.muli(arith.trunci(em.i64, size), em.c64(8)))
    em.mem_region(off, size)
    em.store_scratch(0, off)
    em.store_scratch(1, size)
    for i, t in enumerate(topics):  # big-endian: the bytes of the log's topics as they are
        em.store_scratch(2 + i, em.bswap(t))
    done = em.call_ptr(em.table_fn(L.T_LOG), [em.ctxp, em.c64(n)], em.i64)
    em.on_miss(arith.cmpi(P.eq, done, em.c64(0)), lambda: em.host_call(ins.op))
