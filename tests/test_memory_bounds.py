"""Resource bounds (issue 8): memory expansion to huge offsets or sizes is an out-of-gas result --
never a MemoryError, a crash or a huge allocation -- on every backend that loads. Each memory-
touching instruction is tried with offsets and sizes far past what any gas can pay for."""

from __future__ import annotations

import pytest

from tests.evm_helpers import OTHER, ops, run
from tests.fuzz.harness import usable_backends

BACKENDS, SKIPPED = usable_backends()
HUGE = [2**32, 2**40, 2**64, 2**128, 2**255, 2**256 - 1]


def programs(x: int) -> dict[str, bytes]:
    """Programs whose memory access reaches offset/size `x` (stack order: last pushed = first popped)."""
    return {
        "MLOAD": ops(x, "MLOAD"),
        "MSTORE": ops(1, x, "MSTORE"),
        "MSTORE8": ops(1, x, "MSTORE8"),
        "KECCAK256 offset": ops(32, x, "KECCAK256"),
        "KECCAK256 size": ops(x, 0, "KECCAK256"),
        "CALLDATACOPY dest": ops(32, 0, x, "CALLDATACOPY"),
        "CALLDATACOPY size": ops(x, 0, 0, "CALLDATACOPY"),
        "CODECOPY dest": ops(32, 0, x, "CODECOPY"),
        "CODECOPY size": ops(x, 0, 0, "CODECOPY"),
        "EXTCODECOPY dest": ops(32, 0, x, OTHER, "EXTCODECOPY"),
        "MCOPY dest": ops(32, 0, x, "MCOPY"),
        "MCOPY src": ops(32, x, 0, "MCOPY"),
        "MCOPY size": ops(x, 0, 0, "MCOPY"),
        "LOG0 offset": ops(32, x, "LOG0"),
        "LOG2 size": ops(7, 8, x, 0, "LOG2"),
        "RETURN offset": ops(32, x, "RETURN"),
        "RETURN size": ops(x, 0, "RETURN"),
        "REVERT offset": ops(32, x, "REVERT"),
        "CALL in": ops(0, 0, 32, x, 0, OTHER, "GAS", "CALL"),
        "CALL out": ops(32, x, 0, 0, 0, OTHER, "GAS", "CALL"),
        "STATICCALL in size": ops(0, 0, x, 0, OTHER, "GAS", "STATICCALL"),
        "DELEGATECALL out size": ops(x, 0, 0, 0, OTHER, "GAS", "DELEGATECALL"),
        "CREATE offset": ops(32, x, 0, "CREATE"),
        "CREATE2 size": ops(0, x, 0, 0, "CREATE2"),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gas", [30_000_000, 10**10])
def test_huge_memory_is_out_of_gas(backend, gas):
    failures = []
    for x in HUGE:
        for name, code in programs(x).items():
            try:
                r = run(
                    code, gas=gas, backend=backend, accounts={OTHER: {"code": ops(1, 0, "MSTORE", 32, 0, "RETURN")}}
                )
            except MemoryError:
                failures.append((name, hex(x), "MemoryError"))
                continue
            if (r.status, r.result.error, r.result.gas_left) != ("error", "OutOfGas", 0):
                failures.append((name, hex(x), r.status, r.result.error))
    assert not failures, failures[:10]


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_offset_with_zero_size_costs_nothing(backend):
    for x in HUGE:
        for code in (
            ops(0, x, "KECCAK256"),
            ops(0, 0, x, "CALLDATACOPY"),
            ops(0, x, "RETURN"),
            ops(0, x, x, "MCOPY"),
            ops(0, x, 0, 0, 0, OTHER, "GAS", "CALL"),
        ):
            r = run(code, gas=100_000, backend=backend)
            assert r.status == "success", (code.hex(), r.result)


@pytest.mark.parametrize("backend", BACKENDS)
def test_largest_affordable_memory_then_one_word_more(backend):
    """With exactly enough gas for 1 MiB of memory (after the pushes), MSTORE at the last word
    succeeds and the next word is out of gas."""
    from evm import gas as G

    words = (1 << 20) // 32
    for end_word, ok in ((words, True), (words + 1, False)):
        offset = end_word * 32 - 32
        code = ops(1, offset, "MSTORE")
        pushes = 3 + 3
        gas = pushes + 3 + G.memory_cost(words * 32)
        r = run(code, gas=gas, backend=backend)
        assert (r.status == "success") is ok, (backend, end_word, r.result)
