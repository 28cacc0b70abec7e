"""EIP-3155 / geth struct-log tracing (evm/tracing.py): exact logs of known programs, nested
depth, CALL costs, errors, transaction processing with a tracer, `evm-mlir run --trace`, and that
a traced run computes exactly what the untraced one does."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from eth_hash.auto import keccak

from evm import execute
from evm.interpreter import InterpreterBackend
from evm.message import BlockEnv, Message, TxEnv
from evm.processor import BlockContext, process_transaction
from evm.spec import Fork
from evm.tracing import StructLogger
from evm.transactions import Transaction
from tests.evm_helpers import CONTRACT, OTHER, SENDER, make_state, ops

GAS = 100_000


def traced(code: bytes, *, gas: int = GAS, accounts: dict | None = None, **kw) -> tuple[StructLogger, object]:
    accounts = dict(accounts or {})
    accounts.setdefault(SENDER, {"balance": 10**20})
    accounts[CONTRACT] = {**accounts.get(CONTRACT, {}), "code": code}
    state = make_state(accounts)
    state.warm_address(SENDER)
    state.warm_address(CONTRACT)
    tracer = StructLogger(**kw)
    msg = Message(caller=SENDER, target=CONTRACT, value=0, data=b"", gas=gas, code=code, code_address=CONTRACT)
    result = execute(msg, state, BlockEnv(fork=Fork.OSAKA), TxEnv(origin=SENDER), "interpreter", tracer)
    return tracer, result


def test_exact_struct_log_of_a_known_sequence():
    # PUSH1 1 PUSH1 2 ADD PUSH1 0 SSTORE PUSH1 0 SLOAD STOP
    code = bytes.fromhex("6001600201600055600054" + "00")
    tracer, result = traced(code)
    assert result.status == "success"
    got = [(e.pc, e.op, e.op_name, e.gas, e.gas_cost, e.depth, e.stack) for e in tracer.logs]
    g = GAS
    expected = []
    for pc, op, name, cost, stack in [
        (0, 0x60, "PUSH1", 3, []),
        (2, 0x60, "PUSH1", 3, [1]),
        (4, 0x01, "ADD", 3, [1, 2]),
        (5, 0x60, "PUSH1", 3, [3]),
        (7, 0x55, "SSTORE", 22100, [3, 0]),  # cold slot, 0 -> non-zero
        (8, 0x60, "PUSH1", 3, []),
        (10, 0x54, "SLOAD", 100, [0]),  # now warm
        (11, 0x00, "STOP", 0, [3]),
    ]:
        expected.append((pc, op, name, g, cost, 1, stack))
        g -= cost
    assert got == expected
    assert all(e.error is None for e in tracer.logs)
    assert GAS - result.gas_left == sum(e.gas_cost for e in tracer.logs)


def test_eip3155_line_format():
    tracer, result = traced(bytes.fromhex("600160020100"))
    tracer.finish(result.output, GAS - result.gas_left, result.status, result.error)
    lines = [json.loads(x) for x in tracer.eip3155_lines()]
    assert lines[2] == {
        "pc": 4,
        "op": 1,
        "gas": hex(GAS - 6),
        "gasCost": "0x3",
        "memSize": 0,
        "stack": ["0x1", "0x2"],
        "returnData": "0x",
        "depth": 1,
        "refund": 0,
        "opName": "ADD",
    }
    assert lines[-1] == {"output": "", "gasUsed": "0x9"}


def test_memory_and_geth_format():
    # MSTORE 0xff at 0, then RETURN 32 bytes
    code = ops(0xFF, 0, "MSTORE", 32, 0, "RETURN")
    tracer, result = traced(code, memory=True, storage=True)
    ret = tracer.logs[-1]
    assert ret.op_name == "RETURN" and ret.mem_size == 32
    assert ret.memory == (0xFF).to_bytes(32, "big")
    tracer.finish(result.output, GAS - result.gas_left, result.status)
    geth = tracer.geth_result()
    assert geth["failed"] is False and geth["returnValue"] == (0xFF).to_bytes(32, "big").hex()
    assert geth["structLogs"][-1]["memory"] == [(0xFF).to_bytes(32, "big").hex()]
    assert geth["structLogs"][0] == {
        "pc": 0,
        "op": "PUSH1",
        "gas": GAS,
        "gasCost": 3,
        "depth": 1,
        "stack": [],
        "memory": [],
        "returnData": "0x",
        "refund": 0,
    }


def test_storage_in_geth_entries():
    code = ops(7, 1, "SSTORE", 1, "SLOAD", "STOP")
    tracer, _ = traced(code, storage=True)
    by_op = {e.op_name: e.to_geth() for e in tracer.logs}
    key = f"{1:064x}"
    assert by_op["SSTORE"]["storage"] == {key: f"{7:064x}"}
    assert by_op["SLOAD"]["storage"] == {key: f"{7:064x}"}
    assert "storage" not in by_op["STOP"]


def test_nested_calls_increase_depth_and_call_cost_is_the_allocation():
    # OTHER: PUSH1 1 PUSH1 1 SSTORE? no -- keep it simple: PUSH1 42, STOP.
    callee = ops(42, "STOP")
    # CALL(gas=5000, OTHER, 0, 0, 0, 0, 0) then STOP
    caller = ops(0, 0, 0, 0, 0, OTHER, 5000, "CALL", "STOP")
    tracer, result = traced(caller, accounts={OTHER: {"code": callee}})
    assert result.status == "success"
    depths = [(e.depth, e.op_name) for e in tracer.logs]
    call_i = depths.index((1, "CALL"))
    assert depths[call_i + 1 : call_i + 3] == [(2, "PUSH1"), (2, "STOP")]
    assert depths[call_i + 3] == (1, "POP") or depths[call_i + 3] == (1, "STOP")
    call = tracer.logs[call_i]
    # warm 100 + cold 2500 + 5000 given to the child (as geth: the allocation, not the net cost)
    assert call.gas_cost == 100 + 2500 + 5000
    child_first = tracer.logs[call_i + 1]
    assert child_first.gas == 5000
    # the caller's next step sees the child's unused gas returned
    after = tracer.logs[call_i + 3]
    assert after.gas == call.gas - call.gas_cost + (5000 - 3)


def test_depth_through_create_and_three_levels():
    # C calls itself twice more via CALL (depth 1 -> 2 -> 3) with a counter in calldata-free way:
    # use storage? simpler: CONTRACT calls OTHER, OTHER calls a third account.
    third = b"\x50" * 20
    c3 = ops("STOP")
    c2 = ops(0, 0, 0, 0, 0, third, "GAS", "CALL", "STOP")
    c1 = ops(0, 0, 0, 0, 0, OTHER, "GAS", "CALL", "STOP")
    tracer, _ = traced(c1, accounts={OTHER: {"code": c2}, third: {"code": c3}})
    assert max(e.depth for e in tracer.logs) == 3
    assert [e.depth for e in tracer.logs if e.op_name == "CALL"] == [1, 2]
    # CREATE: init code runs at depth 2
    init = ops(0, 0, "RETURN")
    word = int.from_bytes(init.ljust(32, b"\x00"), "big")
    creator = ops(word, 0, "MSTORE", len(init), 0, 0, "CREATE", "STOP")
    tracer, result = traced(creator)
    assert result.status == "success"
    names = [(e.depth, e.op_name) for e in tracer.logs]
    i = names.index((1, "CREATE"))
    assert names[i + 1][0] == 2 and names[-1] == (1, "STOP")


def test_errors_are_recorded():
    # invalid jump
    tracer, result = traced(ops(3, "JUMP", "STOP"))
    assert result.status == "error"
    last = tracer.logs[-1]
    assert last.op_name == "JUMP" and last.error == "InvalidJump"
    assert last.to_geth()["error"] == "invalid jump destination"
    # stack underflow
    tracer, _ = traced(ops("ADD"))
    assert tracer.logs[-1].error == "StackUnderflow" and tracer.logs[-1].op_name == "ADD"
    # static out of gas: the cost recorded is the static gas
    tracer, result = traced(ops(1, 2, "ADD"), gas=7)
    assert result.status == "error"
    assert (tracer.logs[-1].op_name, tracer.logs[-1].error, tracer.logs[-1].gas, tracer.logs[-1].gas_cost) == (
        "ADD",
        "OutOfGas",
        1,
        3,
    )
    # invalid opcode
    tracer, _ = traced(bytes([0xFE]))
    assert tracer.logs[-1].error == "InvalidOpcode"
    # an error inside a child frame is recorded there; the parent continues
    callee = ops(0, "JUMP")
    caller = ops(0, 0, 0, 0, 0, OTHER, 10_000, "CALL", "STOP")
    tracer, result = traced(caller, accounts={OTHER: {"code": callee}})
    assert result.status == "success"
    errs = [(e.depth, e.op_name, e.error) for e in tracer.logs if e.error]
    assert errs == [(2, "JUMP", "InvalidJump")]
    # revert: no step error, the summary says "execution reverted"
    tracer, result = traced(ops(0, 0, "REVERT"))
    tracer.finish(result.output, GAS - result.gas_left, result.status, result.error)
    assert all(e.error is None for e in tracer.logs)
    assert tracer.eip3155_summary()["error"] == "execution reverted"
    assert tracer.geth_result()["failed"] is True


def test_trace_limit():
    from evm.tracing import TraceLimitExceeded

    loop = bytes.fromhex("5b5f56")  # JUMPDEST PUSH0 JUMP forever
    try:
        traced(loop, limit=100)
    except TraceLimitExceeded:
        pass
    else:
        raise AssertionError("no TraceLimitExceeded")


def _random_program(rng: random.Random) -> bytes:
    out = bytearray()
    for _ in range(rng.randrange(5, 40)):
        r = rng.random()
        if r < 0.4:
            out += bytes([0x60, rng.randrange(256)])
        elif r < 0.5:
            out += bytes([0x52])  # MSTORE
        else:
            out.append(
                rng.choice(
                    [
                        0x01,
                        0x02,
                        0x03,
                        0x04,
                        0x10,
                        0x14,
                        0x16,
                        0x19,
                        0x1B,
                        0x50,
                        0x51,
                        0x54,
                        0x55,
                        0x59,
                        0x5A,
                        0x5B,
                        0x80,
                        0x81,
                        0x90,
                        0x20,
                        0x56,
                        0x57,
                        0xF3,
                        0xFD,
                    ]
                )
            )
    return bytes(out)


def test_traced_run_computes_what_the_untraced_run_does():
    rng = random.Random(3155)
    for _ in range(200):
        code = _random_program(rng)
        s1 = make_state({SENDER: {"balance": 10**20}, CONTRACT: {"code": code}})
        s2 = make_state({SENDER: {"balance": 10**20}, CONTRACT: {"code": code}})
        env, tx = BlockEnv(fork=Fork.OSAKA), TxEnv(origin=SENDER)
        m = lambda: Message(
            caller=SENDER, target=CONTRACT, value=0, data=b"", gas=50_000, code=code, code_address=CONTRACT
        )
        plain = execute(m(), s1, env, tx)
        tracer = StructLogger()
        traced_res = execute(m(), s2, env, tx, "interpreter", tracer)
        assert (plain.status, plain.output, plain.gas_left, plain.error) == (
            traced_res.status,
            traced_res.output,
            traced_res.gas_left,
            traced_res.error,
        ), code.hex()
        assert s1.commit() == s2.commit()
        assert tracer.logs and tracer.logs[0].pc == 0


def test_untraced_interpreter_has_no_tracing_hook():
    """Zero cost: the plain interpreter never looks for a tracer; only the host checks once per
    child message."""
    import inspect

    import evm.interpreter as interp

    assert "tracer" not in inspect.getsource(interp._loop)
    assert "tracer" not in inspect.getsource(InterpreterBackend.run_frame)


def test_process_transaction_with_tracer_any_backend():
    key = b"\x11" * 32
    from coincurve import PrivateKey

    sender = keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:]
    code = ops(1, 0, "SSTORE", 0, "SLOAD", 0, "MSTORE", 32, 0, "RETURN")
    # A tracer runs every frame on the tracing interpreter whatever the backend (evm.execute): the
    # loop checks that the traced result equals the backend's own untraced one, and that the
    # backend's statistics count the traced frames as interpreted.
    from evm.backends import frame_counts

    for backend in ("interpreter", "mlir"):
        env = BlockEnv(fork=Fork.OSAKA, chain_id=1, base_fee=7)
        tx = Transaction(
            type=2, chain_id=1, nonce=0, max_priority_fee_per_gas=1, max_fee_per_gas=10, gas=100_000, to=CONTRACT
        ).sign(key)
        state = make_state({sender: {"balance": 10**18}, CONTRACT: {"code": code}})
        plain = process_transaction(tx, state, BlockContext(env), backend)
        state = make_state({sender: {"balance": 10**18}, CONTRACT: {"code": code}})
        tracer = StructLogger()
        before = frame_counts(backend)
        result = process_transaction(tx, state, BlockContext(env), backend, tracer=tracer)
        after = frame_counts(backend)
        assert (after[0] - before[0], after[1] - before[1]) == (0, 1)  # one frame, run interpreted
        assert (result.status, result.gas_used, result.output) == (plain.status, plain.gas_used, plain.output)
        assert result.status == "success"
        geth = tracer.geth_result()
        assert geth["gas"] == result.gas_used and geth["failed"] is False
        assert geth["returnValue"] == (1).to_bytes(32, "big").hex()
        assert [e["op"] for e in geth["structLogs"]][:3] == ["PUSH1", "PUSH0", "SSTORE"]
        # the transaction's frame starts with the gas left after the intrinsic cost
        assert geth["structLogs"][0]["gas"] == 100_000 - 21_000


def test_run_cli_trace_prints_eip3155_lines_to_stderr():
    p = subprocess.run(
        [sys.executable, "-m", "client.cli", "run", "--code", "6001600201", "--gas", "100", "--trace"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0x"
    lines = [json.loads(x) for x in p.stderr.strip().splitlines()]
    assert [x["opName"] for x in lines[:-1]] == ["PUSH1", "PUSH1", "ADD", "STOP"]
    assert lines[2]["gas"] == hex(94) and lines[2]["gasCost"] == "0x3" and lines[2]["stack"] == ["0x1", "0x2"]
    assert lines[-1] == {"output": "", "gasUsed": "0x9"}
