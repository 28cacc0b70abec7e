"""Differential tests of the MLIR backend against the reference interpreter: random bytecode and
hand-written programs must agree on status, output, gas left, logs and storage, and never crash
the process."""
from __future__ import annotations

import random

import pytest

from evm.opcodes import opcode_info
from evm.spec import Fork

from evm_helpers import CONTRACT, OTHER, SENDER, ops, push_n, run, table_program

VALUES = [0, 1, 2, 3, 7, 8, 31, 32, 33, 64, 255, 256, 1024, 2**64 - 1, 2**128, 2**255 - 1, 2**255,
          2**255 + 1, 2**256 - 2, 2**256 - 1, 0xDEADBEEF, 2**32, 2**32 - 1]


def both(code: bytes, data: bytes = b"", **kw):
    a = run(code, data, backend="interpreter", **kw)
    b = run(code, data, backend="mlir", **kw)
    ra, rb = a.result, b.result
    ctx = f"code={code.hex()[:300]} data={data.hex()[:100]}"
    assert rb.status == ra.status, (ctx, ra, rb)
    assert rb.output == ra.output, ctx
    assert rb.gas_left == ra.gas_left, (ctx, ra.gas_left, rb.gas_left, ra.error, rb.error)
    assert b.state.logs == a.state.logs, ctx
    assert b.state.changes().storage == a.state.changes().storage, ctx
    return ra, rb


# ------------------------------------------------------------------ value tables per opcode
@pytest.mark.parametrize("opname", ["ADD", "MUL", "SUB", "DIV", "SDIV", "MOD", "SMOD", "EXP", "SIGNEXTEND",
                                    "LT", "GT", "SLT", "SGT", "EQ", "AND", "OR", "XOR", "BYTE", "SHL",
                                    "SHR", "SAR"])
def test_binary_ops(opname):
    both(table_program(opname, 2, VALUES), gas=10_000_000)


@pytest.mark.parametrize("opname", ["ADDMOD", "MULMOD"])
def test_ternary_ops(opname):
    both(table_program(opname, 3, VALUES[::2]), gas=10_000_000)


@pytest.mark.parametrize("opname", ["ISZERO", "NOT", "CLZ"])
def test_unary_ops(opname):
    code = b"".join(push_n(v, 32) + ops(opname, 32 * i, "MSTORE") for i, v in enumerate(VALUES))
    both(code + ops("MSIZE", 0, "RETURN"))


# ------------------------------------------------------------------ hand-written programs
PROGRAMS = {
    "calldata": ops(0, "CALLDATALOAD", 1, "CALLDATALOAD", 60, "CALLDATALOAD", "CALLDATASIZE",
                    5, 3, 7, "CALLDATACOPY", 0, "MLOAD", "ADD", "ADD", "ADD", "ADD", 0, "MSTORE", 64, 0, "RETURN"),
    "codecopy": ops("CODESIZE", 3, 0, "CODECOPY", 10, 100, 40, "CODECOPY", "MSIZE", 0, "RETURN"),
    "keccak": ops(0xABCDEF, 0, "MSTORE", 32, 0, "KECCAK256", 0, 0, "KECCAK256", 300, 5, "KECCAK256",
                  "ADD", "ADD", 0, "MSTORE", 32, 0, "RETURN"),
    "mstore8_mcopy": ops(0xFF, 31, "MSTORE8", 0x1234, 64, "MSTORE", 40, 0, 70, "MCOPY", 20, 50, 10, "MCOPY",
                         "MSIZE", 0, "RETURN"),
    "storage": ops(1, 0, "SSTORE", 2, 1, "SSTORE", 0, 0, "SSTORE", 1, "SLOAD", 0, "SLOAD", "ADD",
                   7, 5, "TSTORE", 5, "TLOAD", "ADD", 0, "MSTORE", 32, 0, "RETURN"),
    "env": ops("ADDRESS", "ORIGIN", "CALLER", "CALLVALUE", "GASPRICE", "COINBASE", "TIMESTAMP", "NUMBER",
               "PREVRANDAO", "GASLIMIT", "CHAINID", "SELFBALANCE", "BASEFEE", "BLOBBASEFEE", 0, "BLOBHASH",
               1, "BLOCKHASH", "PC", "MSIZE", "GAS",
               *[x for i in range(21) for x in (32 * i, "MSTORE")], "MSIZE", 0, "RETURN"),
    "accounts": ops(SENDER, "BALANCE", OTHER, "BALANCE", OTHER, "EXTCODESIZE", CONTRACT, "EXTCODEHASH",
                    OTHER, "EXTCODEHASH", 0, "MSTORE", 32, "MSTORE", 64, "MSTORE", 96, "MSTORE", 128, "MSTORE",
                    5, 2, 140, OTHER, "EXTCODECOPY", "MSIZE", 0, "RETURN"),
    "logs": ops(0x55, 0, "MSTORE", 32, 0, "LOG0", 1, 2, 3, 4, 7, 20, "LOG4", 9, 0, 0, "LOG1", 0, 0, "STOP"),
    "call": ops(0x11, 0, "MSTORE", 32, 64, 32, 0, 0, OTHER, 50000, "CALL", 0, "MSTORE",
                "RETURNDATASIZE", 0, 0, "RETURNDATACOPY", 32, 64, 32, 0, OTHER, 50000, "STATICCALL",
                32, 64, 32, 0, 0, OTHER, 50000, "CALLCODE", 32, 64, 32, 0, OTHER, 50000, "DELEGATECALL",
                "ADD", "ADD", "ADD", 32, "MSTORE", 128, 0, "RETURN"),
    "call_value": ops(0, 0, 0, 0, 5, OTHER, 50000, "CALL", 0, 0, 0, 0, 5, bytes(20).replace(b"\0", b"\x77"),
                      50000, "CALL", "ADD", 0, "MSTORE", 32, 0, "RETURN"),
    "returndata_oob": ops(0, 0, 0, 0, OTHER, 50000, "STATICCALL", 33, 0, 0, "RETURNDATACOPY", "STOP"),
    "create": ops(0x600A600C600039600A6000F3602A60005260206000F3, 0, "MSTORE", 22, 10, 0, "CREATE",
                  "DUP1", "EXTCODESIZE", 22, 10, 0, "RETURNDATASIZE", "POP", 77, 22, 10, 0, "CREATE2",
                  0, "MSTORE", 32, "MSTORE", 64, "MSTORE", 96, 0, "RETURN"),
    "revert": ops(0xBEEF, 0, "MSTORE", 2, 30, "REVERT"),
    "selfdestruct": ops(OTHER, "SELFDESTRUCT"),
    "gas_sstore_sentry": ops(1, 0, "SSTORE"),
    "dynamic_jump": ops(0, "CALLDATALOAD", "JUMP", "JUMPDEST", 1, 0, "MSTORE", 32, 0, "RETURN",
                        "JUMPDEST", 2, 0, "MSTORE", 32, 0, "RETURN"),
    "mem_oog": ops(1, 2**40, "MSTORE"),
    "mem_big": ops(1, 100000, "MSTORE", 100032, 100000, "KECCAK256", 0, "MSTORE", "MSIZE", 32, "MSTORE", 64, 0, "RETURN"),
    "exp": ops(3, 2**200 + 5, "EXP", 2, 255, "EXP", "ADD", 0, "MSTORE", 32, 0, "RETURN"),
    "deep_stack": ops(*([1] * 1024), "STOP"),
    "stack_overflow": ops(*([1] * 1025), "STOP"),
    "underflow": ops("ADD"),
    "invalid": bytes([0x0C]),
    "loop": ops(100, "JUMPDEST", 1, "SWAP1", "SUB", "DUP1", 2, "JUMPI", 0, "MSTORE", 32, 0, "RETURN"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program(name):
    code = PROGRAMS[name]
    other = ops(0xCAFE, 0, "MSTORE", 1, 5, "SSTORE", 32, 0, "RETURN")
    accounts = {OTHER: {"code": other, "balance": 10**18}, CONTRACT: {"balance": 10**18}}
    for data in (b"", bytes(range(70)), (5).to_bytes(32, "big"), (11).to_bytes(32, "big"), (12).to_bytes(32, "big")):
        both(code, data, accounts=accounts, gas=300_000)
    both(code, b"", accounts=accounts, gas=300_000, static=True)
    both(code, b"", accounts=accounts, gas=2400)


@pytest.mark.parametrize("fork", [Fork.PARIS, Fork.SHANGHAI, Fork.CANCUN, Fork.PRAGUE, Fork.OSAKA])
def test_fork_gating(fork):
    for op in (0x5F, 0x5C, 0x5D, 0x5E, 0x49, 0x4A, 0x1E):
        both(bytes([0x60, 1, 0x60, 2, 0x60, 3, op, 0x00]), fork=fork)


# ------------------------------------------------------------------ random programs
_VALID = [op for op in range(256) if opcode_info(op, Fork.OSAKA).valid]
_CHEAP = [op for op in _VALID if op not in (0xF0, 0xF5, 0xFF)]


def random_program(rng: random.Random, length: int) -> bytes:
    out = bytearray()
    while len(out) < length:
        r = rng.random()
        if r < 0.30:
            v = rng.choice(VALUES) if rng.random() < 0.6 else rng.randrange(0, 64)
            n = max(1, (v.bit_length() + 7) // 8)
            out += bytes([0x5F + n]) + v.to_bytes(n, "big")
        elif r < 0.38:
            out += bytes([0x5B])
        elif r < 0.45:  # jump to a small constant target (often a JUMPDEST, sometimes not)
            out += bytes([0x60, rng.randrange(0, max(1, length)), rng.choice([0x56, 0x57])])
        elif r < 0.60:
            out += bytes([rng.choice(range(0x80, 0xA0))])
        else:
            op = rng.choice(_CHEAP)
            if 0x60 <= op <= 0x7F:
                n = op - 0x5F
                out += bytes([op]) + bytes(rng.randrange(256) for _ in range(n))
            else:
                out.append(op)
    return bytes(out)


@pytest.mark.parametrize("seed", range(40))
def test_random(seed):
    rng = random.Random(seed)
    accounts = {OTHER: {"code": ops(1, 0, "MSTORE", 32, 0, "RETURN"), "balance": 5}}
    for _ in range(10):
        code = random_program(rng, rng.randrange(4, 80))
        data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 32, 68])))
        both(code, data, accounts=accounts, gas=rng.choice([100_000, 3_000, 30]))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("opname,arity", [("DIV", 2), ("SDIV", 2), ("MOD", 2), ("SMOD", 2), ("ADDMOD", 3),
                                          ("MULMOD", 3), ("EXP", 2)])
def test_division_family_random(opname, arity, seed):
    # operands of every digit length: the runtime's long division takes a different path per length
    rng = random.Random(seed * 1000 + arity)
    vals = [rng.getrandbits(rng.choice([1, 8, 63, 64, 65, 100, 128, 129, 192, 200, 255, 256])) for _ in range(12)]
    vals += [2**256 - 1 - rng.getrandbits(64), 2**255, 1 << rng.randrange(256)]
    both(table_program(opname, arity, vals), gas=10_000_000)
