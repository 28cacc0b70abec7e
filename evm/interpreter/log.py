"""Logging: LOG0 .. LOG4 (0xa0-0xa4). Static gas (375 + 375 per topic) is in the opcode table."""
from __future__ import annotations

from ..errors import WriteInStaticContext
from ..gas import log_cost
from .frame import Frame, extend_memory, read_memory, use_gas


def _make_log(n: int):
    def log(f: Frame) -> None:
        s = f.stack
        offset = s.pop()
        size = s.pop()
        topics = [s.pop() for _ in range(n)]
        use_gas(f, log_cost(size))
        extend_memory(f, offset, size)
        if f.message.is_static:
            raise WriteInStaticContext()
        f.host.log(f.target, topics, read_memory(f, offset, size))

    log.__name__ = log.__qualname__ = f"log{n}"
    return log


INSTRUCTIONS = {0xA0 + n: _make_log(n) for n in range(5)}
