"""SSTORE gas and refunds: EIP-2200 as amended by EIP-2929 (cold slots) and EIP-3529 (refunds)."""

from __future__ import annotations

import pytest
from evm_helpers import CONTRACT, run

from evm import gas as G

# EIP-3529's test table (slot already warm): code, gas used, refund, original value
EIP3529_CASES = [
    ("60006000556000600055", 212, 0, 0),
    ("60006000556001600055", 20112, 0, 0),
    ("60016000556000600055", 20112, 19900, 0),
    ("60016000556002600055", 20112, 0, 0),
    ("60016000556001600055", 20112, 0, 0),
    ("60006000556000600055", 3012, 4800, 1),
    ("60006000556001600055", 3012, 2800, 1),
    ("60006000556002600055", 3012, 0, 1),
    ("60026000556000600055", 3012, 4800, 1),
    ("60026000556003600055", 3012, 0, 1),
    ("60026000556001600055", 3012, 2800, 1),
    ("60026000556002600055", 3012, 0, 1),
    ("60016000556000600055", 3012, 4800, 1),
    ("60016000556002600055", 3012, 0, 1),
    ("60016000556001600055", 212, 0, 1),
    ("600160005560006000556001600055", 40118, 19900, 0),
    ("600060005560016000556000600055", 5918, 7600, 1),
]


@pytest.mark.parametrize("code,used,refund,original", EIP3529_CASES)
def test_eip3529_table(code, used, refund, original):
    accounts = {CONTRACT: {"storage": {0: original}}} if original else None
    from evm_helpers import make_state

    state = make_state(
        {**(accounts or {}), CONTRACT: {"code": bytes.fromhex(code), "storage": {0: original} if original else {}}}
    )
    state.warm_slot(CONTRACT, 0)
    r = run(code, state=state)
    assert r.status == "success"
    assert r.used == used
    assert r.state.refund == refund


def test_cold_slot_adds_2100():
    r = run("6001600055")  # cold, 0 -> 1
    assert r.used == 6 + 20000 + 2100
    r = run("6000600055")  # cold no-op
    assert r.used == 6 + 100 + 2100


def test_sload_cold_then_warm():
    r = run("60005450600054")  # SLOAD 0; POP; SLOAD 0
    assert r.used == 3 + 2100 + 2 + 3 + 100


def test_stipend_rule():
    # EIP-2200: SSTORE fails with 2300 gas or less left, even if the store would be cheap
    assert run("6000600055", gas=6 + 2300).result.error == "OutOfGas"
    assert run("6000600055", gas=6 + 2301).status == "success"  # 2301 > 2300, costs 2200


def test_refund_is_reverted_with_the_frame():
    r = run("6000600055" + "60006000fd", accounts={CONTRACT: {"storage": {0: 5}}})  # clear, then REVERT
    assert r.status == "revert" and r.state.refund == 0


@pytest.mark.parametrize(
    "original,current,new,cost,refund",
    [
        (0, 0, 0, 100, 0),
        (0, 0, 1, 20000, 0),
        (1, 1, 0, 2900, 4800),
        (1, 1, 2, 2900, 0),
        (1, 0, 1, 100, -4800 + 2800),
        (0, 1, 0, 100, 19900),
        (1, 2, 1, 100, 2800),
        (1, 2, 0, 100, 4800),
    ],
)
def test_sstore_cost_function(original, current, new, cost, refund):
    assert G.sstore_cost(original, current, new, cold=False) == (cost, refund)
    assert G.sstore_cost(original, current, new, cold=True) == (cost + 2100, refund)
