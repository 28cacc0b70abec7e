"""Interpreter, by category: hand-written bytecode with expected results (no oracle needed)."""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from evm_helpers import CONTRACT, SENDER, compute, ops, push_n, run

from evm.message import BlockEnv, TxEnv
from evm.opcodes import OPCODES, opcode_info, static_gas_table
from evm.spec import Fork

M = 2**256 - 1
NEG1 = M


def word(*items, **kw) -> int:
    r = run(compute(*items), **kw)
    assert r.status == "success", r.result
    return r.word


# ------------------------------------------------------------------ opcode table
def test_table_forks():
    assert not opcode_info(0x5F, Fork.PARIS).valid and opcode_info(0x5F, Fork.SHANGHAI).name == "PUSH0"
    for op in (0x5C, 0x5D, 0x5E, 0x49, 0x4A):
        assert not opcode_info(op, Fork.SHANGHAI).valid and opcode_info(op, Fork.CANCUN).valid
    assert not opcode_info(0x1E, Fork.PRAGUE).valid and opcode_info(0x1E, Fork.OSAKA).name == "CLZ"
    assert not opcode_info(0x0C, Fork.OSAKA).valid and not opcode_info(0xFE, Fork.OSAKA).valid
    assert sum(opcode_info(op, Fork.OSAKA).valid for op in range(256)) == 149  # every defined op but INVALID
    assert sum(opcode_info(op, Fork.PARIS).valid for op in range(256)) == 149 - 7


def test_table_stack_and_gas():
    assert (OPCODES[0xF1].inputs, OPCODES[0xF1].outputs) == (7, 1)
    assert (OPCODES[0x8F].inputs, OPCODES[0x8F].outputs) == (16, 17)
    assert (OPCODES[0x9F].inputs, OPCODES[0x9F].outputs) == (17, 17)
    assert OPCODES[0xA4].gas == 375 * 5 and OPCODES[0xA4].inputs == 6
    assert OPCODES[0x7F].immediate == 32
    g = static_gas_table(Fork.OSAKA)
    assert g[0x01] == 3 and g[0x02] == 5 and g[0x08] == 8 and g[0x5B] == 1 and g[0x55] == 0 and g[0x1E] == 5


# ------------------------------------------------------------------ arithmetic
@pytest.mark.parametrize(
    "items,expected",
    [
        ((M, 1, "ADD"), 0),
        ((3, 2, "SUB"), M),  # 2 - 3
        ((2**255, 2, "MUL"), 0),
        ((0, 7, "DIV"), 0),
        ((3, 7, "DIV"), 2),
        ((NEG1, 2**255, "SDIV"), 2**255),  # -2**255 / -1 overflows to itself
        ((2, NEG1 - 6, "SDIV"), NEG1 - 2),  # -7 / 2 = -3
        ((0, 5, "MOD"), 0),
        ((3, NEG1 - 6, "SMOD"), NEG1),  # -7 % 3 = -1 (sign of dividend)
        ((NEG1 - 2, 7, "SMOD"), 1),  # 7 % -3 = 1
        ((10, 5, 7, "ADDMOD"), 2),
        ((8, M, M, "ADDMOD"), (2 * M) % 8),
        ((0, 5, 7, "MULMOD"), 0),
        ((12, M, M, "MULMOD"), (M * M) % 12),
        ((10, 2, "EXP"), 1024),
        ((256, 2, "EXP"), 0),
        ((0, 0, "EXP"), 1),
        ((0xFF, 0, "SIGNEXTEND"), NEG1),
        ((0x7F, 0, "SIGNEXTEND"), 0x7F),
        ((0x12FF80, 0, "SIGNEXTEND"), M - 0x7F),
        ((0x1280, 1, "SIGNEXTEND"), 0x1280),
        ((0xABCD, 31, "SIGNEXTEND"), 0xABCD),
        ((0xABCD, 2**200, "SIGNEXTEND"), 0xABCD),
    ],
)
def test_arithmetic(items, expected):
    assert word(*items) == expected


def test_exp_gas():
    base = run(compute(0, 2, "EXP")).used
    assert run(compute(0xFF, 2, "EXP")).used == base + 50 - 2 + 3  # one exponent byte (PUSH0 -> PUSH1)
    assert run(compute(2**255, 3, "EXP")).used - run(compute(0xFF, 3, "EXP")).used == 31 * 50  # 32 vs 1 byte


# ------------------------------------------------------------------ comparison / bitwise
@pytest.mark.parametrize(
    "items,expected",
    [
        ((2, 1, "LT"), 1),
        ((1, 2, "LT"), 0),
        ((1, 2, "GT"), 1),
        ((1, NEG1, "SLT"), 1),
        ((NEG1, 1, "SGT"), 1),
        ((NEG1, 1, "SLT"), 0),
        ((5, 5, "EQ"), 1),
        ((0, "ISZERO"), 1),
        ((7, "ISZERO"), 0),
        ((0xF0, 0x3C, "AND"), 0x30),
        ((0xF0, 0x0F, "OR"), 0xFF),
        ((0xFF, 0x0F, "XOR"), 0xF0),
        ((0, "NOT"), M),
        ((0xAB << 248, 0, "BYTE"), 0xAB),
        ((0xAB, 31, "BYTE"), 0xAB),
        ((M, 32, "BYTE"), 0),
        ((1, 255, "SHL"), 2**255),
        ((1, 256, "SHL"), 0),
        ((2**255, 255, "SHR"), 1),
        ((M, 2**100, "SHR"), 0),
        ((2**255, 254, "SAR"), M - 1),
        ((2**255, 300, "SAR"), M),
        ((2**254, 300, "SAR"), 0),
        ((0x80, 4, "SAR"), 8),
        ((0, "CLZ"), 256),
        ((1, "CLZ"), 255),
        ((2**255, "CLZ"), 0),
        ((M, "CLZ"), 0),
        ((2**200 + 5, "CLZ"), 55),
    ],
)
def test_comparison_bitwise(items, expected):
    assert word(*items) == expected


def test_clz_gas_and_fork():
    assert run(ops(1, "CLZ")).used == 3 + 5
    assert run(ops(1, "CLZ"), fork=Fork.PRAGUE).result.error == "InvalidOpcode"


# ------------------------------------------------------------------ stack
def test_push_dup_swap():
    assert word(push_n(0x0102, 2)) == 0x0102
    assert word(push_n(2**256 - 1, 32)) == M
    assert word(1, 2, 3, "DUP3") == 1
    code = b"".join(ops(i) for i in range(1, 17)) + ops("SWAP15")  # swaps 16 and 1
    assert word(code) == 1
    assert word(1, 2, "POP") == 1


def test_push_past_end_pads_with_zeros():
    r = run(bytes.fromhex("61ab"))  # PUSH2 0xab?? then end of code -> implicit STOP
    assert r.status == "success"
    # PUSH32 of 1 byte at the end: value is 0xab << 248; the frame stops normally
    r = run(ops(0) + bytes.fromhex("7fab"))
    assert r.status == "success" and r.used == 2 + 3


def test_push0_fork_gating():
    assert run(ops(0, 0, "RETURN")).status == "success"
    r = run(bytes.fromhex("5f"), fork=Fork.PARIS)
    assert r.status == "error" and r.result.error == "InvalidOpcode" and r.result.gas_left == 0


# ------------------------------------------------------------------ memory
def test_memory_ops():
    assert word(0xAB, 0, "MSTORE", 0, "MLOAD") == 0xAB
    assert word(0x1234, 31, "MSTORE8", 0, "MLOAD") == 0x34
    assert word(0, 100, "MSTORE", "MSIZE") == 160
    assert word(7, 64, "MSTORE8", "MSIZE") == 96
    # MCOPY with overlap
    r = run(ops(0x0102030405, 0, "MSTORE", 5, 27, 28, "MCOPY", 0, "MLOAD") + ops(0, "MSTORE", 32, 0, "RETURN"))
    assert r.word == 0x0101020304  # bytes 27..31 were 01..05; copied one to the right
    assert word(0, 2**255, 0, "MCOPY", "MSIZE") == 0  # zero-length copy never touches memory


def test_memory_expansion_is_charged_and_huge_offsets_fail():
    small = run(ops(1, 0, "MSTORE")).used
    far = run(ops(1, 32 * 1023, "MSTORE")).used
    assert small == 3 + 2 + 3 + 3  # PUSH1 PUSH0 MSTORE + 1 word
    assert far == 3 + 3 + 3 + (3 * 1024 + 1024 * 1024 // 512)
    r = run(ops(1, 2**64, "MSTORE"))
    assert r.status == "error" and r.result.error == "OutOfGas"


# ------------------------------------------------------------------ environment / block
def test_environment():
    data = bytes(range(1, 40))
    r = run(ops("CALLDATASIZE", 0, "MSTORE", 30, "CALLDATALOAD", 32, "MSTORE", 64, 0, "RETURN"), data)
    assert int.from_bytes(r.output[:32], "big") == 39
    assert r.output[32:] == bytes(range(31, 40)) + bytes(23)
    assert word("ADDRESS") == int.from_bytes(CONTRACT, "big")
    assert word("CALLER") == int.from_bytes(SENDER, "big")
    assert word("ORIGIN") == int.from_bytes(SENDER, "big")
    assert word("CALLVALUE", value=9) == 9
    assert word("SELFBALANCE", value=9) == 9
    code = compute("CODESIZE")
    assert run(code).word == len(code)


def test_block_environment():
    env = BlockEnv(
        fork=Fork.OSAKA,
        chain_id=5,
        coinbase=b"\x0c" * 20,
        number=1000,
        timestamp=1234,
        gas_limit=99,
        prev_randao=b"\x01" * 32,
        base_fee=7,
        blob_base_fee=3,
        block_hash=lambda n: n.to_bytes(32, "big"),
    )
    tx = TxEnv(gas_price=11, blob_hashes=(b"\x01" + b"\x22" * 31,))
    for name, expected in [
        ("CHAINID", 5),
        ("COINBASE", int.from_bytes(b"\x0c" * 20, "big")),
        ("NUMBER", 1000),
        ("TIMESTAMP", 1234),
        ("GASLIMIT", 99),
        ("PREVRANDAO", int.from_bytes(b"\x01" * 32, "big")),
        ("BASEFEE", 7),
        ("BLOBBASEFEE", 3),
        ("GASPRICE", 11),
    ]:
        assert run(compute(name), env=env, tx=tx).word == expected, name
    assert run(compute(0, "BLOBHASH"), env=env, tx=tx).word == int.from_bytes(b"\x01" + b"\x22" * 31, "big")
    assert run(compute(1, "BLOBHASH"), env=env, tx=tx).word == 0
    assert run(compute(999, "BLOCKHASH"), env=env, tx=tx).word == 999
    assert run(compute(744, "BLOCKHASH"), env=env, tx=tx).word == 744  # 256 back
    assert run(compute(743, "BLOCKHASH"), env=env, tx=tx).word == 0  # 257 back
    assert run(compute(1000, "BLOCKHASH"), env=env, tx=tx).word == 0  # current block


def test_keccak():
    r = run(ops(0xAB, 0, "MSTORE8", 1, 0, "KECCAK256") + ops(0, "MSTORE", 32, 0, "RETURN"))
    assert r.output == keccak(b"\xab")
    assert run(compute(0, 0, "KECCAK256")).output == keccak(b"")
    assert run(ops(0, 0, "KECCAK256")).used == 2 + 2 + 30


# ------------------------------------------------------------------ control flow
def test_jumps():
    code = ops(4, "JUMP", "INVALID", "JUMPDEST", 42) + ops(0, "MSTORE", 32, 0, "RETURN")
    assert run(code).word == 42
    assert run(ops(3, "JUMP", "INVALID")).result.error == "InvalidJump"
    assert run(bytes.fromhex("6004565b5b")).status == "success"  # lands on the JUMPDEST at 4
    # JUMPDEST inside PUSH data is not a destination
    assert run(bytes.fromhex("600356605b00")).result.error == "InvalidJump"
    assert run(ops(100, "JUMP")).result.error == "InvalidJump"
    assert run(ops(0, 100, "JUMPI", 1) + ops(0, "MSTORE", 32, 0, "RETURN")).word == 1  # not taken
    assert run(ops("PC", "PC", "ADD") + ops(0, "MSTORE", 32, 0, "RETURN")).word == 1


def test_gas_opcode():
    r = run(compute("GAS"), gas=1000)
    assert r.word == 1000 - 2


# ------------------------------------------------------------------ logs and storage
def test_logs():
    r = run(ops(0xAA, 0, "MSTORE", 1, 2, 32, 0, "LOG2"))
    assert r.state.logs == [(CONTRACT, ((2).to_bytes(32, "big"), (1).to_bytes(32, "big")), (0xAA).to_bytes(32, "big"))]
    assert r.used == 3 + 2 + 6 + 3 + 3 + 3 + 2 + 375 * 3 + 8 * 32
    r = run(ops(0, 0, "LOG0"), static=True)
    assert r.result.error == "WriteInStaticContext" and r.state.logs == []


def test_storage_and_transient():
    r = run(ops(5, 1, "SSTORE", 1, "SLOAD") + ops(0, "MSTORE", 32, 0, "RETURN"))
    assert r.word == 5 and r.state.get_storage(CONTRACT, 1) == 5
    r = run(ops(6, 1, "TSTORE", 1, "TLOAD") + ops(0, "MSTORE", 32, 0, "RETURN"))
    assert r.word == 6 and r.used == 3 + 3 + 100 + 3 + 100 + 2 + 6 + 3 + 2
    assert run(ops(1, 1, "TSTORE"), static=True).result.error == "WriteInStaticContext"
    assert run(ops(1, 1, "SSTORE"), static=True).result.error == "WriteInStaticContext"
    assert run(compute(1, "TLOAD"), static=True).word == 0
    assert run(ops(1, 1, "TSTORE"), fork=Fork.SHANGHAI).result.error == "InvalidOpcode"


# ------------------------------------------------------------------ errors are results
@pytest.mark.parametrize(
    "code,error",
    [
        (ops("ADD"), "StackUnderflow"),
        (ops(1) + b"\x80" * 1024, "StackOverflow"),
        (ops(1, "JUMP"), "InvalidJump"),
        (bytes.fromhex("fe"), "InvalidOpcode"),
        (bytes.fromhex("0c"), "InvalidOpcode"),
        (ops(1, 1, 0, "RETURNDATACOPY"), "ReturnDataOutOfBounds"),
        (ops(0, 1, 0, "RETURNDATACOPY"), "ReturnDataOutOfBounds"),  # offset past the end even for size 0
        (ops(1, 2**255, "MSTORE"), "OutOfGas"),
    ],
)
def test_errors_are_results(code, error):
    r = run(code)
    assert r.status == "error" and r.result.error == error and r.result.gas_left == 0 and r.output == b""


def test_stack_limit_exactly_1024_is_fine():
    assert run(ops(1) + b"\x80" * 1023).status == "success"


def test_revert_keeps_gas_and_output_and_undoes_state():
    r = run(ops(7, 0, "SSTORE", 0xBEEF, 0, "MSTORE", 2, 30, "REVERT"))
    assert r.status == "revert" and r.output == b"\xbe\xef" and r.result.gas_left > 0
    assert r.state.get_storage(CONTRACT, 0) == 0


def test_out_of_gas_exact_boundary():
    code = ops(1, 2, "ADD")
    assert run(code, gas=9).status == "success"
    assert run(code, gas=8).result.error == "OutOfGas"
