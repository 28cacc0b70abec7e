"""EIP-2929 warm/cold account access, CALL value/new-account costs, the stipend and the 63/64
rule (EIP-150)."""

from __future__ import annotations

import pytest
from evm_helpers import CONTRACT, OTHER, addr, compute, ops, run

from evm import gas as G


@pytest.mark.parametrize("opname", ["BALANCE", "EXTCODESIZE", "EXTCODEHASH"])
def test_cold_then_warm_account(opname):
    r = run(ops(OTHER, opname, "POP", OTHER, opname))
    assert r.used == 3 + 2600 + 2 + 3 + 100


def test_precompiles_and_own_address_are_warm():
    assert run(ops(1, "BALANCE")).used == 3 + 100
    assert run(ops(CONTRACT, "BALANCE")).used == 3 + 100


def test_access_is_reverted_with_the_frame():
    # the child warms OTHER then reverts: OTHER is cold again for the parent
    child = ops(OTHER, "BALANCE", 0, 0, "REVERT")
    code = ops(
        0, 0, 0, 0, addr(0x55), 50_000, "STATICCALL", "POP", "GAS", OTHER, "BALANCE", "POP", "GAS", "SWAP1", "SUB"
    ) + ops(0, "MSTORE", 32, 0, "RETURN")
    r = run(code, accounts={addr(0x55): {"code": child}})
    assert r.word == 3 + 2600 + 2 + 2  # PUSH20, cold BALANCE, POP, GAS


@pytest.mark.parametrize(
    "value,target,extra",
    [
        (0, OTHER, 0),
        (1, OTHER, 9000),  # value
        (1, addr(0x77), 9000 + 25000),  # value to a dead account: new account
        (0, addr(0x77), 0),  # no value: no new-account cost
    ],
)
def test_call_costs(value, target, extra):
    accounts = {CONTRACT: {"balance": 10}, OTHER: {"code": b"\x00", "balance": 1}}
    code = ops("GAS", 0, 0, 0, 0, value, target, 10_000, "CALL", "POP", "GAS", "SWAP1", "SUB") + ops(
        0, "MSTORE", 32, 0, "RETURN"
    )
    r = run(code, accounts=accounts)
    pushes = 4 * 2 + (3 if value else 2) + 3 + 3
    stipend = 2300 if value else 0  # given to the child on top, and returned unused
    assert r.word == pushes + 100 + 2500 + extra - stipend + 2 + 2


def test_call_value_stipend_visible_to_child():
    callee = compute("GAS")
    accounts = {CONTRACT: {"balance": 10}, OTHER: {"code": callee}}
    r = run(ops(32, 0, 0, 0, 1, OTHER, 0, "CALL") + ops(32, 0, "RETURN"), accounts=accounts)
    assert r.word == 2300 - 2  # gas 0 requested, the stipend alone, minus GAS itself


def test_63_64_rule():
    callee = compute("GAS")
    accounts = {OTHER: {"code": callee}}
    gas = 100_000
    code = ops(32, 0, 0, 0, 0, OTHER, "GAS", "CALL") + ops(32, 0, "RETURN")
    r = run(code, gas=gas, accounts=accounts)
    # before CALL: 5 pushes (PUSH1 + 4xPUSH0... value PUSH0) + PUSH20 + GAS, then CALL static 100, cold 2500, memory 3
    before = 3 + 2 + 2 + 2 + 2 + 3 + 2
    left = gas - before  # GAS pushes this
    available = left - 100 - 3 - 2500
    assert r.word == G.max_call_gas(available) - 2


def test_call_gas_function():
    assert G.call_gas(10**9, 6400, 0) == 6300
    assert G.call_gas(100, 6400, 0) == 100
    assert G.call_gas(100, 6400, 6401) is None
    assert G.call_gas(10**9, 6400 + 9000, 9000) == 6300


def test_call_out_of_gas_for_cold_access():
    code = ops(0, 0, 0, 0, 0, OTHER, 0, "CALL")
    need = 2 * 5 + 3 + 2 + 100 + 2500
    assert run(code, gas=need).status == "success"
    assert run(code, gas=need - 1).result.error == "OutOfGas"
