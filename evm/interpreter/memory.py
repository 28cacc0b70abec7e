"""Memory: MLOAD, MSTORE, MSTORE8, MSIZE (0x51-0x53, 0x59) and MCOPY (0x5e, Cancun, EIP-5656)."""

from __future__ import annotations

from ..gas import copy_cost
from .frame import Frame, extend_memory, use_gas


def mload(f: Frame) -> None:
    s = f.stack
    offset = s.pop()
    extend_memory(f, offset, 32)
    s.append(int.from_bytes(f.memory[offset : offset + 32], "big"))


def mstore(f: Frame) -> None:
    s = f.stack
    offset = s.pop()
    value = s.pop()
    extend_memory(f, offset, 32)
    f.memory[offset : offset + 32] = value.to_bytes(32, "big")


def mstore8(f: Frame) -> None:
    s = f.stack
    offset = s.pop()
    value = s.pop()
    extend_memory(f, offset, 1)
    f.memory[offset] = value & 0xFF


def msize(f: Frame) -> None:
    f.stack.append(len(f.memory))


def mcopy(f: Frame) -> None:
    s = f.stack
    dest = s.pop()
    src = s.pop()
    size = s.pop()
    use_gas(f, copy_cost(size))
    extend_memory(f, src, size)
    extend_memory(f, dest, size)
    if size:
        f.memory[dest : dest + size] = f.memory[src : src + size]  # the slice is a copy: overlap is fine


INSTRUCTIONS = {0x51: mload, 0x52: mstore, 0x53: mstore8, 0x59: msize, 0x5E: mcopy}
