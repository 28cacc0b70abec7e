"""KECCAK256 (0x20)."""

from __future__ import annotations

from common.keccak import keccak

from ..gas import keccak_cost
from .frame import Frame, extend_memory, read_memory, use_gas


def keccak256(f: Frame) -> None:
    s = f.stack
    offset = s.pop()
    size = s.pop()
    use_gas(f, keccak_cost(size))
    extend_memory(f, offset, size)
    s.append(int.from_bytes(keccak(read_memory(f, offset, size)), "big"))


INSTRUCTIONS = {0x20: keccak256}
