"""RETURN REVERT INVALID SELFDESTRUCT CREATE CREATE2 CALL CALLCODE DELEGATECALL STATICCALL.

Calls and creates go back through the shared host (child frames run with the same backend);
their memory regions are expanded natively first, so the host only reads and writes memory.
A call to IDENTITY or SHA256 without value runs natively instead (ir/sha256.ll rt_precompile)
when the frame context's PC_MASK allows it."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, cf

from ...message import ADDRESS_MASK
from ...rules import RULES
from .. import layout as L
from ..analysis import Instr
from . import Emitter, P, Word, handler

I64_MAX = (1 << 63) - 1


def _output(em: Emitter, code: int) -> None:
    off, size = em.pop(), em.pop()
    o = em.mem_region(off, size)
    nz = arith.cmpi(P.ne, size, em.c(0))
    em.st(arith.select(nz, o, em.c64(0)), L.RET_OFF)
    em.st(arith.trunci(em.i64, size), L.RET_LEN)
    em.exit(code)


@handler("RETURN")
def return_(em: Emitter, ins: Instr) -> None:
    _output(em, L.ST_RETURN)


@handler("REVERT")
def revert(em: Emitter, ins: Instr) -> None:
    _output(em, L.ST_REVERT)


@handler("INVALID")
def invalid(em: Emitter, ins: Instr) -> None:
    em.fail(L.ST_INVALID)


@handler("SELFDESTRUCT")
def selfdestruct(em: Emitter, ins: Instr) -> None:
    a = em.pop()
    em.host(ins.op, [a])
    em.exit(L.ST_STOP)


@handler("CREATE", "CREATE2")
def create(em: Emitter, ins: Instr) -> None:
    n = 3 if ins.op == 0xF0 else 4
    args = [em.pop() for _ in range(n)]
    em.mem_region(args[1], args[2])
    word_cost = RULES[em.fork].initcode_word_cost
    if word_cost:
        em.copy_gas(args[2], word_cost)  # EIP-3860 init code words
    if n == 4:
        em.copy_gas(args[2], 6)  # CREATE2 hashes the init code
    em.push(em.host(ins.op, args, 1)[0])


@handler("CALL", "CALLCODE", "DELEGATECALL", "STATICCALL")
def call(em: Emitter, ins: Instr) -> None:
    n = 7 if ins.op in (0xF1, 0xF2) else 6
    args = [em.pop() for _ in range(n)]
    a = 3 if n == 7 else 2
    ino = em.mem_region(args[a], args[a + 1])
    outo = em.mem_region(args[a + 2], args[a + 3])
    em.push(_native_precompile(em, ins.op, args, a, ino, outo))


def _native_precompile(
    em: Emitter, op: int, args: list[Word], a: int, ino: ir.Value | None, outo: ir.Value | None
) -> ir.Value:
    """Try the runtime's rt_precompile (IDENTITY/SHA256 without leaving native code, see
    ir/sha256.ll); when it declines (other address, value sent, bit not in ctx PC_MASK,
    depth limit) take the Python host path. Returns the pushed success word."""
    em.gas_checkpoint()  # the 63/64 rule needs the exact, non-negative counter
    addr = arith.andi(args[1], em.c(ADDRESS_MASK))
    a64 = arith.select(arith.cmpi(P.ult, addr, em.c(64)), arith.trunci(em.i64, addr), em.c64(255))
    if a == 3:  # CALL/CALLCODE: only without value (value costs and transfers stay in Python)
        a64 = arith.select(arith.cmpi(P.ne, args[2], em.c(0)), em.c64(255), a64)
    req = arith.trunci(em.i64, arith.minui(args[0], em.c(I64_MAX)))
    # sizes fit in 32 bits once mem_region passed (or are 0); offsets are ignored for size 0
    ins_, outs = arith.trunci(em.i64, args[a + 1]), arith.trunci(em.i64, args[a + 3])
    io = ino if ino is not None else em.c64(0)
    oo = outo if outo is not None else em.c64(0)
    rc = em.call_ptr(em.table_fn(L.T_PRECOMPILE), [em.ctxp, em.gas(), a64, req, io, ins_, oo, outs], em.i64)
    native, python = em.new_block(), em.new_block()
    merge = em.region.blocks.append(em.i256)  # the success word of either path
    em.n_blocks += 1
    cf.cond_br(arith.cmpi(P.eq, rc, em.c64(2)), [], [], python, native, branch_weights=[1, 1])
    em.goto(native)
    em.sync_gas_in()
    cf.br([arith.extui(em.i256, rc)], merge)
    em.goto(python)
    cf.br([em.host(op, args, 1)[0]], merge)
    em.goto(merge)
    return merge.arguments[0]
