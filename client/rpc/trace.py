"""debug_traceTransaction: EIP-3155-style struct logs (geth's default struct logger).

The traced transaction is re-executed on the state it saw: the parent block's state, the block's system
calls, then the block's earlier transactions with the node's backend, then this one with the reference
interpreter running a loop that records every step. Results of the block's earlier transactions are not
traced, so only the interpreter's cost is paid for the traced one.
"""
from __future__ import annotations

import itertools
from typing import Any

from evm.backends import register_backend
from evm.errors import ExceptionalHalt, OutOfGas, Revert, StackOverflow, StackUnderflow
from evm.interpreter import InterpreterBackend, instruction_table
from evm.interpreter.frame import Frame, Halt
from evm.message import ExecutionResult, Message
from evm.opcodes import NAMES
from evm.processor import BlockContext, process_transaction
from state.journal import JournaledState

from ..header import Header
from .errors import InvalidParams, ServerError

SLOAD, SSTORE = 0x54, 0x55
_ids = itertools.count()
MAX_STEPS = 1_000_000  # a trace larger than this is refused (memory)


class TracingInterpreter(InterpreterBackend):
    name = "interpreter-trace"

    def __init__(self, memory: bool = False, stack: bool = True, storage: bool = True,
                 return_data: bool = False) -> None:
        self.logs: list[dict[str, Any]] = []
        self.memory = memory
        self.stack = stack
        self.storage = storage
        self.return_data = return_data
        self.storage_seen: dict[bytes, dict[str, str]] = {}

    def run_frame(self, message: Message, host) -> ExecutionResult:
        f = Frame(message, host)
        try:
            self._loop(f, instruction_table(host.fork), message.depth + 1)
        except Halt:
            return ExecutionResult("success", f.output, f.gas)
        except Revert:
            return ExecutionResult("revert", f.output, f.gas)
        except ExceptionalHalt as exc:
            if self.logs and "error" not in self.logs[-1]:
                self.logs[-1]["error"] = exc.name
            return ExecutionResult("error", b"", 0, exc.name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _loop(self, f: Frame, table, depth: int) -> None:
        code = f.code
        stack = f.stack
        logs = self.logs
        while True:
            op = code[f.pc]
            entry: dict[str, Any] = {"pc": f.pc, "op": NAMES.get(op, f"opcode 0x{op:x} not defined"),
                                     "gas": f.gas, "gasCost": 0, "depth": depth}
            if self.stack:
                entry["stack"] = [hex(v) for v in stack]
            if self.memory:
                mem = bytes(f.memory)
                entry["memory"] = [mem[i:i + 32].hex() for i in range(0, len(mem), 32)]
            if self.return_data:
                entry["returnData"] = "0x" + f.return_data.hex()
            entry["refund"] = f.state.refund
            if self.storage and op in (SLOAD, SSTORE) and stack:
                seen = self.storage_seen.setdefault(f.target, {})
                key = stack[-1]
                if op == SLOAD:
                    seen[f"{key:064x}"] = f"{f.state.get_storage(f.target, key):064x}"
                elif len(stack) >= 2:
                    seen[f"{key:064x}"] = f"{stack[-2]:064x}"
                entry["storage"] = dict(seen)
            if len(logs) >= MAX_STEPS:
                raise ServerError(f"trace too large (more than {MAX_STEPS} steps)")
            logs.append(entry)
            before = f.gas
            fn, static_gas, lo, hi = table[op]
            n = len(stack)
            try:
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
            except (Halt, Revert):
                entry["gasCost"] = before - f.gas
                raise
            except ExceptionalHalt as exc:
                entry["gasCost"] = static_gas
                entry["error"] = exc.name
                raise
            entry["gasCost"] = before - f.gas


def trace_transaction(chain, header: Header, index: int, options: dict[str, Any]) -> dict[str, Any]:
    from ..miner import pre_block_calls

    if options.get("tracer") not in (None, "", "structLogger"):
        raise InvalidParams(f"tracer {options['tracer']!r} is not supported (struct logs only)")
    parent = chain.header_by_hash(header.parent_hash)
    if parent is None:
        raise ServerError("parent block not found")
    block = chain.block(header)
    state = JournaledState(chain.state(parent))
    env = chain.env(header)
    pre_block_calls(state, env, header, chain.backend)
    from ..executor import blob_schedule_at

    ctx = BlockContext(env, blob_schedule_at(chain.config, env.fork, header.timestamp))
    for tx in block.transactions[:index]:
        r = process_transaction(tx, state, ctx, chain.backend)
        ctx.gas_used += r.gas_used
        ctx.blob_gas_used += r.blob_gas_used
    tracer = TracingInterpreter(memory=bool(options.get("enableMemory")), stack=not options.get("disableStack"),
                                storage=not options.get("disableStorage"),
                                return_data=bool(options.get("enableReturnData")))
    name = f"trace-{next(_ids)}"
    register_backend(name, lambda: tracer)
    try:
        result = process_transaction(block.transactions[index], state, ctx, name)
    finally:
        from evm import backends

        backends._registered.pop(name, None)
        backends._instances.pop(name, None)
    return {
        "gas": result.gas_used,
        "failed": result.status != "success",
        "returnValue": result.output.hex(),
        "structLogs": tracer.logs,
    }
