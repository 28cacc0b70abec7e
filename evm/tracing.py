"""Execution tracing: EIP-3155 / geth struct logs, one entry per executed instruction.

Zero cost when no tracer is attached: the reference interpreter's loop is untouched. Attaching a
tracer (`evm.execute(..., tracer=t)` or `evm.processor.process_transaction(..., tracer=t)`)
runs the whole transaction -- every nested frame -- on `TracingBackend`, a copy of the
interpreter loop that records a `StructLog` before each instruction and fills in its cost after.
Traces therefore always come from the reference interpreter, whatever backend was asked for (the
compiled backend is differential-tested against it; the results are the same).

Fields of a `StructLog` (EIP-3155 names): pc, op (opcode byte), opName, gas (before the
instruction), gasCost, depth (1 = the transaction's frame), stack (bottom first), memory
(optional), memSize, returnData (the frame's return-data buffer), refund (the transaction's
refund counter), error (the exceptional halt this instruction caused, if any), storage (geth:
the slots of the executing contract seen so far, on SLOAD/SSTORE entries, optional).

gasCost is what the instruction charged. For CALL*/CREATE* it is, as in geth, the gas taken from
the caller *before* the child ran: memory + static + access/value/new-account costs + the gas
given to the child (without the 2300 stipend). For a failing instruction it is what was charged
before the failure (the static gas for a static out-of-gas).

Output formats: `StructLog.to_eip3155()` (JSON lines as `evm t8n --trace` / `evm run --json`
print them: gas and gasCost as hex strings) and `StructLog.to_geth()` (an entry of
`debug_traceTransaction`'s ``structLogs``); `StructLogger.geth_result()` is the whole
``debug_traceTransaction`` result and `StructLogger.eip3155_summary()` the final JSON line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from .errors import ExceptionalHalt, OutOfGas, StackOverflow, StackUnderflow
from .message import BlockEnv, ExecutionResult, Message
from .opcodes import NAMES

if TYPE_CHECKING:
    from .interfaces import Backend, BackendStats, FrameHost, StateReader
    from .interpreter import Entry
    from .interpreter.frame import Frame
    from .transactions import Transaction

__all__ = ["StructLog", "StructLogger", "TracingBackend", "TraceLimitExceeded", "GETH_ERRORS"]

SLOAD, SSTORE = 0x54, 0x55

# Our exceptional-halt names -> geth's error strings (debug_traceTransaction's "error").
GETH_ERRORS = {
    "OutOfGas": "out of gas",
    "StackUnderflow": "stack underflow",
    "StackOverflow": "stack limit reached 1024",
    "InvalidJump": "invalid jump destination",
    "InvalidOpcode": "invalid opcode",
    "WriteInStaticContext": "write protection",
    "ReturnDataOutOfBounds": "return data out of bounds",
    "AddressCollision": "contract address collision",
    "InvalidContractPrefix": "invalid code: must not begin with 0xef",
    "CodeSizeExceeded": "max code size exceeded",
    "InsufficientBalance": "insufficient balance for transfer",
    "DepthLimit": "max call depth exceeded",
}


class TraceLimitExceeded(Exception):
    """More steps than the tracer's `limit`: tracing stops (the caller discards the state)."""


def geth_error(status: str, error: str | None) -> str | None:
    """A frame's result as geth's tracers name its error (None: it succeeded)."""
    if status == "success":
        return None
    if status == "revert":
        return "execution reverted"
    return GETH_ERRORS.get(error or "", error or "execution failed")


class Tracer:
    """The hooks a tracer may implement; every one is a no-op here. While tracing, the host calls them:

    - `start(tx, sender, state, block)`: before the transaction buys its gas (its accounts untouched), with
      a read-only view of the state (`evm.interfaces.StateReader`) the tracer may keep to read the accounts
      again after `finish`; while frames run it reads through the frame's host;
    - `enter(kind, sender, to, value, gas, data)` / `exit(output, gas_used, error, reverted)` around every
      nested frame: kind "CALL" | "CALLCODE" | "DELEGATECALL" | "STATICCALL" | "CREATE" | "CREATE2" |
      "SELFDESTRUCT"; `value` None for STATICCALL; `error` geth's text or None;
    - `log(address, topics, data)` for every LOG (also those a revert drops later);
    - `finish(output, gas_used, status, error)` once, with the transaction's gas used (the top frame's exit);
    - `opcode(frame, op)` before each instruction, only with the backend `OpcodeHookBackend` (see `backend`).

    `backend()` gives the backend every frame runs on: the plain interpreter unless the tracer needs steps.
    """

    def backend(self) -> Backend:
        from .interpreter import InterpreterBackend

        return InterpreterBackend()

    def start(self, tx: Transaction, sender: bytes, state: StateReader, block: BlockEnv) -> None:
        pass

    def enter(self, kind: str, sender: bytes, to: bytes | None, value: int | None, gas: int, data: bytes) -> None:
        pass

    def exit(self, output: bytes, gas_used: int, error: str | None, reverted: bool) -> None:
        pass

    def log(self, address: bytes, topics: tuple[bytes, ...], data: bytes) -> None:
        pass

    def child_returned(self, gas_left: int) -> None:
        pass

    def finish(self, output: bytes, gas_used: int, status: str, error: str | None = None) -> None:
        pass

    def opcode(self, frame: Frame, op: int) -> None:
        pass


@dataclass(slots=True)
class StructLog:
    pc: int
    op: int
    gas: int
    depth: int
    refund: int
    mem_size: int
    gas_cost: int = 0
    stack: list[int] | None = None
    memory: bytes | None = None
    return_data: bytes | None = None
    storage: dict[int, int] | None = None
    error: str | None = None

    @property
    def op_name(self) -> str:
        return NAMES.get(self.op, f"opcode 0x{self.op:x} not defined")

    def to_eip3155(self) -> dict[str, Any]:
        d: dict[str, Any] = {"pc": self.pc, "op": self.op, "gas": hex(self.gas), "gasCost": hex(self.gas_cost)}
        if self.memory is not None:
            d["memory"] = "0x" + self.memory.hex()
        d["memSize"] = self.mem_size
        if self.stack is not None:
            d["stack"] = [hex(v) for v in self.stack]
        if self.return_data is not None:
            d["returnData"] = "0x" + self.return_data.hex()
        d["depth"] = self.depth
        d["refund"] = self.refund
        d["opName"] = self.op_name
        if self.error is not None:
            d["error"] = self.error
        return d

    def to_geth(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "pc": self.pc,
            "op": self.op_name,
            "gas": self.gas,
            "gasCost": self.gas_cost,
            "depth": self.depth,
        }
        if self.stack is not None:
            d["stack"] = [hex(v) for v in self.stack]
        if self.memory is not None:
            mem = self.memory
            d["memory"] = [mem[i : i + 32].hex() for i in range(0, len(mem), 32)]
        if self.return_data is not None:
            d["returnData"] = "0x" + self.return_data.hex()
        if self.storage is not None:
            d["storage"] = {f"{k:064x}": f"{v:064x}" for k, v in self.storage.items()}
        d["refund"] = self.refund
        if self.error is not None:
            d["error"] = GETH_ERRORS.get(self.error, self.error)
        return d


@dataclass
class StructLogger(Tracer):
    """Collects struct logs. Options as geth's struct logger config: `memory` (enableMemory),
    `stack` (not disableStack), `storage` (not disableStorage), `return_data`
    (enableReturnData); `limit` = most steps recorded (TraceLimitExceeded past it)."""

    memory: bool = False
    stack: bool = True
    storage: bool = False
    return_data: bool = True
    limit: int | None = None
    logs: list[StructLog] = field(default_factory=list)
    # Set by `finish` (process_transaction / evm-mlir run call it).
    output: bytes = b""
    gas_used: int = 0
    status: str | None = None
    error: str | None = None
    # Gas returned by the last child frame (the host sets it): lets CALL*/CREATE* report the gas
    # allocated to the child as their cost.
    child_gas_returned: int = 0
    _seen_storage: dict[bytes, dict[int, int]] = field(default_factory=dict)

    # -- hooks -------------------------------------------------------------------------------
    def backend(self) -> TracingBackend:
        return TracingBackend(self)

    def child_returned(self, gas_left: int) -> None:
        self.child_gas_returned = gas_left

    def finish(self, output: bytes, gas_used: int, status: str, error: str | None = None) -> None:
        self.output = bytes(output)
        self.gas_used = gas_used
        self.status = status
        self.error = error

    # -- output ------------------------------------------------------------------------------
    def eip3155_summary(self) -> dict[str, Any]:
        d: dict[str, Any] = {"output": self.output.hex(), "gasUsed": hex(self.gas_used)}
        if self.status == "revert":
            d["error"] = "execution reverted"
        elif self.status == "error":
            d["error"] = self.error or "error"
        return d

    def eip3155_lines(self) -> Iterator[str]:
        for entry in self.logs:
            yield json.dumps(entry.to_eip3155(), separators=(",", ":"))
        yield json.dumps(self.eip3155_summary(), separators=(",", ":"))

    def write_eip3155(self, out: IO[str]) -> None:
        for line in self.eip3155_lines():
            out.write(line + "\n")

    def geth_result(self) -> dict[str, Any]:
        return {
            "gas": self.gas_used,
            "failed": self.status != "success",
            "returnValue": self.output.hex(),
            "structLogs": [e.to_geth() for e in self.logs],
        }


def _traced_loop(f: Frame, table: list[Entry], tracer: StructLogger, depth: int) -> None:
    code = f.code
    stack = f.stack
    logs = tracer.logs
    host = f.host
    want_stack, want_memory, want_rd, want_storage = tracer.stack, tracer.memory, tracer.return_data, tracer.storage
    limit = tracer.limit
    while True:
        op = code[f.pc]
        before = f.gas
        entry = StructLog(f.pc, op, before, depth, host.refund_counter(), len(f.memory))
        if want_stack:
            entry.stack = list(stack)
        if want_memory:
            entry.memory = bytes(f.memory)
        if want_rd:
            entry.return_data = f.return_data
        if want_storage and (op == SLOAD or op == SSTORE) and stack:
            seen = tracer._seen_storage.setdefault(f.target, {})
            key = stack[-1]
            if op == SLOAD:
                seen[key] = host.sload(f.target, key)
            elif len(stack) >= 2:
                seen[key] = stack[-2]
            entry.storage = dict(seen)
        if limit is not None and len(logs) >= limit:
            raise TraceLimitExceeded(f"trace too large (more than {limit} steps)")
        logs.append(entry)
        fn, static_gas, lo, hi = table[op]
        n = len(stack)
        tracer.child_gas_returned = 0
        try:
            if n < lo:
                raise StackUnderflow()
            if n > hi:
                raise StackOverflow()
            g = before - static_gas
            if g < 0:
                raise OutOfGas()
            f.gas = g
            f.pc += 1
            fn(f)
        except ExceptionalHalt as exc:
            entry.gas_cost = before - f.gas if f.gas < before else static_gas
            entry.error = exc.name
            raise
        except BaseException:  # Halt, Revert
            entry.gas_cost = before - f.gas
            raise
        entry.gas_cost = before - f.gas + tracer.child_gas_returned


class TracingBackend:
    """The interpreter, recording every step into `tracer` (see module docstring)."""

    name = "interpreter-trace"

    def __init__(self, tracer: StructLogger) -> None:
        self.tracer = tracer
        self.frames = 0

    def stats(self) -> BackendStats:
        return {"frames_compiled": 0, "frames_interpreted": self.frames}

    def run_frame(self, message: Message, host: FrameHost) -> ExecutionResult:
        self.frames += 1
        from .interpreter import instruction_table, run_loop
        from .interpreter.frame import Frame

        return run_loop(
            Frame(message, host), _traced_loop, instruction_table(host.fork), self.tracer, message.depth + 1
        )


def _hooked_loop(f: Frame, table: list[Entry], tracer: Tracer) -> None:
    """The interpreter's loop with `tracer.opcode(frame, op)` before each instruction (prestateTracer)."""
    code = f.code
    stack = f.stack
    hook = tracer.opcode
    while True:
        op = code[f.pc]
        fn, static_gas, lo, hi = table[op]
        n = len(stack)
        if n < lo:
            raise StackUnderflow()
        if n > hi:
            raise StackOverflow()
        g = f.gas - static_gas
        if g < 0:
            raise OutOfGas()
        hook(f, op)
        f.gas = g
        f.pc += 1
        fn(f)


class OpcodeHookBackend:
    """The interpreter, calling `tracer.opcode(frame, op)` before each instruction that can run (its stack is
    deep enough), as geth's OnOpcode sees them."""

    name = "interpreter-hooks"

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.frames = 0

    def stats(self) -> BackendStats:
        return {"frames_compiled": 0, "frames_interpreted": self.frames}

    def run_frame(self, message: Message, host: FrameHost) -> ExecutionResult:
        self.frames += 1
        from .interpreter import instruction_table, run_loop
        from .interpreter.frame import Frame

        return run_loop(Frame(message, host), _hooked_loop, instruction_table(host.fork), self.tracer)
