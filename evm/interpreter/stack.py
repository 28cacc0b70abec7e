"""Stack: POP (0x50), PUSH0 (0x5f, Shanghai, EIP-3855), PUSH1..PUSH32, DUP1..DUP16,
SWAP1..SWAP16. Heights are checked by the loop before an instruction runs."""

from __future__ import annotations

from .frame import Frame, Instruction


def pop(f: Frame) -> None:
    f.stack.pop()


def push0(f: Frame) -> None:
    f.stack.append(0)


def _make_push(n: int) -> Instruction:
    def push(f: Frame) -> None:
        pc = f.pc
        f.stack.append(int.from_bytes(f.code[pc : pc + n], "big"))  # code is zero-padded
        f.pc = pc + n

    push.__name__ = push.__qualname__ = f"push{n}"
    return push


def _make_dup(n: int) -> Instruction:
    def dup(f: Frame) -> None:
        s = f.stack
        s.append(s[-n])

    dup.__name__ = dup.__qualname__ = f"dup{n}"
    return dup


def _make_swap(n: int) -> Instruction:
    i = -n - 1

    def swap(f: Frame) -> None:
        s = f.stack
        s[-1], s[i] = s[i], s[-1]

    swap.__name__ = swap.__qualname__ = f"swap{n}"
    return swap


INSTRUCTIONS: dict[int, Instruction] = {0x50: pop, 0x5F: push0}
for _n in range(1, 33):
    INSTRUCTIONS[0x5F + _n] = _make_push(_n)
for _n in range(1, 17):
    INSTRUCTIONS[0x7F + _n] = _make_dup(_n)
    INSTRUCTIONS[0x8F + _n] = _make_swap(_n)
del _n
