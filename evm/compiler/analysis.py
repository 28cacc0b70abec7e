"""Static analysis of EVM bytecode for the compiler.

* decode instructions (PUSH data is skipped, never decoded),
* valid JUMPDEST table (a 0x5b inside PUSH data is not a destination),
* basic blocks: a block starts at pc 0, at every JUMPDEST and after every block end; it ends
  at JUMP/JUMPI, at a terminator (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT, undefined
  opcode) and *after* every instruction that observes the exact gas left (GAS, SSTORE, CALL*,
  CREATE*): static gas is charged once per block, so a block may not contain an instruction
  that reads the gas counter except as its last one;
* per block: static gas, stack height needed on entry, net height change and peak growth;
* PUSH+JUMP resolution: a jump whose target is a constant pushed inside the same block
  (possibly moved by DUP/SWAP) is a direct branch;
* entry stack heights: propagated along static edges from pc 0; a block reached from blocks
  of different heights, or from a dynamic jump, or from such a block, has a run-time height.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .opinfo import OpInfo, op_table

JUMP, JUMPI, JUMPDEST = 0x56, 0x57, 0x5B
PUSH0, PUSH1, PUSH32 = 0x5F, 0x60, 0x7F
DUP1, DUP16, SWAP1, SWAP16 = 0x80, 0x8F, 0x90, 0x9F
TERMINATORS = frozenset({0x00, 0xF3, 0xFD, 0xFE, 0xFF})
# Instructions whose semantics read the exact gas counter: they end their block.
GAS_OBSERVERS = frozenset({0x5A, 0x55, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA})

DYNAMIC = -1  # entry height known only at run time


@dataclass(slots=True)
class Instr:
    pc: int
    op: int
    imm: int = 0          # PUSH immediate (zero-padded when the code ends inside it)
    size: int = 1


@dataclass(slots=True)
class Block:
    index: int
    start: int
    instrs: list[Instr] = field(default_factory=list)
    gas: int = 0                  # static gas of every instruction
    need: int = 0                 # items that must be on the stack on entry
    delta: int = 0                # height change from entry to exit
    peak: int = 0                 # highest growth above the entry height
    invalid: bool = False         # contains an undefined opcode (halts there)
    jump_target: int | None = None   # resolved constant target of the final JUMP/JUMPI (a pc)
    fallthrough: int | None = None   # index of the block that follows when no jump is taken
    succs: list[int] = field(default_factory=list)  # static successors (block indices)
    dynamic_jump: bool = False    # ends with JUMP/JUMPI whose target is only known at run time
    height: int | None = None     # entry height: int, DYNAMIC, or None (unreachable)
    loop_head: bool = False       # target of a static backward jump (a cycle passes through it)

    @property
    def last(self) -> Instr | None:
        return self.instrs[-1] if self.instrs else None


@dataclass(slots=True)
class Analysis:
    code: bytes
    blocks: list[Block]
    jumpdests: dict[int, int]     # pc of valid JUMPDEST -> block index
    has_dynamic_jumps: bool


def decode(code: bytes) -> list[Instr]:
    out = []
    pc, n = 0, len(code)
    while pc < n:
        op = code[pc]
        if PUSH1 <= op <= PUSH32:
            k = op - PUSH0
            data = code[pc + 1: pc + 1 + k]
            imm = int.from_bytes(data.ljust(k, b"\0"), "big")
            out.append(Instr(pc, op, imm, 1 + k))
            pc += 1 + k
        else:
            out.append(Instr(pc, op))
            pc += 1
    return out


def valid_jumpdests(code: bytes) -> set[int]:
    return {i.pc for i in decode(code) if i.op == JUMPDEST}


def _stack_effect(op: int, info: OpInfo | None) -> tuple[int, int]:
    if info is None:
        return 0, 0
    return info.pops, info.pushes


def analyze(code: bytes, fork) -> Analysis:
    table = op_table(fork)
    instrs = decode(code)
    blocks: list[Block] = []
    cur: Block | None = None

    def new_block(pc: int) -> Block:
        b = Block(len(blocks), pc)
        blocks.append(b)
        return b

    for ins in instrs:
        if cur is None or (ins.op == JUMPDEST and cur.instrs):
            cur = new_block(ins.pc)
        cur.instrs.append(ins)
        info = table.get(ins.op)
        if info is None:
            cur.invalid = True
        if info is None or ins.op in TERMINATORS or ins.op in (JUMP, JUMPI) or ins.op in GAS_OBSERVERS:
            cur = None
    by_start = {b.start: b.index for b in blocks}
    for b in blocks:
        last = b.last
        if b.invalid or last.op in TERMINATORS or last.op == JUMP:
            continue
        b.fallthrough = by_start.get(last.pc + last.size)  # None: falls off the end (STOP)
    jumpdests = {b.start: b.index for b in blocks if b.instrs and b.instrs[0].op == JUMPDEST}

    # Per-block stack and gas summary, constant tracking for jump resolution.
    for b in blocks:
        h = 0
        need = 0
        peak = 0
        consts: list[int | None] = []  # symbolic stack (relative to entry), None = unknown
        gas = 0
        for ins in b.instrs:
            info = table.get(ins.op)
            if info is None:
                break
            gas += info.gas
            pops, pushes = info.pops, info.pushes
            need = max(need, pops - h)
            h = h - pops + pushes
            peak = max(peak, h)
            # symbolic constants (for PUSH .. JUMP resolution)
            if PUSH0 <= ins.op <= PUSH32:
                consts.append(ins.imm)
            elif DUP1 <= ins.op <= DUP16:
                k = ins.op - DUP1 + 1
                consts.append(consts[-k] if len(consts) >= k else None)
            elif SWAP1 <= ins.op <= SWAP16:
                k = ins.op - SWAP1 + 1
                if len(consts) > k:
                    consts[-1], consts[-1 - k] = consts[-1 - k], consts[-1]
                else:
                    # part of the swap touches items below the block entry: unknown
                    top = consts[-1] if consts else None
                    if consts:
                        consts[-1] = None
                    if len(consts) > k:
                        consts[-1 - k] = top
            else:
                if ins.op in (JUMP, JUMPI):
                    tgt = consts[-1] if consts else None
                    if tgt is not None:
                        b.jump_target = tgt
                    else:
                        b.dynamic_jump = True
                for _ in range(pops):
                    if consts:
                        consts.pop()
                consts.extend([None] * pushes)
        b.gas, b.need, b.delta, b.peak = gas, need, h, peak
        if b.jump_target is not None:
            t = jumpdests.get(b.jump_target)
            if t is not None:
                b.succs.append(t)
        if b.fallthrough is not None:
            b.succs.append(b.fallthrough)

    for b in blocks:
        if b.jump_target is not None:
            t = jumpdests.get(b.jump_target)
            if t is not None and blocks[t].start <= b.start:
                blocks[t].loop_head = True
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
        out = DYNAMIC if b.height == DYNAMIC else b.height + b.delta
        for s in b.succs:
            sb = blocks[s]
            if sb.height is None:
                sb.height = out
                work.append(s)
            elif sb.height != out and sb.height != DYNAMIC:
                sb.height = DYNAMIC
                work.append(s)
