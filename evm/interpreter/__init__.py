"""The reference interpreter backend: a readable loop over a per-fork dispatch table.

It is the second backend and the oracle of the MLIR compiler. Instructions are grouped by
category in the sibling modules (as in ethereum/execution-specs); each is a small function
``op(frame)``. This module builds, once per fork, a 256-entry table of
``(function, static gas, min stack height, max stack height)`` from `evm.opcodes` (an opcode not
available at the fork maps to INVALID), and runs the loop:

    fetch opcode -> check stack height (underflow / overflow) -> charge static gas -> pc += 1
    -> run the instruction (which charges dynamic gas and may call the host)

Exceptional halts are exceptions inside the loop; `run_frame` converts them into
`ExecutionResult(status="error", error=<name>, gas_left=0)`: nothing leaks to the caller.
Nested calls are executed by the host (`evm.host.Host.call/create`), which calls back into
`run_frame` for the child frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ExceptionalHalt, OutOfGas, Revert, StackOverflow, StackUnderflow
from ..gas import STACK_LIMIT
from ..message import ExecutionResult, Message
from ..opcodes import opcode_info
from ..spec import Fork
from . import arithmetic, bitwise, block, comparison, control_flow, environment, keccak, log, memory, storage, system
from . import stack as stack_ops
from .frame import Frame, Halt

if TYPE_CHECKING:
    from ..interfaces import BackendStats, FrameHost

__all__ = ["InterpreterBackend", "instruction_table", "run_loop", "Entry", "INSTRUCTIONS"]

INSTRUCTIONS: dict[int, Callable[[Frame], None]] = {}
for _module in (
    arithmetic,
    comparison,
    bitwise,
    keccak,
    environment,
    block,
    stack_ops,
    memory,
    storage,
    control_flow,
    log,
    system,
):
    for _code, _fn in _module.INSTRUCTIONS.items():
        assert _code not in INSTRUCTIONS, hex(_code)
        INSTRUCTIONS[_code] = _fn

Entry = tuple[Callable[[Frame], None], int, int, int]
_TABLES: dict[Fork, list[Entry]] = {}


def instruction_table(fork: Fork) -> list[Entry]:
    """256 entries (function, static gas, min stack height, max stack height) for `fork`."""
    table = _TABLES.get(fork)
    if table is None:
        table = []
        for op in range(256):
            info = opcode_info(op, fork)
            if info.valid:
                table.append(
                    (INSTRUCTIONS[op], info.gas, info.inputs, STACK_LIMIT - max(0, info.outputs - info.inputs))
                )
            else:
                table.append((system.invalid, 0, 0, STACK_LIMIT))
        _TABLES[fork] = table
    return table


def _loop(f: Frame, table: list[Entry]) -> None:
    code = f.code
    stack = f.stack
    while True:
        fn, static_gas, lo, hi = table[code[f.pc]]
        n = len(stack)
        if n < lo:
            raise StackUnderflow()
        if n > hi:
            raise StackOverflow()
        g = f.gas - static_gas
        if g < 0:
            raise OutOfGas()
        f.gas = g
        f.pc += 1
        fn(f)


class InterpreterBackend:
    """Backend "interpreter": `run_frame(message, host) -> ExecutionResult` runs one frame's
    code (never a precompile: the host handles those)."""

    name = "interpreter"

    def __init__(self) -> None:
        self.frames = 0
        self.frames_traced = 0  # frames of traced messages (run on the tracing interpreter, evm.execute)

    def stats(self) -> BackendStats:
        return {"frames_compiled": 0, "frames_interpreted": self.frames + self.frames_traced}

    def run_frame(self, message: Message, host: FrameHost) -> ExecutionResult:
        self.frames += 1
        return run_loop(Frame(message, host), _loop, instruction_table(host.fork))


def run_loop(f: Frame, loop: Callable[..., None], table: list[Entry], *extra: object) -> ExecutionResult:
    """Run `loop(f, table, *extra)` over one frame and turn how it stopped into the frame's result
    (shared by the plain and the tracing loop)."""
    try:
        loop(f, table, *extra)
    except Halt:
        return ExecutionResult("success", f.output, f.gas)
    except Revert:
        return ExecutionResult("revert", f.output, f.gas)
    except ExceptionalHalt as exc:
        return ExecutionResult("error", b"", 0, exc.name)
    raise AssertionError("unreachable")  # pragma: no cover
