"""Memory expansion, copy, hashing, log and init-code costs (evm.gas) and how the interpreter
charges them."""

from __future__ import annotations

import pytest
from evm_helpers import ops, run

from evm import gas as G


@pytest.mark.parametrize(
    "size,cost", [(0, 0), (1, 3), (32, 3), (33, 6), (64, 6), (22 * 32, 66), (23 * 32, 70), (1024 * 32, 3 * 1024 + 2048)]
)
def test_memory_cost(size, cost):
    assert G.memory_cost(size) == cost


def test_word_costs():
    assert G.copy_cost(0) == 0 and G.copy_cost(1) == 3 and G.copy_cost(33) == 6
    assert G.keccak_cost(64) == 12 and G.keccak_cost(65) == 18
    assert G.words(49152) == 1536
    assert G.exp_cost(0) == 0 and G.exp_cost(255) == 50 and G.exp_cost(256) == 100 and G.exp_cost(2**256 - 1) == 1600
    assert G.log_cost(10) == 80
    assert G.code_deposit_cost(10) == 2000


def test_interpreter_charges_quadratic_memory():
    base = run(ops(0, 0, "MSTORE")).used  # 1 word
    for words in (2, 100, 1000, 5000):
        off = 32 * (words - 1)
        used = run(ops(0, off, "MSTORE")).used
        push_cost = 0 if off == 0 else 1  # PUSH1/2 (3) vs PUSH0 (2)
        assert used - base == G.memory_cost(32 * words) - G.memory_cost(32) + push_cost


def test_expansion_is_charged_once():
    one = run(ops(1, 64, "MSTORE")).used
    two = run(ops(1, 64, "MSTORE", 1, 64, "MSTORE")).used
    assert two - one == 3 + 3 + 3  # second store: pushes + static, no expansion


@pytest.mark.parametrize("opname", ["CALLDATACOPY", "CODECOPY", "RETURNDATACOPY", "MCOPY"])
def test_copy_charges_words_and_memory(opname):
    size = 65  # 3 words
    args = {"MCOPY": (size, 0, 0), "RETURNDATACOPY": (0, 0, 0)}.get(opname, (size, 0, 0))
    r = run(ops(*args, opname))
    assert r.status == "success"
    if opname != "RETURNDATACOPY":
        assert r.used == 3 + 2 + 2 + 3 + 3 * 3 + G.memory_cost(96)


def test_keccak_gas():
    r = run(ops(65, 0, "KECCAK256"))
    assert r.used == 3 + 2 + 30 + 6 * 3 + G.memory_cost(96)


def test_log_gas():
    r = run(ops(7, 10, 0, "LOG1"))
    assert r.used == 3 + 3 + 2 + 375 + 375 + 8 * 10 + G.memory_cost(32)


def test_huge_sizes_run_out_of_gas_without_allocating():
    for code in (
        ops(2**255, 0, "KECCAK256"),
        ops(2**64, 0, 0, "CALLDATACOPY"),
        ops(2**200, 0, "LOG0"),
        ops(2**255, 2**255, 2**255, "MCOPY"),
        ops(2**64, 0, "RETURN"),
        ops(2**64, 0, "REVERT"),
    ):
        r = run(code, gas=10**9)
        assert r.status == "error" and r.result.error == "OutOfGas"
