"""SLOAD SSTORE TLOAD TSTORE: served by the frame's native slot cache (runtime_slots.py) when the
slot is in it (warm), else fetched from the journaled state and inserted: storage slots by the runtime
through the C API (ir/pyapi.ll), transient ones and the rest by a host callback. SSTORE ends its block,
so the gas counter the runtime prices it against is exact."""

from __future__ import annotations

from collections.abc import Callable

from mlir.dialects import arith, llvm

from ... import gas as G
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
    if kind == TRANSIENT:
        em.on_miss(arith.cmpi(P.eq, hit, em.c64(0)), _host_then_cache(em, ins, kind))
    else:
        em.on_miss(arith.cmpi(P.eq, hit, em.c64(0)), lambda: _cold_sload(em, ins))
    em.push(em.load_scratch(1))


def _cold_sload(em: Emitter, ins: Instr) -> None:
    """A slot not in the cache: fetched by the runtime from the Host (ir/pyapi.ll rt_sload_cold: 1 when it was
    cold, 0 warm), the cold surcharge charged here; the Python callback when the runtime cannot (-2)."""
    em.gas_checkpoint()  # (a frame already out of gas does not reach the Host)
    r = em.call_ptr(em.table_fn(L.T_SLOAD_COLD), [em.ctxp], em.i64)

    def python() -> None:
        em.check(arith.cmpi(P.eq, r, em.c64(-1)), L.ST_PYERR)
        _host_then_cache(em, ins, STORAGE)()

    em.on_miss(arith.cmpi(P.slt, r, em.c64(0)), python)
    cold = arith.cmpi(P.eq, r, em.c64(1))
    em.charge(arith.select(cold, em.c64(G.COLD_SLOAD_SURCHARGE), em.c64(0)))


@handler("SSTORE")
def sstore(em: Emitter, ins: Instr) -> None:
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    g = em.call_ptr(em.table_fn(L.T_SSTORE), [em.ctxp, em.gas()], em.i64)
    done = arith.cmpi(P.sge, g, em.c64(0))
    llvm.store(arith.select(done, g, em.gas()), em.gas_var)  # the gas left after a native SSTORE

    def slow() -> None:  # g = -1: out of gas; -2: not cached (a cold slot), or a static frame
        em.check(arith.cmpi(P.eq, g, em.c64(-1)), L.ST_OOG)
        # the runtime fetches the slot from the Host, caches it and stores natively (ir/pyapi.ll)
        g2 = em.call_ptr(em.table_fn(L.T_SSTORE_COLD), [em.ctxp, em.gas()], em.i64)
        ok = arith.cmpi(P.sge, g2, em.c64(0))
        llvm.store(arith.select(ok, g2, em.gas()), em.gas_var)

        def python() -> None:  # -1 out of gas, -3 a Python exception, -2 the Host does the whole SSTORE
            em.check(arith.cmpi(P.eq, g2, em.c64(-1)), L.ST_OOG)
            em.check(arith.cmpi(P.eq, g2, em.c64(-3)), L.ST_PYERR)
            _host_then_cache(em, ins, STORAGE)()

        em.on_miss(arith.cmpi(P.slt, g2, em.c64(0)), python)

    em.on_miss(arith.cmpi(P.slt, g, em.c64(0)), slow)


@handler("TSTORE")
def tstore(em: Emitter, ins: Instr) -> None:
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    done = em.call_ptr(em.table_fn(L.T_TSTORE), [em.ctxp], em.i64)
    # static frame (the host raises) or a full cache (the journaled state keeps it)
    em.on_miss(arith.cmpi(P.eq, done, em.c64(0)), lambda: em.host_call(ins.op))
