"""`evm-mlir run`: run bytecode as the callee of one message call in a fresh in-memory state
(like geth's `evm run`). Prints the return data as hex on the last line, or with --json one line
{"status", "output", "gasUsed", "error"}. --trace prints the struct logs of the (first) run to
stderr as EIP-3155 JSON lines, then a summary line {"output", "gasUsed", "error"}. --repeat N runs the same call N times in one process,
each a full message call (snapshot, run, revert), e.g. to time a backend."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import UserError

SENDER = bytes.fromhex("73656e646572").rjust(20, b"\x00")  # "sender", as geth's evm tool
RECEIVER = bytes.fromhex("7265636569766572").rjust(20, b"\x00")  # "receiver"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--code", required=True, metavar="HEX", help="runtime bytecode of the callee")
    p.add_argument("--input", default="", metavar="HEX", help="call data")
    p.add_argument("--gas", type=int, default=10_000_000_000, help="gas given to the call (default 1e10)")
    p.add_argument("--value", type=int, default=0, help="wei sent with the call (the sender is funded)")
    p.add_argument(
        "--fork", default="Osaka", help="Paris, Shanghai, Cancun, Prague, Osaka or BPO1..BPO5 (default Osaka)"
    )
    p.add_argument("--evm", default="interpreter", metavar="NAME", help="EVM backend (default interpreter)")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="run the call N times (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of the hex output")
    p.add_argument(
        "--trace",
        action="store_true",
        help="print EIP-3155 struct logs (JSON lines) of the first run to stderr; traces run the"
        " interpreter, whatever --evm says (the summary line is the interpreter's)",
    )
    p.add_argument("--trace.memory", dest="trace_memory", action="store_true", help="include memory in --trace")


def parse_hex(text: str, what: str) -> bytes:
    t = text.strip()
    if t[:2] in ("0x", "0X"):
        t = t[2:]
    if len(t) % 2:
        raise UserError(f"--{what}: odd number of hex digits")
    try:
        return bytes.fromhex(t)
    except ValueError:
        raise UserError(f"--{what}: not a hex string: {text[:40]!r}") from None


def run(args: argparse.Namespace) -> int:
    from evm import execute
    from evm.backends import get_backend
    from evm.errors import CompileError
    from evm.message import BlockEnv, Message, TxEnv
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    code = parse_hex(args.code, "code")
    data = parse_hex(args.input, "input")
    if not 0 <= args.gas <= 2**63 - 1:  # the compiled backend keeps gas in an i64, as clients do in a uint64
        raise UserError("--gas must be between 0 and 2**63-1")
    if args.repeat < 1:
        raise UserError("--repeat must be >= 1")
    if args.value < 0:
        raise UserError("--value must be >= 0")
    from ..forks import UnsupportedFork, fork_by_name

    try:
        fork = fork_by_name(args.fork)
    except UnsupportedFork as exc:
        raise UserError(f"--fork: {exc}") from None
    try:
        get_backend(args.evm)
    except ValueError as exc:
        raise UserError(str(exc)) from None

    state = JournaledState(StateDB(MemoryStore()))
    block = BlockEnv(fork=fork)
    tx = TxEnv(origin=SENDER)
    state.begin_transaction()
    state.set_code(RECEIVER, code)
    if args.value:
        state.set_balance(SENDER, args.value)
    # What a transaction would have warmed (EIP-2929): sender, callee, precompiles.
    state.warm_address(SENDER)
    state.warm_address(RECEIVER)
    try:
        from evm.precompiles import precompiles_for

        for address in precompiles_for(block.rules.evm):
            state.warm_address(address)
    except ImportError:
        pass

    result = None
    for i in range(args.repeat):
        message = Message(
            caller=SENDER, target=RECEIVER, value=args.value, data=data, gas=args.gas, code=code, code_address=RECEIVER
        )
        snap = state.snapshot()
        tracer = None
        if args.trace and i == 0:
            from evm.tracing import StructLogger

            tracer = StructLogger(memory=args.trace_memory)
        try:
            result = execute(message, state, block, tx, args.evm, tracer)
        except CompileError as exc:
            raise UserError(f"--evm {args.evm}: cannot compile the code: {exc}") from None
        state.revert(snap)
        if tracer is not None:
            tracer.finish(result.output, args.gas - result.gas_left, result.status, result.error)
            tracer.write_eip3155(sys.stderr)
            sys.stderr.flush()

    assert result is not None
    if args.json:
        print(
            json.dumps(
                {
                    "status": result.status,
                    "output": "0x" + result.output.hex(),
                    "gasUsed": args.gas - result.gas_left,
                    "error": result.error,
                }
            )
        )
    else:
        if result.status != "success":
            print(f"{result.status}: {result.error or 'execution reverted'}", file=sys.stderr)
        print("0x" + result.output.hex())
    return 0
