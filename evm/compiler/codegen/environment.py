"""ADDRESS BALANCE ORIGIN CALLER CALLVALUE CALLDATALOAD CALLDATASIZE CALLDATACOPY CODESIZE
CODECOPY GASPRICE EXTCODESIZE EXTCODECOPY RETURNDATASIZE RETURNDATACOPY EXTCODEHASH.

Calldata, code and return data are native (pointers in the context / a global of the module);
account queries go to the host once per account and frame (until a call, create or selfdestruct), then come
from the frame's native cache (Emitter.cached_query)."""

from __future__ import annotations

from mlir.dialects import arith, cf, llvm

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, handler
from .memory import copy_in, if_nonzero


@handler("ADDRESS", "ORIGIN", "CALLER", "CALLVALUE", "GASPRICE")
def env_word(em: Emitter, ins: Instr) -> None:
    em.push(em.frame_word(ins.op))


@handler("BALANCE", "EXTCODESIZE", "EXTCODEHASH")
def account_query(em: Emitter, ins: Instr) -> None:
    em.push(em.cached_query(ins.op, em.pop()))


@handler("CALLDATALOAD")
def calldataload(em: Emitter, ins: Instr) -> None:
    off = em.pop()
    cd_len = em.ld(em.i64, L.CD_LEN)
    cd = em.ld(em.ptr, L.CD_PTR)
    # fast path: the whole word is inside the calldata
    fits_off = arith.cmpi(P.ule, off, em.c(0xFFFFFFFF))
    o = arith.trunci(em.i64, off)
    fits = arith.andi(fits_off, arith.cmpi(P.ule, arith.addi(o, em.c64(32)), cd_len))
    fast, slow, cont = em.new_block(), em.new_block(), em.new_block()
    cf.cond_br(fits, [], [], fast, slow)
    em.goto(fast)
    v = llvm.load(em.i256, em.byte_ptr(cd, o), alignment=1)
    llvm.store(v, em.tmp, alignment=32)
    cf.br([], cont)
    em.goto(slow)
    em.call_ptr(em.table_fn(L.T_COPY), [em.tmp, cd, cd_len, off, em.c64(32)])
    cf.br([], cont)
    em.goto(cont)
    em.push(em.bswap(llvm.load(em.i256, em.tmp, alignment=32)))


@handler("CALLDATASIZE")
def calldatasize(em: Emitter, ins: Instr) -> None:
    em.push(arith.extui(em.i256, em.ld(em.i64, L.CD_LEN)))


@handler("CALLDATACOPY")
def calldatacopy(em: Emitter, ins: Instr) -> None:
    dst, off, size = em.pop(), em.pop(), em.pop()
    copy_in(em, dst, off, size, em.ld(em.ptr, L.CD_PTR), em.ld(em.i64, L.CD_LEN))


@handler("CODESIZE")
def codesize(em: Emitter, ins: Instr) -> None:
    em.push(em.word(len(em.code)))


@handler("CODECOPY")
def codecopy(em: Emitter, ins: Instr) -> None:
    dst, off, size = em.pop(), em.pop(), em.pop()
    copy_in(em, dst, off, size, *em.code_ref())


@handler("EXTCODECOPY")
def extcodecopy(em: Emitter, ins: Instr) -> None:
    a, dst, off, size = em.pop(), em.pop(), em.pop(), em.pop()
    em.copy_gas(size, 3)
    em.mem_region(dst, size)
    em.host(ins.op, [a, dst, off, size])


@handler("RETURNDATASIZE")
def returndatasize(em: Emitter, ins: Instr) -> None:
    em.push(arith.extui(em.i256, em.ld(em.i64, L.RD_LEN)))


@handler("RETURNDATACOPY")
def returndatacopy(em: Emitter, ins: Instr) -> None:
    dst, off, size = em.pop(), em.pop(), em.pop()
    # the interpreter's order: copy gas, memory expansion, then the bounds (out of gas wins)
    em.copy_gas(size, 3)
    d = em.mem_region(dst, size)
    rd_len = arith.extui(em.i256, em.ld(em.i64, L.RD_LEN))
    oob = arith.ori(arith.cmpi(P.ugt, off, rd_len), arith.cmpi(P.ugt, size, arith.subi(rd_len, off)))
    # when off > rd_len the subtraction wraps, but the first test already fails
    em.gas_checkpoint()
    em.check(oob, L.ST_RETURNDATA_OOB)

    def body() -> None:
        src = em.byte_ptr(em.ld(em.ptr, L.RD_PTR), arith.trunci(em.i64, off))
        llvm.intr_memcpy(em.byte_ptr(em.mem_ptr(), d), src, arith.trunci(em.i64, size), False)

    if_nonzero(em, size, body)
