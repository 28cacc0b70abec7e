"""ADD MUL SUB DIV SDIV MOD SMOD ADDMOD MULMOD EXP SIGNEXTEND (i256 arithmetic, no UB on x/0)."""

from __future__ import annotations

from typing import TypeGuard

from mlir import ir
from mlir.dialects import arith, cf, llvm

from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, Word, binary, handler

handler("ADD")(binary(arith.addi))
handler("MUL")(binary(arith.muli))
handler("SUB")(binary(arith.subi))


def _pow2(v: int | None) -> TypeGuard[int]:
    return v is not None and v > 0 and v & (v - 1) == 0


def udiv_magic(d: int) -> tuple[int, int]:
    """Granlund-Montgomery (1994, fig. 4.1) constants for unsigned 256-bit division by an invariant
    d >= 3 that is not a power of two: q = (t + ((x - t) >> 1)) >> (l - 1), t = (m * x) >> 256."""
    l = (d - 1).bit_length()
    return ((1 << 256) * ((1 << l) - d)) // d + 1, l


def _udiv_const(em: Emitter, a: Word, d: int) -> ir.Value:
    m, l = udiv_magic(d)
    wide = arith.muli(arith.extui(em.i512, a), em.c(m, em.i512))
    t = arith.trunci(em.i256, arith.shrui(wide, em.c(256, em.i512)))
    return arith.shrui(arith.addi(t, arith.shrui(arith.subi(a, t), em.c(1))), em.c(l - 1))


# Division goes through the runtime (one copy of LLVM's expanded 256-bit division instead of one
# per DIV, and LLVM 22 asserts on `sdiv/srem i256 x, 2**k`), except unsigned division/modulo by a
# constant: a shift/mask for a power of two, a multiplication by its inverse otherwise.
@handler("DIV")
def div(em: Emitter, ins: Instr) -> None:
    a, b = em.pop(), em.pop()
    k = em.const_value(b)
    if k == 0:
        em.push(em.c(0))
    elif _pow2(k):
        em.push(arith.shrui(a, em.c(k.bit_length() - 1)))
    elif k is not None:
        em.push(_udiv_const(em, a, k))
    else:
        em.push(em.call_ptr(em.table_fn(L.T_UDIV), [a, b], em.i256))


@handler("MOD")
def mod(em: Emitter, ins: Instr) -> None:
    a, b = em.pop(), em.pop()
    k = em.const_value(b)
    if k == 0:
        em.push(em.c(0))
    elif _pow2(k):
        em.push(arith.andi(a, em.c(k - 1)))
    elif k is not None:
        em.push(arith.subi(a, arith.muli(_udiv_const(em, a, k), em.c(k))))
    else:
        em.push(em.call_ptr(em.table_fn(L.T_UMOD), [a, b], em.i256))


@handler("SDIV")
def sdiv(em: Emitter, ins: Instr) -> None:
    a, b = em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_SDIV), [a, b], em.i256))


@handler("SMOD")
def smod(em: Emitter, ins: Instr) -> None:
    a, b = em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_SMOD), [a, b], em.i256))


@handler("ADDMOD")
def addmod(em: Emitter, ins: Instr) -> None:
    """Inline when both operands are already reduced (field arithmetic: weierstrudel), one
    conditional subtraction; otherwise (and for n = 0) the runtime's 320-bit reduction."""
    a, b, n = em.pop(), em.pop(), em.pop()
    reduced = arith.andi(arith.cmpi(P.ult, a, n), arith.cmpi(P.ult, b, n))
    fast, slow, join = em.new_block(), em.new_block(), em.new_block()
    cf.cond_br(reduced, [], [], fast, slow, branch_weights=[100, 1])
    em.goto(fast)
    s = arith.addi(a, b)
    over = arith.ori(arith.cmpi(P.ult, s, a), arith.cmpi(P.uge, s, n))  # carry out, or s >= n
    llvm.store(arith.select(over, arith.subi(s, n), s), em.tmp, alignment=32)
    cf.br([], join)
    em.goto(slow)
    llvm.store(em.call_ptr(em.table_fn(L.T_ADDMOD), [a, b, n], em.i256), em.tmp, alignment=32)
    cf.br([], join)
    em.goto(join)
    em.push(llvm.load(em.i256, em.tmp, alignment=32))


@handler("MULMOD")
def mulmod(em: Emitter, ins: Instr) -> None:
    a, b, n = em.pop(), em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_MULMOD), [a, b, n], em.i256))


INLINE_EXP_BITS = 32  # constant exponents up to this size: an inline square-and-multiply chain


@handler("EXP")
def exp(em: Emitter, ins: Instr) -> None:
    a, e = em.pop(), em.pop()
    k, base = em.const_value(e), em.const_value(a)
    if k is not None and k.bit_length() <= INLINE_EXP_BITS:
        em.charge(50 * ((k.bit_length() + 7) // 8))
        r = em.c(1) if k == 0 else a
        for bit in bin(k)[3:]:
            r = arith.muli(r, r)
            if bit == "1":
                r = arith.muli(r, a)
        em.push(r)
        return
    # 50 gas per byte of the exponent
    bits = arith.subi(em.c(256), llvm.intr_ctlz(e, False))
    nbytes = arith.trunci(em.i64, arith.shrui(arith.addi(bits, em.c(7)), em.c(3)))
    em.charge(arith.muli(nbytes, em.c64(50)))
    if base == 2:  # 2**e: a shift (0 from e >= 256 on)
        small = arith.cmpi(P.ult, e, em.c(256))
        em.push(arith.select(small, arith.shli(em.c(1), arith.select(small, e, em.c(0))), em.c(0)))
        return
    em.push(em.call_ptr(em.table_fn(L.T_EXP), [a, e], em.i256))


@handler("SIGNEXTEND")
def signextend(em: Emitter, ins: Instr) -> None:
    b, x = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, b, em.c(31))
    bs = arith.select(lt, b, em.c(0))
    shift = arith.subi(em.c(248), arith.muli(bs, em.c(8)))
    r = arith.shrsi(arith.shli(x, shift), shift)
    em.push(arith.select(lt, r, x))
