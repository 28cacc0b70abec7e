"""ADD MUL SUB DIV SDIV MOD SMOD ADDMOD MULMOD EXP SIGNEXTEND (i256 arithmetic, no UB on x/0)."""
from mlir.dialects import arith, llvm

from .. import layout as L
from . import P, handler

INT_MIN = 1 << 255


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


def _safe_divisor(em, b, signed_a=None):
    zero = arith.cmpi(P.eq, b, em.c(0))
    bad = zero
    if signed_a is not None:
        ovf = arith.andi(arith.cmpi(P.eq, signed_a, em.c(INT_MIN)), arith.cmpi(P.eq, b, em.c(-1)))
        bad = arith.ori(zero, ovf)
    return zero, arith.select(bad, em.c(1), b)


@handler(0x04)
def div(em, ins):
    a, b = em.pop(), em.pop()
    z, bs = _safe_divisor(em, b)
    em.push(arith.select(z, em.c(0), arith.divui(a, bs)))


@handler(0x05)
def sdiv(em, ins):
    a, b = em.pop(), em.pop()
    z, bs = _safe_divisor(em, b, a)   # MIN / -1 computed as MIN / 1 = MIN
    em.push(arith.select(z, em.c(0), arith.divsi(a, bs)))


@handler(0x06)
def mod(em, ins):
    a, b = em.pop(), em.pop()
    z, bs = _safe_divisor(em, b)
    em.push(arith.select(z, em.c(0), arith.remui(a, bs)))


@handler(0x07)
def smod(em, ins):
    a, b = em.pop(), em.pop()
    z, bs = _safe_divisor(em, b, a)   # MIN % -1 computed as MIN % 1 = 0
    em.push(arith.select(z, em.c(0), arith.remsi(a, bs)))


def _modop(em, op):
    a, b, n = em.pop(), em.pop(), em.pop()
    z, ns = _safe_divisor(em, n)
    w = em.i512
    r = arith.remui(op(arith.extui(w, a), arith.extui(w, b)), arith.extui(w, ns))
    em.push(arith.select(z, em.c(0), arith.trunci(em.i256, r)))


@handler(0x08)
def addmod(em, ins):
    _modop(em, arith.addi)


@handler(0x09)
def mulmod(em, ins):
    _modop(em, arith.muli)


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
