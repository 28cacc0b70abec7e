"""One call frame of the interpreter: stack, memory, pc, gas, return data.

Instructions are functions ``op(f: Frame) -> None``. The loop (evm/interpreter/__init__.py) has
already checked the stack height and charged the opcode's static gas, and has moved `f.pc` past
the opcode byte; an instruction charges its dynamic gas with `use_gas` / `extend_memory`, and
ends the frame by raising `Halt` (STOP, RETURN, SELFDESTRUCT), `evm.errors.Revert` or an
`evm.errors.ExceptionalHalt`. Refunds, logs and every state change go through the host
(`evm.interfaces.FrameHost`), which journals them and reverts them if the frame does not succeed; the frame
never sees the state itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import OutOfGas
from ..message import to_address
from ..opcodes import jumpdests

if TYPE_CHECKING:
    from ..interfaces import FrameHost
    from ..message import BlockEnv, Message, TxEnv

__all__ = [
    "Frame",
    "Halt",
    "Instruction",
    "use_gas",
    "extend_memory",
    "read_memory",
    "read_padded",
    "to_address",
    "analyse",
    "UINT_MAX",
    "CODE_PADDING",
    "MAX_MEMORY_OPERAND",
]

UINT_MAX = 2**256 - 1
CODE_PADDING = bytes(33)  # STOP after the end of the code; zero PUSH data past the end


_ANALYSIS: dict[bytes, tuple[bytes, bytearray]] = {}
_ANALYSIS_LIMIT = 4096


def analyse(code: bytes) -> tuple[bytes, bytearray]:
    """(code padded with STOPs, valid-jumpdest map), cached per code (contracts called in a loop
    are analysed once; the cache is dropped wholesale when it grows past _ANALYSIS_LIMIT)."""
    hit = _ANALYSIS.get(code)
    if hit is None:
        if len(_ANALYSIS) >= _ANALYSIS_LIMIT:
            _ANALYSIS.clear()
        hit = _ANALYSIS[code] = (code + CODE_PADDING, jumpdests(code))
    return hit


Instruction = Callable[["Frame"], None]
"""What the interpreter runs for one opcode: ``op(frame)``."""


class Halt(Exception):
    """Normal end of the frame (STOP, RETURN, SELFDESTRUCT, end of code): success."""


class Frame:
    __slots__ = (
        "message",
        "host",
        "block",
        "tx",
        "fork",
        "target",
        "code",
        "code_size",
        "jumpdests",
        "stack",
        "memory",
        "pc",
        "gas",
        "return_data",
        "output",
    )

    def __init__(self, message: Message, host: FrameHost) -> None:
        self.message = message
        self.host = host
        self.block: BlockEnv = host.block
        self.tx: TxEnv = host.tx
        self.fork = host.fork
        self.target = message.target  # the account whose storage/balance this frame acts on
        code = message.code
        if type(code) is not bytes:
            code = bytes(code)
        self.code_size = len(code)
        self.code, self.jumpdests = analyse(code)
        self.stack: list[int] = []
        self.memory = bytearray()
        self.pc = 0
        self.gas = message.gas
        self.return_data = b""
        self.output = b""


def use_gas(f: Frame, amount: int) -> None:
    if amount > f.gas:
        raise OutOfGas()
    f.gas -= amount


MAX_MEMORY_OPERAND = 0xFFFFFFFF  # a memory offset or size above this is out of gas (both backends)


def extend_memory(f: Frame, offset: int, size: int) -> None:
    """Charge for and grow memory so [offset, offset+size) is addressable (no-op for size 0).
    Memory always holds a whole number of words."""
    if size == 0:
        return
    if offset > MAX_MEMORY_OPERAND or size > MAX_MEMORY_OPERAND:
        # as the compiled backend: 4 GiB of memory costs 3.6e13 gas, more than any transaction can carry
        raise OutOfGas()
    end = offset + size
    current = len(f.memory)
    if end <= current:
        return
    new_words = (end + 31) >> 5
    old_words = current >> 5
    cost = 3 * (new_words - old_words) + (new_words * new_words >> 9) - (old_words * old_words >> 9)
    if cost > f.gas:
        raise OutOfGas()
    try:
        f.memory.extend(bytes((new_words << 5) - current))
    except MemoryError:  # paid for, but the machine has not got it: an exceptional halt, not a crash
        raise OutOfGas() from None
    f.gas -= cost


def read_memory(f: Frame, offset: int, size: int) -> bytes:
    """Bytes of memory (call extend_memory first)."""
    if size == 0:
        return b""
    return bytes(f.memory[offset : offset + size])


def read_padded(buffer: bytes, start: int, size: int) -> bytes:
    """buffer[start:start+size], right-padded with zeros (CALLDATALOAD/*COPY semantics)."""
    if size == 0:
        return b""
    chunk = buffer[start : start + size] if start < len(buffer) else b""
    if len(chunk) < size:
        chunk = bytes(chunk) + bytes(size - len(chunk))
    return chunk
