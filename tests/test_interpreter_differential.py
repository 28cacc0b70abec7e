"""Differential tests against revm (pyrevm, the `bench` extra): status, output and gas of the
interpreter must match exactly, on hand-picked programs and on generated ones."""

from __future__ import annotations

import random

import pytest
from evm_helpers import CONTRACT, OTHER, ops, push_n, table_program
from revm_oracle import ours, pyrevm, revm_call

from evm.spec import Fork

pytestmark = pytest.mark.skipif(pyrevm is None, reason="pyrevm not installed")

VALUES = [
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    255,
    256,
    2**64 - 1,
    2**128,
    2**255 - 1,
    2**255,
    2**255 + 1,
    2**256 - 2,
    2**256 - 1,
    0xDEADBEEF,
    0x8000000000000000000000000000000000000000000000000000000000000080,
]


def check(code: bytes, data: bytes = b"", *, gas: int = 200_000, value: int = 0, accounts=None, fork=Fork.CANCUN):
    want = revm_call(code, data, gas=gas, value=value, accounts=accounts, fork=fork)
    got = ours(code, data, gas=gas, value=value, accounts=accounts, fork=fork)
    assert got[0] == want[0], (got, want)
    if want[1] is not None:
        assert got[1] == want[1], (got[1].hex(), want[1].hex())
    assert got[2] == want[2], f"gas ours {got[2]} revm {want[2]}"
    return got


@pytest.mark.parametrize(
    "opname",
    [
        "ADD",
        "MUL",
        "SUB",
        "DIV",
        "SDIV",
        "MOD",
        "SMOD",
        "EXP",
        "SIGNEXTEND",
        "LT",
        "GT",
        "SLT",
        "SGT",
        "EQ",
        "AND",
        "OR",
        "XOR",
        "BYTE",
        "SHL",
        "SHR",
        "SAR",
    ],
)
def test_binary_ops(opname):
    check(table_program(opname, 2, VALUES), gas=5_000_000)


@pytest.mark.parametrize("opname", ["ADDMOD", "MULMOD"])
def test_ternary_ops(opname):
    check(table_program(opname, 3, VALUES), gas=5_000_000)


@pytest.mark.parametrize("opname", ["ISZERO", "NOT"])
def test_unary_ops(opname):
    code = b"".join(push_n(v, 32) + ops(opname, 32 * i, "MSTORE") for i, v in enumerate(VALUES))
    check(code + ops("MSIZE", 0, "RETURN"))


MEMORY_PROGRAMS = {
    "mstore_far": ops(0xAB, 1000, "MSTORE", "MSIZE", 0, "MSTORE", 64, 0, "RETURN"),
    "mstore8": ops(0x1234, 31, "MSTORE8", 0x56, 33, "MSTORE8", 64, 0, "RETURN"),
    "mload_unaligned": ops(2**256 - 1, 5, "MSTORE", 3, "MLOAD", 0, "MSTORE", 32, 0, "RETURN"),
    "mcopy_overlap": ops(2**255 + 12345, 0, "MSTORE", 32, 0, 7, "MCOPY", 64, 0, "RETURN"),
    "mcopy_zero_len_far": ops(0, 2**200, 2**200, "MCOPY", "MSIZE", 0, "MSTORE", 32, 0, "RETURN"),
    "calldatacopy": ops(40, 3, 5, "CALLDATACOPY", 64, 0, "RETURN"),
    "calldataload_past_end": ops(30, "CALLDATALOAD", 0, "MSTORE", 32, 0, "RETURN"),
    "codecopy": ops(100, 0, 0, "CODECOPY", 100, 0, "RETURN"),
    "keccak": ops(0xFF, 0, "MSTORE", 77, 3, "KECCAK256", 0, "MSTORE", 32, 0, "RETURN"),
    "big_memory": ops(1, 100_000, "MSTORE", "MSIZE", 0, "MSTORE", 32, 0, "RETURN"),
    "return_zero_size_far": ops(0, 2**255, "RETURN"),
    "returndatacopy_oob": ops(1, 0, 0, "RETURNDATACOPY"),
    "returndatacopy_empty_ok": ops(0, 0, 0, "RETURNDATACOPY", "RETURNDATASIZE", 0, "MSTORE", 32, 0, "RETURN"),
    "pc_gas_msize": ops("PC", "GAS", "MSIZE", 0, "MSTORE", 0, "MSTORE", 32, "MSTORE", 96, 0, "RETURN"),
    "env": ops(
        "ADDRESS",
        "CALLER",
        "CALLVALUE",
        "CALLDATASIZE",
        "CODESIZE",
        "ORIGIN",
        "GASPRICE",
        "SELFBALANCE",
        0,
        "MSTORE",
        32,
        "MSTORE",
        64,
        "MSTORE",
        96,
        "MSTORE",
        128,
        "MSTORE",
        160,
        "MSTORE",
        192,
        "MSTORE",
        224,
        "MSTORE",
        256,
        0,
        "RETURN",
    ),
    "balance_cold_warm": ops(
        OTHER,
        "BALANCE",
        OTHER,
        "BALANCE",
        "ADD",
        0xDEAD,
        "EXTCODESIZE",
        0xBEEF,
        "EXTCODEHASH",
        CONTRACT,
        "EXTCODEHASH",
        0,
        "MSTORE",
        32,
        "MSTORE",
        64,
        "MSTORE",
        96,
        "MSTORE",
        128,
        0,
        "RETURN",
    ),
    "extcodecopy": ops(CONTRACT, 50, 2, 10, "EXTCODECOPY", OTHER, 10, 0, 90, "EXTCODECOPY", 128, 0, "RETURN"),
    "log": ops(0xAA, 0, "MSTORE", 1, 2, 3, 4, 40, 0, "LOG4", 7, 3, 1, "LOG0", 5, 6, 0, "LOG2"),
    "tstore_tload": ops(7, 1, "TSTORE", 1, "TLOAD", 2, "TLOAD", 0, "MSTORE", 32, "MSTORE", 64, 0, "RETURN"),
    "jumps": ops(
        6,
        "JUMP",
        "INVALID",
        "INVALID",
        "JUMPDEST",
        1,
        12,
        "JUMPI",
        "INVALID",
        "JUMPDEST",
        0,
        0,
        "JUMPI",
        42,
        0,
        "MSTORE",
        32,
        0,
        "RETURN",
    ),
    "bad_jump_into_push": bytes.fromhex("6003565b"),
    "invalid_opcode": bytes.fromhex("0c"),
    "stack_underflow": ops("ADD"),
    "revert_data": ops(0xBEEF, 0, "MSTORE", 4, 28, "REVERT"),
    "stop_implicit": ops(1, 2),
    "exp_big": ops(2**255, 3, "EXP", 0, "MSTORE", 32, 0, "RETURN"),
}


CANCUN_ONLY = {"mcopy_overlap", "mcopy_zero_len_far", "tstore_tload"}


@pytest.mark.parametrize("fork", [Fork.SHANGHAI, Fork.CANCUN])
@pytest.mark.parametrize("name", sorted(MEMORY_PROGRAMS))
def test_programs(name, fork):
    if fork < Fork.CANCUN and name in CANCUN_ONLY:
        pytest.skip("pyrevm's SHANGHAI spec still accepts Cancun opcodes: no oracle for the gating")
    accounts = {OTHER: {"balance": 77, "code": bytes(range(1, 40))}}
    check(MEMORY_PROGRAMS[name], data=bytes(range(1, 50)), accounts=accounts, value=5, fork=fork)


def test_stack_overflow():
    check(ops(1) + b"\x80" * 1024)
    check(ops(1) + b"\x80" * 1023 + ops("POP"))


@pytest.mark.parametrize("gas", [0, 1, 2, 20, 21, 22, 23, 100, 1000])
def test_out_of_gas_edges(gas):
    check(ops(1, 2, "ADD", 0, "MSTORE", 32, 0, "RETURN"), gas=gas)


# EIP-2200/3529 transitions: (original, current-after-first-write, new) over one slot
SSTORE_CASES = [(o, a, b) for o in (0, 1, 2) for a in (0, 1, 2) for b in (0, 1, 2)]


@pytest.mark.parametrize("original,first,second", SSTORE_CASES)
def test_sstore_transitions(original, first, second):
    accounts = {CONTRACT: {"storage": {0: original}}} if original else None
    check(ops(first, 0, "SSTORE", second, 0, "SSTORE"), accounts=accounts)


@pytest.mark.parametrize("gas", [2300, 2301, 2306, 5000, 22_105, 22_104])
def test_sstore_stipend_and_gas(gas):
    check(ops(1, 0, "SSTORE"), gas=gas)


def _callee_returning(word: int) -> bytes:
    return ops(word, 0, "MSTORE", "CALLVALUE", 32, "MSTORE", "CALLER", 64, "MSTORE", 96, 0, "RETURN")


CALL_PROGRAMS = {
    "call_value_existing": ops(64, 0, 0, 0, 7, OTHER, 50_000, "CALL", 0, "MSTORE", 96, 0, "RETURN"),
    "call_value_new_account": ops(0, 0, 0, 0, 7, 0x5555, 50_000, "CALL", 0, "MSTORE", 32, 0, "RETURN"),
    "call_no_value_new_account": ops(0, 0, 0, 0, 0, 0x5555, 50_000, "CALL", 0, "MSTORE", 32, 0, "RETURN"),
    "call_insufficient_balance": ops(
        0, 0, 0, 0, 10**30, OTHER, 50_000, "CALL", "GAS", 32, "MSTORE", 0, "MSTORE", 64, 0, "RETURN"
    ),
    "call_all_gas": ops(96, 0, 0, 0, 0, OTHER, "GAS", "CALL", "RETURNDATASIZE", 0, "MSTORE", 32, 0, "RETURN"),
    "staticcall": ops(96, 0, 0, 0, OTHER, 50_000, "STATICCALL", 0, "MSTORE", 96, 0, "RETURN"),
    "delegatecall": ops(96, 0, 0, 0, OTHER, 50_000, "DELEGATECALL", 0, "MSTORE", 96, 0, "RETURN"),
    "callcode": ops(96, 0, 0, 0, 3, OTHER, 50_000, "CALLCODE", 0, "MSTORE", 96, 0, "RETURN"),
    "returndatacopy": ops(0, 0, 0, 0, 0, OTHER, 50_000, "CALL", "POP", 40, 10, 0, "RETURNDATACOPY", 64, 0, "RETURN"),
    "call_precompile_identity": ops(0x1122, 0, "MSTORE", 32, 32, 32, 0, 0, 4, 1000, "CALL", 64, 0, "RETURN"),
    "call_precompile_sha256": ops(0x1122, 0, "MSTORE", 32, 32, 32, 0, 0, 2, 1000, "CALL", 64, 0, "RETURN"),
    "call_precompile_oog": ops(32, 32, 32, 0, 0, 2, 10, "CALL", 0, "MSTORE", 32, 0, "RETURN"),
}


@pytest.mark.parametrize("fork", [Fork.SHANGHAI, Fork.CANCUN])
@pytest.mark.parametrize("name", sorted(CALL_PROGRAMS))
def test_calls(name, fork):
    accounts = {CONTRACT: {"balance": 1000}, OTHER: {"code": _callee_returning(0x77), "balance": 1}}
    check(CALL_PROGRAMS[name], accounts=accounts, value=0, fork=fork)


def test_staticcall_violation_in_child():
    child = ops(1, 0, "SSTORE")
    accounts = {OTHER: {"code": child}}
    check(ops(0, 0, 0, 0, OTHER, 50_000, "STATICCALL", 0, "MSTORE", 32, 0, "RETURN"), accounts=accounts)


def test_child_revert_returns_gas_and_data():
    child = ops(0xABCD, 0, "MSTORE", 2, 30, "REVERT")
    accounts = {OTHER: {"code": child}}
    check(
        ops(
            0,
            0,
            0,
            0,
            0,
            OTHER,
            50_000,
            "CALL",
            "RETURNDATASIZE",
            0,
            0,
            "RETURNDATACOPY",
            0,
            "MLOAD",
            32,
            "MSTORE",
            64,
            0,
            "RETURN",
        ),
        accounts=accounts,
    )


def _initcode(runtime: bytes) -> bytes:
    # copy runtime from the end of the init code and return it
    n = len(runtime)
    head_len = len(ops(n, 0, 0, "CODECOPY", n, 0, "RETURN")) + 2  # the offset push grows by <=2 bytes
    for extra in range(3):
        head = ops(n, head_len - 2 + extra, 0, "CODECOPY", n, 0, "RETURN")
        if len(head) == head_len - 2 + extra:
            return head + runtime
    raise AssertionError


def _create_program(initcode: bytes, create2: bool, value: int = 0) -> bytes:
    code = b""
    for i in range(0, len(initcode), 32):
        code += push_n(int.from_bytes(initcode[i : i + 32].ljust(32, b"\0"), "big"), 32) + ops(i, "MSTORE")
    if create2:
        code += ops(0x5A17, len(initcode), 0, value, "CREATE2")
    else:
        code += ops(len(initcode), 0, value, "CREATE")
    return code + ops(
        "DUP1", "EXTCODESIZE", "SWAP1", 0, "MSTORE", 32, "MSTORE", "RETURNDATASIZE", 64, "MSTORE", 96, 0, "RETURN"
    )


@pytest.mark.parametrize("fork", [Fork.SHANGHAI, Fork.CANCUN])
@pytest.mark.parametrize("create2", [False, True])
@pytest.mark.parametrize("runtime", [b"", bytes.fromhex("600160005260206000f3"), b"\xef\x00", b"\xfe" * 100])
def test_create(create2, runtime, fork):
    check(
        _create_program(_initcode(runtime), create2, value=3),
        accounts={CONTRACT: {"balance": 10}},
        gas=1_000_000,
        fork=fork,
    )


def test_create_reverting_initcode():
    init = ops(0xAB, 0, "MSTORE", 32, 0, "REVERT")
    check(_create_program(init, False), gas=1_000_000)


def test_create_collision_via_create2_twice():
    init = _initcode(b"\x00")
    prog = _create_program(init, True)
    body = prog[: -len(ops(96, 0, "RETURN"))]
    # the second CREATE2 with the same salt collides
    prog2 = body + ops(0x5A17, len(init), 0, 0, "CREATE2", 128, "MSTORE", 160, 0, "RETURN")
    check(prog2, gas=1_000_000)


@pytest.mark.parametrize("fork", [Fork.SHANGHAI, Fork.CANCUN])
def test_selfdestruct_to_other(fork):
    accounts = {CONTRACT: {"balance": 1000}}
    check(ops(0x9999, "SELFDESTRUCT"), accounts=accounts, fork=fork)
    check(ops(CONTRACT, "SELFDESTRUCT"), accounts=accounts, fork=fork)
    check(ops(OTHER, "SELFDESTRUCT"), accounts={**accounts, OTHER: {"balance": 1}}, fork=fork)


# ------------------------------------------------------------------ generated programs
PURE = [
    "ADD",
    "MUL",
    "SUB",
    "DIV",
    "SDIV",
    "MOD",
    "SMOD",
    "ADDMOD",
    "MULMOD",
    "EXP",
    "SIGNEXTEND",
    "LT",
    "GT",
    "SLT",
    "SGT",
    "EQ",
    "ISZERO",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "BYTE",
    "SHL",
    "SHR",
    "SAR",
    "POP",
    "DUP1",
    "DUP2",
    "DUP3",
    "SWAP1",
    "SWAP2",
    "SWAP3",
    "MSIZE",
    "GAS",
    "PC",
]


def _random_program(rng: random.Random) -> bytes:
    from evm.opcodes import BY_NAME, OPCODES

    code = b""
    depth = 0
    for _ in range(rng.randint(1, 40)):
        name = rng.choice(PURE + ["PUSH"] * 8 + ["MSTORE", "MLOAD", "KECCAK256"])
        if name == "PUSH":
            v = rng.choice(VALUES + [rng.getrandbits(rng.choice([8, 64, 256]))])
            code += push_n(v, 32)
            depth += 1
            continue
        if name in ("MSTORE", "MLOAD", "KECCAK256"):
            code += push_n(rng.randint(0, 4096), 32)
            depth += 1
        info = OPCODES[BY_NAME[name]]
        if depth < info.inputs:
            code += b"".join(push_n(rng.choice(VALUES), 32) for _ in range(info.inputs - depth))
            depth = info.inputs
        if name == "KECCAK256":
            code += ops("SWAP1", 255, "AND", "SWAP1")  # bound the size
        code += bytes([BY_NAME[name]])
        depth += info.outputs - info.inputs
    code += (
        ops("MSIZE") + ops(0, "MSTORE", "MSIZE", 0, "RETURN") if depth == 0 else ops(0, "MSTORE", "MSIZE", 0, "RETURN")
    )
    return code


@pytest.mark.parametrize("seed", range(60))
def test_random_programs(seed):
    rng = random.Random(seed)
    check(_random_program(rng), gas=rng.choice([3_000, 30_000, 3_000_000]))
