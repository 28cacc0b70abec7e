"""RETURN REVERT INVALID SELFDESTRUCT CREATE CREATE2 CALL CALLCODE DELEGATECALL STATICCALL.

Calls and creates go back through the shared host (child frames run with the same backend);
their memory regions are expanded natively first, so the host only reads and writes memory."""
from mlir.dialects import arith

from .. import layout as L
from ...spec import Fork
from . import P, handler


def _output(em, code):
    off, size = em.pop(), em.pop()
    o = em.mem_region(off, size)
    nz = arith.cmpi(P.ne, size, em.c(0))
    em.st(arith.select(nz, o, em.c64(0)), L.RET_OFF)
    em.st(arith.trunci(em.i64, size), L.RET_LEN)
    em.exit(code)


@handler(0xF3)
def return_(em, ins):
    _output(em, L.ST_RETURN)


@handler(0xFD)
def revert(em, ins):
    _output(em, L.ST_REVERT)


@handler(0xFE)
def invalid(em, ins):
    em.fail(L.ST_INVALID)


@handler(0xFF)
def selfdestruct(em, ins):
    a = em.pop()
    em.host(ins.op, [a])
    em.exit(L.ST_STOP)


@handler(0xF0, 0xF5)
def create(em, ins):
    n = 3 if ins.op == 0xF0 else 4
    args = [em.pop() for _ in range(n)]
    em.mem_region(args[1], args[2])
    if em.fork >= Fork.SHANGHAI:
        em.copy_gas(args[2], 2)        # EIP-3860 init code words
    if n == 4:
        em.copy_gas(args[2], 6)        # CREATE2 hashes the init code
    em.push(em.host(ins.op, args, 1)[0])


@handler(0xF1, 0xF2, 0xF4, 0xFA)
def call(em, ins):
    n = 7 if ins.op in (0xF1, 0xF2) else 6
    args = [em.pop() for _ in range(n)]
    a = 3 if n == 7 else 2
    em.mem_region(args[a], args[a + 1])
    em.mem_region(args[a + 2], args[a + 3])
    em.push(em.host(ins.op, args, 1)[0])
