"""Logging: LOG0 .. LOG4 (0xa0-0xa4). Static gas (375 + 375 per topic) is in the opcode table."""

from __future__ import annotations

from ..gas import log_cost
from .frame import Frame, Instruction, extend_memory, read_memory, use_gas


def _make_log(n: int) -> Instruction:
    def log(f: Frame) -> None:
        s = f.stack
        offset = s.pop()
        size = s.pop()
        topics = [s.pop().to_bytes(32, "big") for _ in range(n)]
        use_gas(f, log_cost(size))
        extend_memory(f, offset, size)
        f.host.log(f.message, topics, read_memory(f, offset, size))  # checks the static context

    log.__name__ = log.__qualname__ = f"log{n}"
    return log


INSTRUCTIONS = {0xA0 + n: _make_log(n) for n in range(5)}
