"""ADD MUL SUB DIV SDIV MOD SMOD ADDMOD MULMOD EXP SIGNEXTEND (i256 arithmetic, no UB on x/0)."""
from mlir.dialects import arith, llvm

from .. import layout as L
from . import P, handler



@handler(0x01)
def add(em, ins):
    a, b = em.pop(), em.pop()
    em.push(arith.addi(a, b))


@handler(0x02)
def mul(em, ins):
    a, b = em.pop(), em.pop()
    em.push(arith.muli(a, b))


@handler(0x03)
def sub(em, ins):
    a, b = em.pop(), em.pop()
    em.push(arith.subi(a, b))


def _pow2(v):
    return v is not None and v > 0 and v & (v - 1) == 0


# Division goes through the runtime (one copy of LLVM's expanded 256-bit division instead of one
# per DIV, and LLVM 22 asserts on `sdiv/srem i256 x, 2**k`), except unsigned division/modulo by a
# constant power of two, which is a shift/mask.
@handler(0x04)
def div(em, ins):
    a, b = em.pop(), em.pop()
    k = em.const_value(b)
    if _pow2(k):
        em.push(arith.shrui(a, em.c(k.bit_length() - 1)))
    else:
        em.push(em.call_ptr(em.table_fn(L.T_UDIV), [a, b], em.i256))


@handler(0x06)
def mod(em, ins):
    a, b = em.pop(), em.pop()
    k = em.const_value(b)
    if _pow2(k):
        em.push(arith.andi(a, em.c(k - 1)))
    else:
        em.push(em.call_ptr(em.table_fn(L.T_UMOD), [a, b], em.i256))


@handler(0x05)
def sdiv(em, ins):
    a, b = em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_SDIV), [a, b], em.i256))


@handler(0x07)
def smod(em, ins):
    a, b = em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_SMOD), [a, b], em.i256))


@handler(0x08)
def addmod(em, ins):
    a, b, n = em.pop(), em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_ADDMOD), [a, b, n], em.i256))


@handler(0x09)
def mulmod(em, ins):
    a, b, n = em.pop(), em.pop(), em.pop()
    em.push(em.call_ptr(em.table_fn(L.T_MULMOD), [a, b, n], em.i256))


@handler(0x0A)
def exp(em, ins):
    a, e = em.pop(), em.pop()
    # 50 gas per byte of the exponent
    bits = arith.subi(em.c(256), llvm.intr_ctlz(e, False))
    nbytes = arith.trunci(em.i64, arith.shrui(arith.addi(bits, em.c(7)), em.c(3)))
    em.charge(arith.muli(nbytes, em.c64(50)))
    em.push(em.call_ptr(em.table_fn(L.T_EXP), [a, e], em.i256))


@handler(0x0B)
def signextend(em, ins):
    b, x = em.pop(), em.pop()
    lt = arith.cmpi(P.ult, b, em.c(31))
    bs = arith.select(lt, b, em.c(0))
    shift = arith.subi(em.c(248), arith.muli(bs, em.c(8)))
    r = arith.shrsi(arith.shli(x, shift), shift)
    em.push(arith.select(lt, r, x))
