"""SLOAD SSTORE TLOAD TSTORE: served by the frame's native slot cache (runtime_slots.py) when the
slot is in it (warm), else by a host call into the journaled state, after which the slot is
inserted. SSTORE ends its block, so the gas counter the runtime prices it against is exact."""

from __future__ import annotations

from collections.abc import Callable

from mlir.dialects import arith, llvm

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, handler

STORAGE, TRANSIENT = L.K_STORAGE, L.K_TRANSIENT


def _host_then_cache(em: Emitter, ins: Instr, kind: int) -> Callable[[], None]:
    """The slow path: the host call of the opcode, then (key, value, original) into the cache."""

    def slow() -> None:
        em.host_call(ins.op)
        em.call_ptr(em.table_fn(L.T_SINSERT), [em.ctxp, em.c64(kind)])

    return slow


@handler("SLOAD", "TLOAD")
def load(em: Emitter, ins: Instr) -> None:
    kind = STORAGE if ins.op == 0x54 else TRANSIENT
    em.store_scratch(0, em.pop())
    hit = em.call_ptr(em.table_fn(L.T_SLOAD if kind == STORAGE else L.T_TLOAD), [em.ctxp], em.i64)
    em.on_miss(arith.cmpi(P.eq, hit, em.c64(0)), _host_then_cache(em, ins, kind))
    em.push(em.load_scratch(1))


@handler("SSTORE")
def sstore(em: Emitter, ins: Instr) -> None:
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    g = em.call_ptr(em.table_fn(L.T_SSTORE), [em.ctxp, em.gas()], em.i64)
    done = arith.cmpi(P.sge, g, em.c64(0))
    llvm.store(arith.select(done, g, em.gas()), em.gas_var)  # the gas left after a native SSTORE
    host = _host_then_cache(em, ins, STORAGE)

    def slow() -> None:  # g = -1: out of gas; -2: the host does it (not cached, or a static frame)
        em.check(arith.cmpi(P.eq, g, em.c64(-1)), L.ST_OOG)
        host()

    em.on_miss(arith.cmpi(P.slt, g, em.c64(0)), slow)


@handler("TSTORE")
def tstore(em: Emitter, ins: Instr) -> None:
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    done = em.call_ptr(em.table_fn(L.T_TSTORE), [em.ctxp], em.i64)
    # static frame (the host raises) or a full cache (the journaled state keeps it)
    em.on_miss(arith.cmpi(P.eq, done, em.c64(0)), lambda: em.host_call(ins.op))
