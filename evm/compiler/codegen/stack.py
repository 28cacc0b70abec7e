"""POP PUSH0..PUSH32 DUP1..16 SWAP1..16: compile-time moves of SSA values (no code)."""

from __future__ import annotations

from ..analysis import Instr
from . import Emitter, handler


@handler("POP")
def pop(em: Emitter, ins: Instr) -> None:
    em.h -= 1


@handler("PUSH0", *(f"PUSH{n}" for n in range(1, 33)))
def push(em: Emitter, ins: Instr) -> None:
    em.push(em.word(ins.imm))


@handler(*(f"DUP{n}" for n in range(1, 17)))
def dup(em: Emitter, ins: Instr) -> None:
    em.push(em.peek(ins.op - 0x7F))


@handler(*(f"SWAP{n}" for n in range(1, 17)))
def swap(em: Emitter, ins: Instr) -> None:
    k = ins.op - 0x8F
    a, b = em.h - 1, em.h - 1 - k
    va, vb = em.get(a), em.get(b)
    em.cur[a], em.cur[b] = vb, va
