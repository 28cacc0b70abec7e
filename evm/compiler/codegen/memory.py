"""MLOAD MSTORE MSTORE8 MSIZE MCOPY: memory is a byte buffer in the context, words are stored
big-endian (byte swap of the native little-endian i256)."""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith, cf, llvm

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, Word, handler


@handler("MLOAD")
def mload(em: Emitter, ins: Instr) -> None:
    off = em.pop()
    o = em.mem_region(off, 32)
    p = em.byte_ptr(em.mem_ptr(), o)
    em.push(em.bswap(llvm.load(em.i256, p, alignment=1)))


@handler("MSTORE")
def mstore(em: Emitter, ins: Instr) -> None:
    off, v = em.pop(), em.pop()
    o = em.mem_region(off, 32)
    llvm.store(em.bswap(v), em.byte_ptr(em.mem_ptr(), o), alignment=1)


@handler("MSTORE8")
def mstore8(em: Emitter, ins: Instr) -> None:
    off, v = em.pop(), em.pop()
    o = em.mem_region(off, 1)
    llvm.store(arith.trunci(em.i8, v), em.byte_ptr(em.mem_ptr(), o), alignment=1)


@handler("MSIZE")
def msize(em: Emitter, ins: Instr) -> None:
    em.push(arith.extui(em.i256, em.ld(em.i64, L.MEM_SIZE)))


def if_nonzero(em: Emitter, size: Word, body: Callable[[], None]) -> None:
    """Emit body() only when the i256 `size` is not zero."""
    nz = arith.cmpi(P.ne, size, em.c(0))
    then, cont = em.new_block(), em.new_block()
    cf.cond_br(nz, [], [], then, cont)
    em.goto(then)
    body()
    cf.br([], cont)
    em.goto(cont)


@handler("MCOPY")
def mcopy(em: Emitter, ins: Instr) -> None:
    dst, src, size = em.pop(), em.pop(), em.pop()
    em.copy_gas(size, 3)
    s = em.mem_region(src, size)
    d = em.mem_region(dst, size)

    def body() -> None:
        m = em.mem_ptr()
        llvm.intr_memmove(em.byte_ptr(m, d), em.byte_ptr(m, s), arith.trunci(em.i64, size), False)

    if_nonzero(em, size, body)


def copy_in(em: Emitter, dst: Word, off: ir.Value, size: Word, src_ptr: ir.Value, src_len: ir.Value) -> None:
    """CALLDATACOPY/CODECOPY/EXTCODECOPY-style copy into memory with zero padding (native)."""
    em.copy_gas(size, 3)
    d = em.mem_region(dst, size)

    def body() -> None:
        em.call_ptr(
            em.table_fn(L.T_COPY), [em.byte_ptr(em.mem_ptr(), d), src_ptr, src_len, off, arith.trunci(em.i64, size)]
        )

    if_nonzero(em, size, body)
