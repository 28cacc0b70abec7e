"""Worst-case contract shapes for compile time (bench/compile_time.py --shapes): one opcode (or a
short idiom) repeated up to a size, for each class of instruction, plus JUMPDEST floods, many
small blocks, static and dynamic jump tables and precompile calls: what the execution-spec-tests
benchmark blocks deploy to hurt a JIT. Each shape keeps the stack within bounds, so the code runs."""

from __future__ import annotations

from collections.abc import Callable

MAX_CODE = 24_576  # EIP-170


def _rep(prefix: bytes, body: bytes, size: int, suffix: bytes = b"") -> bytes:
    n = max(1, (size - len(prefix) - len(suffix)) // len(body))
    return prefix + body * n + suffix


def _static_jumps(size: int) -> bytes:
    # PUSH2 next JUMP JUMPDEST, chained: every block jumps to the next one
    return b"".join(bytes([0x61, (p + 4) >> 8 & 0xFF, (p + 4) & 0xFF, 0x56, 0x5B]) for p in range(0, size - 5, 5))


def _precompile_calls(size: int) -> bytes:
    # STATICCALL(gas, 0x01..0x0a, 0, 0, 0, 0); POP, cycling over the precompiles
    body = b"".join(b"\x5f\x5f\x5f\x5f" + bytes([0x60, a]) + b"\x5a\xfa\x50" for a in range(1, 11))
    return _rep(b"", body, size)


def _precompile_loop(size: int) -> bytes:
    # many small loops, each calling IDENTITY and SHA256 16 times: JUMPDEST-headed blocks with a
    # backward JUMPI, as the benchmark's precompile families do
    out = bytearray()
    while len(out) + 40 <= size:
        head = len(out)
        out += b"\x60\x10"  # counter
        loop = len(out)
        out += b"\x5b"
        out += b"\x5f\x5f\x5f\x5f\x60\x04\x5a\xfa\x50"  # STATICCALL IDENTITY
        out += b"\x5f\x5f\x5f\x5f\x60\x02\x5a\xfa\x50"  # STATICCALL SHA256
        out += b"\x60\x01\x90\x03\x80"  # counter - 1, DUP
        out += bytes([0x61, loop >> 8, loop & 0xFF, 0x57, 0x50])  # JUMPI back while non-zero; POP
        assert len(out) - head <= 40
    return bytes(out)


def _dispatcher(size: int) -> bytes:
    # a Solidity-style selector table: CALLDATALOAD(0) >> 224, then DUP1 PUSH4 sel EQ PUSH2 dest JUMPI per
    # entry (11 bytes), then one JUMPDEST PUSH0 PUSH0 RETURN target (4 bytes) per entry
    head = b"\x5f\x35\x60\xe0\x1c"
    n = (size - len(head) - 1) // 15
    start = len(head) + 11 * n + 1  # after the table and its fall-through STOP
    table = b"".join(
        b"\x80\x63" + (0x10000000 + i).to_bytes(4, "big") + b"\x14\x61" + (start + 4 * i).to_bytes(2, "big") + b"\x57"
        for i in range(n)
    )
    return head + table + b"\x00" + b"\x5b\x5f\x5f\xf3" * n


SHAPES: dict[str, Callable[[int], bytes]] = {
    # arithmetic (one result feeds the next)
    "add_chain": lambda n: _rep(b"\x36", b"\x80\x01", n),
    "mul_chain": lambda n: _rep(b"\x36", b"\x80\x02", n),
    "div_chain": lambda n: _rep(b"\x36", b"\x80\x04", n),
    "mulmod_chain": lambda n: _rep(b"\x36\x80", b"\x81\x82\x09", n),
    "addmod_chain": lambda n: _rep(b"\x36\x80", b"\x81\x82\x08", n),
    "sdiv_chain": lambda n: _rep(b"\x36", b"\x80\x05", n),
    "smod_chain": lambda n: _rep(b"\x36", b"\x80\x07", n),
    "exp_chain": lambda n: _rep(b"\x36", b"\x80\x0a", n),
    "signext_chain": lambda n: _rep(b"\x36", b"\x80\x0b", n),
    "push32_add": lambda n: _rep(b"\x36", b"\x7f" + b"\x11" * 32 + b"\x01", n),
    # comparison and bitwise
    "not_chain": lambda n: _rep(b"\x36", b"\x19", n),
    "byte_chain": lambda n: _rep(b"\x36", b"\x80\x1a", n),
    "shl_chain": lambda n: _rep(b"\x36", b"\x80\x1b", n),
    "lt_iszero": lambda n: _rep(b"\x36", b"\x80\x10\x15", n),
    "eq_chain": lambda n: _rep(b"\x36", b"\x80\x14", n),
    "sar_chain": lambda n: _rep(b"\x36", b"\x80\x1d", n),
    # stack
    "dup_swap": lambda n: _rep(b"\x36" * 16, b"\x8f\x9f", n),
    # KECCAK256
    "keccak": lambda n: _rep(b"\x5f", b"\x80\x5f\x20\x50", n),
    # environment and block
    "address_seq": lambda n: _rep(b"", b"\x30\x50", n),
    "caller_seq": lambda n: _rep(b"", b"\x33\x50", n),
    "calldataload_chain": lambda n: _rep(b"\x5f", b"\x35", n),
    "blockhash_chain": lambda n: _rep(b"\x5f", b"\x40", n),
    # accounts
    "balance_chain": lambda n: _rep(b"\x5f", b"\x31", n),
    "extcodesize_chain": lambda n: _rep(b"\x5f", b"\x3b", n),
    "extcodehash_chain": lambda n: _rep(b"\x5f", b"\x3f", n),
    "extcodecopy_seq": lambda n: _rep(b"", b"\x60\x20\x5f\x5f\x30\x3c", n),  # EXTCODECOPY(ADDRESS, 0, 0, 32)
    "selfbalance_seq": lambda n: _rep(b"", b"\x47\x50", n),
    # memory and copies
    "mload_chain": lambda n: _rep(b"\x5f", b"\x51", n),
    "mstore_seq": lambda n: _rep(b"", b"\x36\x80\x52", n),
    "calldatacopy_seq": lambda n: _rep(b"", b"\x36\x5f\x5f\x37", n),
    "returndatacopy_seq": lambda n: _rep(b"", b"\x5f\x5f\x5f\x3e", n),
    "codecopy_seq": lambda n: _rep(b"", b"\x60\x20\x5f\x5f\x39", n),  # CODECOPY(0, 0, 32)
    "mcopy_seq": lambda n: _rep(b"", b"\x60\x20\x5f\x60\x20\x5e", n),  # MCOPY(32, 0, 32)
    # storage and transient storage
    "sload_chain": lambda n: _rep(b"\x5f", b"\x54", n),
    "sstore_seq": lambda n: _rep(b"", b"\x36\x5f\x55", n),
    "tload_chain": lambda n: _rep(b"\x5f", b"\x5c", n),
    "tstore_seq": lambda n: _rep(b"", b"\x36\x5f\x5d", n),
    # logs
    "log0_seq": lambda n: _rep(b"", b"\x5f\x5f\xa0", n),
    "log4_seq": lambda n: _rep(b"", b"\x36\x36\x36\x36\x60\x20\x5f\xa4", n),  # LOG4(0, 32, 4 topics)
    # control flow
    "jumpdest_flood": lambda n: _rep(b"", b"\x5b", n),
    "small_blocks_jumpi": lambda n: _rep(b"", b"\x5b\x5f\x5f\x57", n),
    "static_jumps": _static_jumps,
    "dispatcher": _dispatcher,
    "dyn_jumps": lambda n: _rep(b"\x5f", b"\x5b\x58\x60\x06\x01\x56", n),  # JUMPDEST PC PUSH1 6 ADD JUMP
    # calls
    "precompile_calls": _precompile_calls,
    "precompile_loop": _precompile_loop,
    "call_value": lambda n: _rep(b"", b"\x5f\x5f\x5f\x5f\x60\x01\x60\x04\x5a\xf1\x50", n),
}


def shape(name: str, size: int = MAX_CODE) -> bytes:
    code = SHAPES[name](size)
    assert len(code) <= size, (name, len(code), size)
    return code


def _jumpdest_dyn_loop(size: int) -> bytes:
    # the standard benchmark's loop_with_many_jumpdests: a loop whose dynamic JUMPI lands in a
    # flood of JUMPDESTs (every one a possible target)
    head = bytes.fromhex("600f600019600035801561014502175b")[:-1]
    tail = bytes.fromhex("8101808357")
    return head + b"\x5b" * max(1, size - len(head) - len(tail)) + tail


SHAPES["jumpdest_dyn_loop"] = _jumpdest_dyn_loop
