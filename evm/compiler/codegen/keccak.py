"""KECCAK256: native Keccak-256 from the runtime (called through the frame's function table)."""

from __future__ import annotations

from mlir.dialects import arith, llvm

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, handler


@handler("KECCAK256")
def keccak256(em: Emitter, ins: Instr) -> None:
    off, size = em.pop(), em.pop()
    em.copy_gas(size, 6)
    o = em.mem_region(off, size)
    nz = arith.cmpi(P.ne, size, em.c(0))
    o = arith.select(nz, o, em.c64(0))
    p = em.byte_ptr(em.mem_ptr(), o)
    em.call_ptr(em.table_fn(L.T_KECCAK), [p, arith.trunci(em.i64, size), em.tmp])
    em.push(em.bswap(llvm.load(em.i256, em.tmp, alignment=32)))
