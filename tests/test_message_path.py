"""The lean message path (evm.execute -> Host -> MlirBackend.run_frame): what it skips for code that cannot
need it must never change a result. Each case runs on the compiled backend and the interpreter and must agree.
"""

from __future__ import annotations

import pytest
from evm_helpers import CONTRACT, OTHER, SENDER, addr, make_state, ops, push_n, run

from evm import execute
from evm.backends import get_backend, register_backend
from evm.compiler.backend import may_write
from evm.interpreter import InterpreterBackend
from evm.message import BlockEnv, Message, TxEnv
from evm.spec import Fork

WRITER = addr(0x5555)  # SSTORE 1 into slot 0, TSTORE, LOG0; returns nothing
PURE = addr(0x7777)  # arithmetic only: no SSTORE/TSTORE/LOG, no CALL*


def _both(code: bytes, **kw):
    r = run(code, backend="mlir", **kw)
    i = run(code, backend="interpreter", **kw)
    assert (r.status, r.output, r.result.gas_left, r.result.error) == (
        i.status,
        i.output,
        i.result.gas_left,
        i.result.error,
    )
    return r, i


def test_may_write_is_a_superset():
    assert not may_write(ops(1, 2, "ADD", 0, "MSTORE", 32, 0, "RETURN"))
    for name in ("SSTORE", "TSTORE", "LOG0", "LOG1", "LOG2", "LOG3", "LOG4"):
        assert may_write(ops(1, 0, name))
    assert may_write(ops(0x55, "POP"))  # an SSTORE byte inside PUSH data counts too


def test_outputs_across_memory_growth():
    """Frames at the same depth, one after the other on the pooled context: small output, then output
    from memory grown far past the initial buffer (moved by realloc), then small again; RETURN and REVERT."""
    small = ops(0x1234, 0, "MSTORE", 32, 0, "RETURN")
    big = ops(0xABCD, 300_000, "MSTORE", 64, 300_000 - 16, "RETURN")
    reverting = ops(0x77, 1_000_000, "MSTORE", 40, 1_000_000, "REVERT")
    for code in (small, big, small, reverting, small, big):
        r, _ = _both(code, gas=30_000_000)
        assert r.output  # something was read back


def test_static_flag_and_pending_writes_between_frames():
    """The compiled code reads STATIC only in its native SSTORE/TSTORE/LOG, so run_frame sets it only for
    code that has them: a static frame of writing code, then a pure one, then the writing code in a
    normal call, all at depth 1 on the same pooled context."""
    writer = ops(1, 0, "SSTORE", 2, 3, "TSTORE", 0, 0, "LOG0", "STOP")
    pure = ops(5, 7, "MUL", 0, "MSTORE", 32, 0, "RETURN")

    def call(kind: str, to: bytes) -> bytes:
        args = (0, 0, 0, 0) if kind == "STATICCALL" else (0, 0, 0, 0, 0)
        return ops(*args, to, 100_000, kind)

    caller = (
        call("STATICCALL", WRITER)  # fails: a write in a static frame
        + call("CALL", PURE)
        + call("CALL", WRITER)  # succeeds
        + call("STATICCALL", PURE)
        + ops("ADD", "ADD", "ADD", 0, "MSTORE", 32, 0, "RETURN")
    )
    accounts = {WRITER: {"code": writer}, PURE: {"code": pure}}
    r, i = _both(caller, accounts=accounts, warm_addresses=(WRITER, PURE), gas=1_000_000)
    # STATICCALL writer -> 0, CALL pure -> 1, CALL writer -> 1, STATICCALL pure -> 1
    assert r.word == 3
    assert r.state.get_storage(WRITER, 0) == i.state.get_storage(WRITER, 0) == 1
    assert len(r.state.logs) == len(i.state.logs) == 1


def test_native_writes_of_a_reverted_frame_are_dropped_before_the_next():
    """A writing frame that reverts, then the same code succeeding at the same depth: only the second
    one's writes reach the journal."""
    head = ops(0, "CALLDATALOAD", 0, "SSTORE", 0, 0, "LOG0", 0, "CALLDATALOAD")
    dest = len(head) + 4  # PUSH1 dest, JUMPI, STOP
    writer = head + push_n(dest, 1) + ops("JUMPI", "STOP", "JUMPDEST", 0, 0, "REVERT")
    caller = ops(7, 0, "MSTORE") + ops(0, 0, 32, 0, 0, WRITER, "GAS", "CALL")  # calldata 7: writes, reverts
    caller += ops(0, 0, "MSTORE") + ops(0, 0, 32, 0, 0, WRITER, "GAS", "CALL")  # calldata 0: writes 0, stops
    caller += ops("SWAP1", 2, "MUL", "ADD", 0, "MSTORE", 32, 0, "RETURN")
    r, i = _both(caller, accounts={WRITER: {"code": writer, "storage": {0: 9}}}, warm_addresses=(WRITER,))
    assert r.word == 1  # first call failed (0 * 2), second succeeded (1)
    assert r.state.get_storage(WRITER, 0) == 0
    assert len(r.state.logs) == len(i.state.logs) == 1


def test_reused_host_follows_a_reregistered_backend():
    """evm.execute reuses the Host of the previous message by the backend's name; register_backend under
    that name must make the next message run on the new instance."""
    seen: list[str] = []

    def factory(tag: str):
        class Tagged(InterpreterBackend):
            name = "lean-path-test"

            def run_frame(self, message, host):
                seen.append(tag)
                return super().run_frame(message, host)

        return Tagged

    state = make_state({CONTRACT: {"code": ops(1, 0, "MSTORE", 32, 0, "RETURN")}})
    block, tx = BlockEnv(fork=Fork.CANCUN), TxEnv(origin=SENDER)
    code = state.get_code(CONTRACT)
    register_backend("lean-path-test", factory("a"))
    for tag in ("a", "b"):
        if tag == "b":
            register_backend("lean-path-test", factory("b"))
        r = execute(Message(SENDER, CONTRACT, 0, b"", 100_000, code, CONTRACT), state, block, tx, "lean-path-test")
        assert r.status == "success"
    assert seen == ["a", "b"]
    assert type(get_backend("lean-path-test")).__name__ == "Tagged"


@pytest.mark.parametrize("value", [0, 5])
def test_top_level_value_and_empty_code(value):
    """The top-level checks the lean path keeps: value moved (or refused), code-less target, precompile."""
    for target_code in (b"", ops(1, 0, "MSTORE", 32, 0, "RETURN")):
        for backend in ("mlir", "interpreter"):
            state = make_state({SENDER: {"balance": 3}, OTHER: {"code": target_code}})
            block, tx = BlockEnv(fork=Fork.CANCUN), TxEnv(origin=SENDER)
            r = execute(Message(SENDER, OTHER, value, b"", 50_000, target_code, OTHER), state, block, tx, backend)
            if value > 3:
                assert (r.status, r.error) == ("error", "InsufficientBalance")
            else:
                assert r.status == "success"
                assert state.get_balance(OTHER) == value
    ident = addr(4)
    for backend in ("mlir", "interpreter"):
        state = make_state({SENDER: {"balance": 10}})
        msg = Message(SENDER, ident, 0, b"abc", 50_000, b"", ident)
        r = execute(msg, state, BlockEnv(fork=Fork.CANCUN), TxEnv(), backend)
        assert (r.status, r.output) == ("success", b"abc")
