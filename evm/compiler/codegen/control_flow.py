"""STOP JUMP JUMPI JUMPDEST PC GAS: direct branches for constant targets, a switch over the
JUMPDEST table for dynamic ones."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, cf, llvm

from .. import layout as L
from ..analysis import DYNAMIC, Instr
from . import Emitter, P, Word, handler


@handler("STOP")
def stop(em: Emitter, ins: Instr) -> None:
    em.exit(L.ST_STOP)


@handler("JUMPDEST")
def jumpdest(em: Emitter, ins: Instr) -> None:
    pass


@handler("PC")
def pc(em: Emitter, ins: Instr) -> None:
    em.push(em.word(ins.pc))


@handler("GAS")
def gas(em: Emitter, ins: Instr) -> None:
    # GAS ends its block, so the counter is exact here
    em.gas_checkpoint()
    em.push(arith.extui(em.i256, em.gas()))


def _succ_block(em: Emitter, idx: int | None) -> ir.Block:
    """MLIR block for a static successor (a STOP exit when it falls off the code)."""
    if idx is not None and idx in em.mblocks:
        return em.mblocks[idx]
    # The exit checks the gas counter in its own block; the block being emitted keeps its insertion
    # point and its unchecked charges (a dynamic jump taken from it must still check them, or a
    # loop through it would run on a negative counter for ever).
    assert em._ip is not None  # inside the block being built
    here, dirty = em._ip.block, em.gas_dirty
    blk = em.new_block()
    em.goto(blk)
    em.exit(L.ST_STOP)
    em.goto(here)
    em.gas_dirty, em.terminated = dirty, False
    return blk


def _needs_sp(em: Emitter, *idxs: int | None) -> bool:
    return any(i is not None and i in em.mblocks and em.an.blocks[i].height == DYNAMIC for i in idxs)


def dynamic_jump(em: Emitter, tgt: Word) -> None:
    """Branch to the JUMPDEST whose pc is the i256 value `tgt`, or halt with InvalidJump. All
    dynamic jumps of the function share one dispatch block (the gas check, the range check and a
    single switch over the JUMPDEST table), which keeps the IR linear in the code size."""
    if not any(i in em.mblocks for i in em.an.jumpdests.values()):
        em.fail(L.ST_BAD_JUMP)
        return
    k = em.const_value(tgt)
    if k is not None:  # a target the analysis missed but the code generator folded (compact tier)
        em.check(arith.cmpi(P.slt, em.gas(), em.c64(0)), L.ST_OOG)  # a cycle may pass here
        idx = em.an.jumpdests.get(k)
        if idx is None or idx not in em.mblocks:
            em.fail(L.ST_BAD_JUMP)
        else:
            em.branch_to(idx)
        return
    llvm_store_sp(em)
    llvm.store(tgt, em.jt_var, alignment=32)
    cf.br([], dispatch_block(em))
    em.terminated = True


def dispatch_block(em: Emitter) -> ir.Block:
    """The shared dispatch: first the gas (a cycle through dynamic jumps must check it, and JUMP
    is charged before its target is checked: out of gas wins over a bad target), then the target."""
    blk = em._dispatch
    if blk is None:
        assert em._ip is not None  # inside the block being built
        here = em._ip.block
        blk = em._dispatch = em.new_block()
        em.goto(blk)
        em.check(arith.cmpi(P.slt, em.gas(), em.c64(0)), L.ST_OOG)
        tgt = llvm.load(em.i256, em.jt_var, alignment=32)
        em.check(arith.cmpi(P.ugt, tgt, em.c(0xFFFFFFFF)), L.ST_BAD_JUMP)
        jd = [(pc, i) for pc, i in sorted(em.an.jumpdests.items()) if i in em.mblocks]
        t64 = arith.trunci(em.i64, tgt)
        if em.compact:
            jd = _dispatch_runs(em, jd, t64)
        vals = ir.Attribute.parse(f"dense<[{', '.join(str(pc) for pc, _ in jd)}]> : vector<{len(jd)}xi64>")
        cf.switch(
            t64,
            [],
            [],
            ir.DenseI32ArrayAttr.get([0] * len(jd)),
            em.err(L.ST_BAD_JUMP),
            [em.mblocks[i] for _, i in jd],
            case_values=vals,
        )
        em.goto(here)
    return blk


RUN_DISPATCH_MIN = 8  # JUMPDESTs in a run for a range test instead of switch cases


def _dispatch_runs(em: Emitter, jd: list[tuple[int, int]], t64: ir.Value) -> list[tuple[int, int]]:
    """Compact tier: targets inside a long run of lone JUMPDESTs are one range test each run,
    branching to the run's charging block with the gas of the JUMPDESTs from the target to the
    run's end; a switch case (and a block) per JUMPDEST of a 24k flood made lowering quadratic
    (4,000 cases: 31 s). Returns the targets left for the switch."""
    rest: list[tuple[int, int]] = []
    k = 0
    gas = em.optable[0x5B].gas
    while k < len(jd):
        pc, i = jd[k]
        blk = em.an.blocks[i]
        if not em._lone_jumpdest(blk):
            rest.append(jd[k])
            k += 1
            continue
        end, n = em.run_end(blk)
        # the run's JUMPDESTs are the targets pc .. pc+n-1 (one byte each)
        if n < RUN_DISPATCH_MIN:  # a short run: its JUMPDESTs stay switch cases
            rest.append(jd[k])
            k += 1
            continue
        end_pc = pc + n
        inside = arith.cmpi(P.ult, arith.subi(t64, em.c64(pc)), em.c64(n))
        amount = arith.muli(arith.subi(em.c64(end_pc), t64), em.c64(gas))
        nxt = em.new_block()
        cf.cond_br(inside, [amount], [], em.run_block(end), nxt)
        em.goto(nxt)
        while k < len(jd) and jd[k][0] < end_pc:
            k += 1
    return rest


def llvm_store_sp(em: Emitter) -> None:
    llvm.store(em.height_value(), em.sp_var)


@handler("JUMP")
def jump(em: Emitter, ins: Instr) -> None:
    tgt = em.pop()
    em.flush()
    b = em.block
    assert b is not None  # (JUMP is inline: not in the op library)
    if b.jump_target is not None:
        idx = em.an.jumpdests.get(b.jump_target)
        if idx is None:
            em.fail(L.ST_BAD_JUMP)
        else:
            em.branch_to(idx)
    else:
        dynamic_jump(em, tgt)


@handler("JUMPI")
def jumpi(em: Emitter, ins: Instr) -> None:
    tgt, cond = em.pop(), em.pop()
    em.flush()
    b = em.block
    assert b is not None  # (JUMPI is inline: not in the op library)
    nz = arith.cmpi(P.ne, em.as_i256(cond), em.c(0))
    if b.jump_target is not None and b.jump_target not in em.an.jumpdests:
        em.gas_checkpoint()  # out of gas wins over the bad target (before _succ_block's own check)
    fall = _succ_block(em, b.fallthrough)
    if b.jump_target is not None:
        idx = em.an.jumpdests.get(b.jump_target)
        taken = em.err(L.ST_BAD_JUMP) if idx is None else em.mblocks[idx]
        if _needs_sp(em, idx, b.fallthrough):
            llvm_store_sp(em)
        cf.cond_br(nz, [], [], taken, fall)
        em.terminated = True
        return
    if _needs_sp(em, b.fallthrough):
        llvm_store_sp(em)
    taken = em.new_block()
    cf.cond_br(nz, [], [], taken, fall)
    em.goto(taken)
    dynamic_jump(em, tgt)
    em.terminated = True
