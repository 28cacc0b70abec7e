"""Calls, creation, self-destruct, EIP-7702 delegation and call depth, through the shared host."""

from __future__ import annotations

import threading

import pytest
from eth_hash.auto import keccak
from evm_helpers import CONTRACT, OTHER, SENDER, addr, compute, make_state, ops, push_n, run

from evm import execute
from evm.host import create2_address, create_address
from evm.message import BlockEnv, Message, TxEnv
from evm.spec import Fork

DESIGNATOR = b"\xef\x01\x00"


def initcode_for(runtime: bytes) -> bytes:
    """Init code that returns `runtime` (copied from its own tail)."""
    n = len(runtime)
    for head_len in range(8, 16):
        head = ops(n, head_len, 0, "CODECOPY", n, 0, "RETURN")
        if len(head) == head_len:
            return head + runtime
    raise AssertionError


def store_code(code: bytes) -> bytes:
    """Code that writes `code` to memory at 0 (for CREATE / CREATE2 from memory)."""
    out = b""
    for i in range(0, len(code), 32):
        out += push_n(int.from_bytes(code[i : i + 32].ljust(32, b"\0"), "big"), 32) + ops(i, "MSTORE")
    return out


# ------------------------------------------------------------------ calls
def test_call_moves_value_and_returns_data():
    callee = compute("CALLVALUE", "CALLER", "ADD")  # returns value + caller
    code = ops(32, 0, 0, 0, 7, OTHER, 100_000, "CALL") + ops(0, "MLOAD", 32, "MSTORE", 0, "MSTORE", 64, 0, "RETURN")
    r = run(code, accounts={CONTRACT: {"balance": 100}, OTHER: {"code": callee}})
    assert r.status == "success"
    assert int.from_bytes(r.output[:32], "big") == 1
    assert int.from_bytes(r.output[32:], "big") == 7 + int.from_bytes(CONTRACT, "big")
    assert r.state.get_balance(OTHER) == 7 and r.state.get_balance(CONTRACT) == 93


def test_call_insufficient_balance_fails_softly_and_returns_gas():
    code = ops(0, 0, 0, 0, 1000, OTHER, 100_000, "CALL") + ops(0, "MSTORE", 32, 0, "RETURN")
    r = run(code, accounts={CONTRACT: {"balance": 1}, OTHER: {"code": b"\x00"}})
    assert r.word == 0
    # pushes + CALL 100 + cold 2500 + value 9000; the gas *and the 2300 stipend* come back (spec quirk)
    assert r.used == 4 * 2 + 3 * 3 + 100 + 2500 + 9000 - 2300 + 2 + 6 + 3 + 2


def test_child_revert_rolls_back_only_the_child():
    callee = ops(1, 1, "SSTORE", 0xAB, 0, "MSTORE", 32, 0, "REVERT")
    code = ops(5, 0, "SSTORE", 32, 0, 0, 0, 0, OTHER, 100_000, "CALL", "RETURNDATASIZE") + ops(
        64, "MSTORE", 32, "MSTORE", 96, 0, "RETURN"
    )
    r = run(code, accounts={OTHER: {"code": callee}})
    assert r.status == "success"
    assert r.output[:32] == (0xAB).to_bytes(32, "big")
    assert int.from_bytes(r.output[32:64], "big") == 0 and int.from_bytes(r.output[64:], "big") == 32
    assert r.state.get_storage(OTHER, 1) == 0 and r.state.get_storage(CONTRACT, 0) == 5


def test_delegatecall_and_callcode_context():
    callee = ops("CALLER", 0, "SSTORE", "CALLVALUE", 1, "SSTORE", "ADDRESS", 2, "SSTORE")
    accounts = {OTHER: {"code": callee}, CONTRACT: {"balance": 50}}
    r = run(ops(0, 0, 0, 0, OTHER, 100_000, "DELEGATECALL"), value=9, accounts=accounts)
    s = r.state
    assert s.get_storage(CONTRACT, 0) == int.from_bytes(SENDER, "big")  # caller preserved
    assert s.get_storage(CONTRACT, 1) == 9  # value preserved, not transferred
    assert s.get_storage(CONTRACT, 2) == int.from_bytes(CONTRACT, "big")
    assert s.get_storage(OTHER, 0) == 0
    r = run(ops(0, 0, 0, 0, 4, OTHER, 100_000, "CALLCODE"), accounts=accounts)
    s = r.state
    assert s.get_storage(CONTRACT, 0) == int.from_bytes(CONTRACT, "big")
    assert s.get_storage(CONTRACT, 1) == 4 and s.get_balance(CONTRACT) == 50  # sent to itself


def test_static_context_violations():
    writer = ops(1, 0, "SSTORE")
    code = ops(0, 0, 0, 0, OTHER, 100_000, "STATICCALL") + ops(0, "MSTORE", 32, 0, "RETURN")
    assert run(code, accounts={OTHER: {"code": writer}}).word == 0
    reader = compute(0, "SLOAD")
    assert run(code, accounts={OTHER: {"code": reader}}).word == 1
    for bad in (
        ops(0, 0, 0, 0, 1, OTHER, 1000, "CALL"),
        ops(0, 0, 0, "CREATE"),
        ops(0, 0, 0, 0, "CREATE2"),
        ops(OTHER, "SELFDESTRUCT"),
        ops(1, 1, "TSTORE"),
        ops(0, 0, "LOG0"),
    ):
        assert run(bad, static=True, accounts={CONTRACT: {"balance": 5}}).result.error == "WriteInStaticContext", bad
    # CALL without value is fine in a static frame
    assert run(ops(0, 0, 0, 0, 0, OTHER, 1000, "CALL"), static=True).status == "success"


def test_call_precompile_identity():
    code = ops(0x1122, 0, "MSTORE", 32, 32, 32, 0, 0, 4, 1000, "CALL", 64, 0, "RETURN")
    r = run(code)
    assert r.output[32:] == (0x1122).to_bytes(32, "big") and r.output[:32] == (0x1122).to_bytes(32, "big")


def test_failing_precompile_consumes_its_gas():
    code = ops(32, 32, 32, 0, 0, 2, 10, "CALL", 0, "MSTORE", 32, 0, "RETURN")  # sha256 with 10 gas: fails
    r = run(code)
    assert r.word == 0


# ------------------------------------------------------------------ depth
RECURSE = ops(
    0, "CALLDATALOAD", "DUP1", 0, "SSTORE", 1, "ADD", 0, "MSTORE", 0, 0, 32, 0, 0, "ADDRESS", "GAS", "CALL", "STOP"
)


def test_depth_1024_is_reached_and_not_exceeded():
    r = run(RECURSE, gas=10**12)
    assert r.status == "success"
    assert r.state.get_storage(CONTRACT, 0) == 1024


def test_depth_1024_from_a_small_stack_thread():
    box = []
    old = threading.stack_size()
    threading.stack_size(1024 * 1024)  # 1 MiB: far too small for 1024 levels without segmentation
    try:
        t = threading.Thread(target=lambda: box.append(run(RECURSE, gas=10**12)))
        t.start()
    finally:
        threading.stack_size(old)
    t.join()
    assert box[0].state.get_storage(CONTRACT, 0) == 1024


# ------------------------------------------------------------------ creation
def test_create_deploys_code_and_increments_nonce():
    runtime = compute(42)
    init = initcode_for(runtime)
    code = store_code(init) + ops(len(init), 0, 5, "CREATE") + ops(0, "MSTORE", 32, 0, "RETURN")
    r = run(code, accounts={CONTRACT: {"balance": 10, "nonce": 1}})
    expected = create_address(CONTRACT, 1)
    assert r.output[12:] == expected
    s = r.state
    assert s.get_code(expected) == runtime and s.get_nonce(expected) == 1 and s.get_balance(expected) == 5
    assert s.get_nonce(CONTRACT) == 2 and s.was_created(expected)


def test_create2_address_and_collision():
    init = initcode_for(b"\x00")
    salt = 0x5A17
    one = ops(salt, len(init), 0, 0, "CREATE2")
    code = store_code(init) + one + one + ops(32, "MSTORE", 0, "MSTORE", 64, 0, "RETURN")
    r = run(code)
    expected = create2_address(CONTRACT, salt, init)
    assert r.output[12:32] == expected and r.output[32:] == bytes(32)  # the second one collides
    assert r.state.get_nonce(CONTRACT) == 2  # both attempts bump the nonce


def test_create_collision_with_storage_only_eip7610():
    init = initcode_for(b"\x00")
    target = create2_address(CONTRACT, 1, init)
    code = (
        store_code(init) + ops(1, len(init), 0, 0, "CREATE2", "GAS") + ops(32, "MSTORE", 0, "MSTORE", 64, 0, "RETURN")
    )
    r = run(code, accounts={target: {"storage": {1: 1}}}, gas=1_000_000)
    assert r.output[:32] == bytes(32)
    # the gas given to the create (all but 1/64) is consumed by the collision
    assert int.from_bytes(r.output[32:], "big") < 1_000_000 // 60


@pytest.mark.parametrize(
    "runtime,ok",
    [
        (b"\xef", False),
        (b"\xef\x00\x00", False),
        (b"\xfe\xef", True),
        (b"\x00" * 24576, True),
        (b"\x00" * 24577, False),
    ],
)
def test_create_deposit_rules(runtime, ok):
    n = len(runtime)
    init = ops(n, 0, "RETURN") if runtime[:1] != b"\xef" and set(runtime) == {0} else initcode_for(runtime)
    code = store_code(init) + ops(len(init), 0, 0, "CREATE") + ops(0, "MSTORE", 32, 0, "RETURN")
    r = run(code, gas=30_000_000)
    assert (r.word != 0) == ok
    if ok:
        assert r.state.get_code(addr(r.word)) == runtime


def test_initcode_size_limit_eip3860():
    big = 49153
    code = ops(big, 0, 0, "CREATE")
    assert run(code, gas=30_000_000).result.error == "OutOfGas"
    assert run(ops(49152, 0, 0, "CREATE", "POP"), gas=30_000_000).status == "success"
    # Paris has neither the limit nor the word cost
    # Paris has neither the limit nor the word cost (no PUSH0 either)
    paris = push_n(big, 2) + push_n(0, 1) + push_n(0, 1) + ops("CREATE", "POP")
    assert run(paris, gas=30_000_000, fork=Fork.PARIS).status == "success"
    code = push_n(64, 1) + push_n(0, 1) + push_n(0, 1) + ops("CREATE")
    assert run(code, fork=Fork.SHANGHAI).used - run(code, fork=Fork.PARIS).used == 2 * 2


def test_returndata_after_create():
    init = ops(0xAB, 0, "MSTORE", 32, 0, "REVERT")
    code = store_code(init) + ops(len(init), 0, 0, "CREATE", "RETURNDATASIZE") + ops(0, "MSTORE", 32, 0, "RETURN")
    assert run(code).word == 32
    init = initcode_for(b"\x01")
    code = store_code(init) + ops(len(init), 0, 0, "CREATE", "RETURNDATASIZE") + ops(0, "MSTORE", 32, 0, "RETURN")
    assert run(code).word == 0


def test_top_level_create():
    state = make_state({SENDER: {"balance": 10**18}})
    target = create_address(SENDER, 0)
    runtime = compute(7)
    msg = Message(
        caller=SENDER,
        target=target,
        value=3,
        data=b"",
        gas=1_000_000,
        code=initcode_for(runtime),
        code_address=target,
        is_create=True,
    )
    r = execute(msg, state, BlockEnv(fork=Fork.OSAKA), TxEnv())
    assert r.status == "success" and r.created_address == target
    assert state.get_code(target) == runtime and state.get_balance(target) == 3 and state.get_nonce(target) == 1
    # again at the same address: collision
    msg.gas = 1_000_000
    r = execute(msg, state, BlockEnv(fork=Fork.OSAKA), TxEnv())
    assert r.status == "error" and r.result if False else r.error == "AddressCollision"


# ------------------------------------------------------------------ selfdestruct
def test_selfdestruct_cancun_preexisting_only_moves_balance():
    r = run(ops(OTHER, "SELFDESTRUCT"), accounts={CONTRACT: {"balance": 100}}, fork=Fork.CANCUN)
    s = r.state
    assert r.status == "success" and s.get_balance(OTHER) == 100 and s.get_balance(CONTRACT) == 0
    assert CONTRACT not in s.selfdestructs and s.get_code(CONTRACT)
    assert r.used == 3 * 0 + 3 + 5000 + 2600 + 25000 - 3 + 3  # PUSH20 + static + cold + new account


def test_selfdestruct_shanghai_deletes():
    r = run(ops(OTHER, "SELFDESTRUCT"), accounts={CONTRACT: {"balance": 100}}, fork=Fork.SHANGHAI)
    assert CONTRACT in r.state.selfdestructs and r.state.get_balance(OTHER) == 100
    r.state.finalize_transaction()
    assert not r.state.account_exists(CONTRACT)


def test_selfdestruct_to_self_cancun_keeps_balance():
    r = run(ops(CONTRACT, "SELFDESTRUCT"), accounts={CONTRACT: {"balance": 100}}, fork=Fork.CANCUN)
    assert r.state.get_balance(CONTRACT) == 100 and CONTRACT not in r.state.selfdestructs


def test_selfdestruct_of_contract_created_in_same_tx():
    runtime = ops(OTHER, "SELFDESTRUCT")
    init = initcode_for(runtime)
    code = (
        store_code(init)
        + ops(len(init), 0, 9, "CREATE", "DUP1", 0, "MSTORE")
        + ops(0, 0, 0, 0, 0, "DUP6", 100_000, "CALL")
        + ops(32, 0, "RETURN")
    )  # call it: it selfdestructs
    r = run(code, accounts={CONTRACT: {"balance": 10}}, gas=1_000_000)
    new = r.output[12:32]
    s = r.state
    assert new in s.selfdestructs and s.get_balance(OTHER) == 9
    s.finalize_transaction()
    assert not s.account_exists(new)


# ------------------------------------------------------------------ EIP-7702 delegation
def test_delegated_account_runs_target_code_in_its_own_context():
    eoa = addr(0xE0A)
    impl = addr(0x1111)
    impl_code = ops(0x42, 3, "SSTORE") + compute("ADDRESS")
    accounts = {eoa: {"code": DESIGNATOR + impl, "balance": 1}, impl: {"code": impl_code}}
    call = ops(32, 0, 0, 0, 0, eoa, 100_000, "CALL") + ops(0, "MLOAD", 0, "MSTORE", 32, 0, "RETURN")
    r = run(call, accounts=accounts, fork=Fork.PRAGUE)
    assert r.word == int.from_bytes(eoa, "big")
    assert r.state.get_storage(eoa, 3) == 0x42 and r.state.get_storage(impl, 3) == 0
    # cold eoa (2500 over static) + cold delegation target (2600)
    r2 = run(call, accounts=accounts, fork=Fork.PRAGUE, warm_addresses=(eoa, impl))
    assert r.used - r2.used == 2500 + 2500


def test_extcode_sees_the_designator():
    eoa = addr(0xE0A)
    impl = addr(0x1111)
    accounts = {eoa: {"code": DESIGNATOR + impl, "balance": 1}, impl: {"code": b"\x00" * 50}}
    assert run(compute(eoa, "EXTCODESIZE"), accounts=accounts, fork=Fork.PRAGUE).word == 23
    assert run(compute(eoa, "EXTCODEHASH"), accounts=accounts, fork=Fork.PRAGUE).output == keccak(DESIGNATOR + impl)
    r = run(ops(23, 0, 0, eoa, "EXTCODECOPY", 23, 0, "RETURN"), accounts=accounts, fork=Fork.PRAGUE)
    assert r.output == DESIGNATOR + impl


def test_delegation_to_precompile_runs_no_code():
    eoa = addr(0xE0A)
    accounts = {eoa: {"code": DESIGNATOR + addr(4), "balance": 1}}  # identity precompile
    code = ops(0x99, 0, "MSTORE", 32, 0, 32, 0, 0, eoa, 100_000, "CALL", "RETURNDATASIZE") + ops(
        0, "MSTORE", 32, "MSTORE", 64, 0, "RETURN"
    )
    r = run(code, accounts=accounts, fork=Fork.PRAGUE)
    assert int.from_bytes(r.output[32:], "big") == 1 and int.from_bytes(r.output[:32], "big") == 0


def test_top_level_call_to_delegated_account():
    eoa = addr(0xE0A)
    impl = addr(0x1111)
    state = make_state({eoa: {"code": DESIGNATOR + impl, "balance": 1}, impl: {"code": compute(77)}})
    msg = Message(caller=SENDER, target=eoa, value=0, data=b"", gas=100_000, code=DESIGNATOR + impl, code_address=eoa)
    r = execute(msg, state, BlockEnv(fork=Fork.PRAGUE), TxEnv())
    assert r.status == "success" and int.from_bytes(r.output, "big") == 77
