"""SLOAD SSTORE TLOAD TSTORE: served by the frame's native slot cache (runtime_slots.py) when the
slot is in it (warm), else by a host call into the journaled state, after which the slot is
inserted. SSTORE ends its block, so the gas counter the runtime prices it against is exact."""
from mlir.dialects import arith, cf, llvm

from .. import layout as L
from . import P, handler

STORAGE, TRANSIENT = 0, 1


def _miss_path(em, ins, kind: int, miss, join) -> None:
    """Block `miss`: the host call of the opcode, then insert (key, value, original) into the
    cache. The gas check of the host call happens on this path only."""
    dirty = em.gas_dirty
    em.goto(miss)
    em.host_call(ins.op)
    em.call_ptr(em.table_fn(L.T_SINSERT), [em.ctxp, em.c64(kind)])
    cf.br([], join)
    em.goto(join)
    em.gas_dirty = dirty


@handler(0x54, 0x5C)
def load(em, ins):
    kind = STORAGE if ins.op == 0x54 else TRANSIENT
    em.store_scratch(0, em.pop())
    fast = L.T_SLOAD if kind == STORAGE else L.T_TLOAD
    hit = em.call_ptr(em.table_fn(fast), [em.ctxp], em.i64)
    miss, join = em.new_block(), em.new_block()
    cf.cond_br(arith.cmpi(P.eq, hit, em.c64(0)), [], [], miss, join, branch_weights=[1, 100])
    _miss_path(em, ins, kind, miss, join)
    em.push(em.load_scratch(1))


@handler(0x55)
def sstore(em, ins):
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    g = em.call_ptr(em.table_fn(L.T_SSTORE), [em.ctxp, em.gas()], em.i64)
    done, other, miss, join = em.new_block(), em.new_block(), em.new_block(), em.new_block()
    cf.cond_br(arith.cmpi(P.sge, g, em.c64(0)), [], [], done, other, branch_weights=[100, 1])
    em.goto(done)
    llvm.store(g, em.gas_var)
    cf.br([], join)
    em.goto(other)  # -1: out of gas; -2: the host does it (not cached, or a static frame)
    cf.cond_br(arith.cmpi(P.eq, g, em.c64(-1)), [], [], em.err(L.ST_OOG), miss, branch_weights=[1, 1])
    _miss_path(em, ins, STORAGE, miss, join)


@handler(0x5D)
def tstore(em, ins):
    k, v = em.pop(), em.pop()
    em.store_scratch(0, k)
    em.store_scratch(1, v)
    done = em.call_ptr(em.table_fn(L.T_TSTORE), [em.ctxp], em.i64)
    miss, join = em.new_block(), em.new_block()
    cf.cond_br(arith.cmpi(P.eq, done, em.c64(0)), [], [], miss, join, branch_weights=[1, 100])
    dirty = em.gas_dirty
    em.goto(miss)
    em.host_call(ins.op)  # static frame (error) or a full cache: the journaled state has it
    cf.br([], join)
    em.goto(join)
    em.gas_dirty = dirty
