"""Static analysis of EVM bytecode for the compiler, in three steps:

1. `decode`: instructions (PUSH data is skipped, never decoded);
2. `split_blocks`: basic blocks. A block starts at pc 0, at every JUMPDEST and after every block
   end; it ends at JUMP/JUMPI, at a terminator (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT,
   undefined opcode) and *after* every instruction that observes the exact gas left (GAS, SSTORE,
   CALL*, CREATE*): static gas is charged ahead, so such an instruction must be the last one;
3. `summarise`: per block its static gas, the stack height needed on entry, net change and peak,
   the constant target of its final jump (a PUSH moved by DUP/SWAP inside the block), and its
   *segments* (below).

Then entry stack heights are propagated along static edges from pc 0: a block reached from blocks
of different heights, or from a dynamic jump, or from such a block, has a run-time height.

Segments. The interpreter checks an instruction's stack bounds, charges its static gas, then runs
it; the compiled code checks the bounds and charges the static gas of a whole run of instructions
at once. The two agree on *which* error ends a frame only if nothing in the run can stop it
between those points, so a block is cut into segments, each ending after an instruction that
charges dynamic gas or may fault otherwise (`OpInfo.ends_segment`): inside a segment every other
instruction is pure, so when the segment's stack guard fails, the first failing instruction and
whether the gas ran out before it follow from static facts alone (`stack_fault`), and when the
last instruction's body faults, the counter holds exactly what the interpreter's would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spec import Fork
from .opinfo import OpInfo, op_table

JUMP, JUMPI, JUMPDEST = 0x56, 0x57, 0x5B
PUSH0, PUSH1, PUSH32 = 0x5F, 0x60, 0x7F
DUP1, DUP16, SWAP1, SWAP16 = 0x80, 0x8F, 0x90, 0x9F
TERMINATORS = frozenset({0x00, 0xF3, 0xFD, 0xFE, 0xFF})
# Instructions whose semantics read the exact gas counter: they end their block.
GAS_OBSERVERS = frozenset({0x5A, 0x55, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA})
STACK_LIMIT = 1024

DYNAMIC = -1  # entry height known only at run time


@dataclass(slots=True)
class Instr:
    pc: int
    op: int
    imm: int = 0  # PUSH immediate (zero-padded when the code ends inside it)
    size: int = 1


@dataclass(slots=True)
class Segment:
    first: int  # index of its first instruction in the block
    end: int  # index one past its last
    rel: int  # stack height at its start, relative to the block's entry height
    gas: int = 0  # static gas of its instructions
    need: int = 0  # items that must be on the stack at its start
    peak: int = 0  # highest growth above its start height


@dataclass(slots=True)
class Block:
    index: int
    start: int
    instrs: list[Instr] = field(default_factory=list)
    gas: int = 0  # static gas of every instruction
    need: int = 0  # items that must be on the stack on entry
    delta: int = 0  # height change from entry to exit
    peak: int = 0  # highest growth above the entry height
    invalid: bool = False  # contains an undefined opcode (halts there)
    jump_target: int | None = None  # resolved constant target of the final JUMP/JUMPI (a pc)
    fallthrough: int | None = None  # index of the block that follows when no jump is taken
    succs: list[int] = field(default_factory=list)  # static successors (block indices)
    dynamic_jump: bool = False  # ends with JUMP/JUMPI whose target is only known at run time
    height: int | None = None  # entry height: int, DYNAMIC, or None (unreachable)
    loop_head: bool = False  # target of a static backward jump (a cycle passes through it)
    segments: list[Segment] = field(default_factory=list)

    @property
    def last(self) -> Instr | None:
        return self.instrs[-1] if self.instrs else None


@dataclass(slots=True)
class Analysis:
    code: bytes
    blocks: list[Block]
    jumpdests: dict[int, int]  # pc of valid JUMPDEST -> block index
    has_dynamic_jumps: bool


def decode(code: bytes) -> list[Instr]:
    out = []
    pc, n = 0, len(code)
    while pc < n:
        op = code[pc]
        if PUSH1 <= op <= PUSH32:
            k = op - PUSH0
            data = code[pc + 1 : pc + 1 + k]
            imm = int.from_bytes(data.ljust(k, b"\0"), "big")
            out.append(Instr(pc, op, imm, 1 + k))
            pc += 1 + k
        else:
            out.append(Instr(pc, op))
            pc += 1
    return out


def valid_jumpdests(code: bytes) -> set[int]:
    return {i.pc for i in decode(code) if i.op == JUMPDEST}


def split_blocks(instrs: list[Instr], table: dict[int, OpInfo]) -> list[Block]:
    """Basic blocks in code order, with their fall-through successors."""
    blocks: list[Block] = []
    cur: Block | None = None
    for ins in instrs:
        if cur is None or (ins.op == JUMPDEST and cur.instrs):
            cur = Block(len(blocks), ins.pc)
            blocks.append(cur)
        cur.instrs.append(ins)
        info = table.get(ins.op)
        if info is None:
            cur.invalid = True
        if info is None or ins.op in TERMINATORS or ins.op in (JUMP, JUMPI) or ins.op in GAS_OBSERVERS:
            cur = None
    by_start = {b.start: b.index for b in blocks}
    for b in blocks:
        last = b.instrs[-1]  # a block has at least one instruction
        if not (b.invalid or last.op in TERMINATORS or last.op == JUMP):
            b.fallthrough = by_start.get(last.pc + last.size)  # None: falls off the end (STOP)
    return blocks


def _jump_target(instrs: list[Instr], table: dict[int, OpInfo]) -> int | None:
    """The constant target of a final JUMP/JUMPI: the value a PUSH inside the block left on top
    (possibly moved by DUP/SWAP), else None. The stack is tracked symbolically relative to the
    block entry; None stands for a value not known at compile time."""
    consts: list[int | None] = []
    for ins in instrs[:-1]:
        op = ins.op
        if PUSH0 <= op <= PUSH32:
            consts.append(ins.imm)
        elif DUP1 <= op <= DUP16:
            k = op - DUP1 + 1
            consts.append(consts[-k] if len(consts) >= k else None)
        elif SWAP1 <= op <= SWAP16:
            k = op - SWAP1 + 1
            if len(consts) > k:
                consts[-1], consts[-1 - k] = consts[-1 - k], consts[-1]
            elif consts:  # the other operand is below the block entry: unknown
                consts[-1] = None
        else:
            info = table[op]
            del consts[max(0, len(consts) - info.pops) :]
            consts.extend([None] * info.pushes)
    return consts[-1] if consts else None


def summarise(b: Block, table: dict[int, OpInfo], split_after: frozenset[int] = frozenset()) -> None:
    """Static gas, stack need/delta/peak and segments of `b` (also cut after the opcodes of
    `split_after`); the target of its final jump."""
    h = 0
    seg = Segment(0, 0, 0)
    for i, ins in enumerate(b.instrs):
        info = table.get(ins.op)
        if info is None:  # undefined opcode: the last instruction; halts without stack checks
            break
        b.need = max(b.need, info.pops - h)
        seg.need = max(seg.need, info.pops - (h - seg.rel))
        h += info.pushes - info.pops
        b.peak = max(b.peak, h)
        seg.peak = max(seg.peak, h - seg.rel)
        b.gas += info.gas
        seg.gas += info.gas
        if (info.ends_segment or ins.op in split_after) and i + 1 < len(b.instrs):
            seg.end = i + 1
            b.segments.append(seg)
            seg = Segment(i + 1, 0, h)
    seg.end = len(b.instrs)
    b.segments.append(seg)
    b.delta = h
    if b.instrs[-1].op in (JUMP, JUMPI):
        b.jump_target = _jump_target(b.instrs, table)
        b.dynamic_jump = b.jump_target is None


def analyze(code: bytes, fork: Fork, split_after: frozenset[int] = frozenset()) -> Analysis:
    table = op_table(fork)
    blocks = split_blocks(decode(code), table)
    jumpdests = {b.start: b.index for b in blocks if b.instrs[0].op == JUMPDEST}
    for b in blocks:
        summarise(b, table, split_after)
        t = jumpdests.get(b.jump_target) if b.jump_target is not None else None
        if t is not None:
            b.succs.append(t)
            if blocks[t].start <= b.start:
                blocks[t].loop_head = True
        if b.fallthrough is not None:
            b.succs.append(b.fallthrough)
    has_dyn = any(b.dynamic_jump for b in blocks)
    _propagate_heights(blocks, jumpdests, has_dyn)
    return Analysis(code, blocks, jumpdests, has_dyn)


def _propagate_heights(blocks: list[Block], jumpdests: dict[int, int], has_dyn: bool) -> None:
    if not blocks:
        return
    if has_dyn:
        for i in jumpdests.values():
            blocks[i].height = DYNAMIC
    entry = blocks[0]
    if entry.height is None:
        entry.height = 0
    work = [0] + ([i for i in jumpdests.values()] if has_dyn else [])
    while work:
        i = work.pop()
        b = blocks[i]
        assert b.height is not None  # only blocks given a height are queued
        out = DYNAMIC if b.height == DYNAMIC else b.height + b.delta
        for s in b.succs:
            sb = blocks[s]
            if sb.height is None:
                sb.height = out
                work.append(s)
            elif sb.height != out and sb.height != DYNAMIC:
                sb.height = DYNAMIC
                work.append(s)


def first_stack_fault(
    seg: Segment, instrs: list[Instr], table: dict[int, OpInfo], height: int
) -> tuple[int, bool] | None:
    """For a segment entered at stack `height` (its own start): (index of the first instruction
    whose stack check fails, True for underflow / False for overflow), or None. Undefined opcodes
    are not checked (the interpreter halts on them before looking at the stack)."""
    for i in range(seg.first, seg.end):
        info = table.get(instrs[i].op)
        if info is None:
            return None
        if height < info.pops:
            return i, True
        height += info.pushes - info.pops
        if height > STACK_LIMIT:
            return i, False
    return None
