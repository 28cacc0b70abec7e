"""POP PUSH0..PUSH32 DUP1..16 SWAP1..16: compile-time moves of SSA values (no code)."""
from . import handler


@handler(0x50)
def pop(em, ins):
    em.h -= 1


@handler(*range(0x5F, 0x80))
def push(em, ins):
    em.push(em.word(ins.imm))


@handler(*range(0x80, 0x90))
def dup(em, ins):
    em.push(em.peek(ins.op - 0x7F))


@handler(*range(0x90, 0xA0))
def swap(em, ins):
    k = ins.op - 0x8F
    a, b = em.h - 1, em.h - 1 - k
    va, vb = em.get(a), em.get(b)
    em.cur[a], em.cur[b] = vb, va
