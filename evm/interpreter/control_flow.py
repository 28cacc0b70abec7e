"""Control flow: STOP, JUMP, JUMPI, PC, GAS, JUMPDEST (0x00, 0x56-0x58, 0x5a, 0x5b)."""

from __future__ import annotations

from ..errors import InvalidJump
from .frame import Frame, Halt


def stop(f: Frame) -> None:
    raise Halt()


def jump(f: Frame) -> None:
    dest = f.stack.pop()
    if dest >= f.code_size or not f.jumpdests[dest]:
        raise InvalidJump()
    f.pc = dest


def jumpi(f: Frame) -> None:
    s = f.stack
    dest = s.pop()
    if s.pop():
        if dest >= f.code_size or not f.jumpdests[dest]:
            raise InvalidJump()
        f.pc = dest


def pc(f: Frame) -> None:
    f.stack.append(f.pc - 1)  # the loop already moved past this opcode


def gas(f: Frame) -> None:
    f.stack.append(f.gas)


def jumpdest(f: Frame) -> None:
    pass


INSTRUCTIONS = {0x00: stop, 0x56: jump, 0x57: jumpi, 0x58: pc, 0x5A: gas, 0x5B: jumpdest}
