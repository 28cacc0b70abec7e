"""Conformance vectors from the EEST / ethereum-tests state tests that exercise precompiles.

Each vector is a state test whose target contract only does simple work around calls to
precompiles (copy calldata, CALL a precompile, store success / return data / gas figures). A tiny
EVM below runs that contract with our precompiles and compares the resulting storage with the
fixture's post state. The vectors are distilled from the fixtures by
``tests/fixtures/precompiles/make_vectors.py`` into ``vectors.json.gz``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from evm.precompiles import is_precompile, precompiles_for
from evm.spec import Fork

VECTORS = Path(__file__).parent / "fixtures" / "precompiles" / "vectors.json.gz"
M256 = 2**256 - 1


class Unsupported(Exception):
    """The contract does something this mini-EVM does not model."""


class Halt(Exception):
    pass


def _mem_cost(words: int) -> int:
    return 3 * words + words * words // 512


class MiniEVM:
    """Just enough EVM (gas-accurate for the opcodes it knows) for precompile-calling contracts."""

    def __init__(
        self, fork: Fork, code: bytes, calldata: bytes, gas: int, storage: dict[int, int], value: int, warm: set[bytes]
    ):
        self.fork, self.code, self.calldata, self.gas = fork, code, calldata, gas
        self.storage, self.original = dict(storage), dict(storage)
        self.value, self.warm, self.warm_slots = value, set(warm), set()
        self.mem = bytearray()
        self.stack: list[int] = []
        self.ret = b""
        self.precompiles = precompiles_for(fork)
        self.warm |= set(self.precompiles)  # precompiles are warm from the start (EIP-2929)

    def use(self, n: int) -> None:
        if n > self.gas:
            raise Halt("out of gas")
        self.gas -= n

    def expand(self, off: int, size: int) -> None:
        if size == 0:
            return
        if off + size > 2**32:
            raise Halt("memory too large")
        new_words = (off + size + 31) // 32
        old_words = len(self.mem) // 32
        if new_words > old_words:
            self.use(_mem_cost(new_words) - _mem_cost(old_words))
            self.mem.extend(b"\x00" * ((new_words - old_words) * 32))

    def pop(self) -> int:
        if not self.stack:
            raise Halt("stack underflow")
        return self.stack.pop()

    def call(self, op: int) -> None:
        gas_req, addr = self.pop(), self.pop()
        value = self.pop() if op in (0xF1, 0xF2) else 0
        a_off, a_size, r_off, r_size = self.pop(), self.pop(), self.pop(), self.pop()
        address = (addr & (2**160 - 1)).to_bytes(20, "big")
        cold = address not in self.warm
        self.warm.add(address)
        cost = 2600 if cold else 100
        if value:
            cost += 9000
        self.use(cost)
        self.expand(a_off, a_size)
        self.expand(r_off, r_size)
        avail = self.gas
        passed = min(gas_req, avail - avail // 64)
        self.use(passed)
        if value:
            passed += 2300
        data = bytes(self.mem[a_off : a_off + a_size])
        fn = self.precompiles.get(address)
        if fn is None:
            if not is_precompile(address, self.fork) and address in self.code_accounts:
                raise Unsupported("call to a contract")
            self.ret, success, left = b"", 1, passed
        else:
            res = fn(data, passed, self.fork)
            assert 0 <= res.gas_used <= passed
            success = int(res.success)
            left = passed - res.gas_used if res.success else 0
            self.ret = res.output if res.success else b""
        self.gas += left
        out = self.ret[:r_size]
        self.mem[r_off : r_off + len(out)] = out
        self.stack.append(success)

    def run(self) -> None:
        code, pc = self.code, 0
        jumpdests = set()
        i = 0
        while i < len(code):
            if code[i] == 0x5B:
                jumpdests.add(i)
            i += 1 + (code[i] - 0x5F if 0x60 <= code[i] <= 0x7F else 0)
        while pc < len(code):
            op = code[pc]
            pc += 1
            st = self.stack
            if 0x60 <= op <= 0x7F:
                n = op - 0x5F
                self.use(3)
                st.append(int.from_bytes(code[pc : pc + n].ljust(n, b"\x00"), "big"))
                pc += n
            elif op == 0x5F:
                self.use(2)
                st.append(0)
            elif 0x80 <= op <= 0x8F:
                self.use(3)
                if len(st) < op - 0x7F:
                    raise Halt("underflow")
                st.append(st[-(op - 0x7F)])
            elif 0x90 <= op <= 0x9F:
                self.use(3)
                n = op - 0x8F
                if len(st) <= n:
                    raise Halt("underflow")
                st[-1], st[-1 - n] = st[-1 - n], st[-1]
            elif op == 0x00:
                return
            elif op in (0x01, 0x03, 0x10, 0x11, 0x14, 0x16, 0x17, 0x18):
                self.use(3)
                a, b = self.pop(), self.pop()
                st.append(
                    {
                        0x01: (a + b) & M256,
                        0x03: (a - b) & M256,
                        0x10: int(a < b),
                        0x11: int(a > b),
                        0x14: int(a == b),
                        0x16: a & b,
                        0x17: a | b,
                        0x18: a ^ b,
                    }[op]
                )
            elif op in (0x02, 0x04, 0x06):
                self.use(5)
                a, b = self.pop(), self.pop()
                st.append((a * b) & M256 if op == 0x02 else 0 if b == 0 else (a // b if op == 0x04 else a % b))
            elif op == 0x15:
                self.use(3)
                st.append(int(self.pop() == 0))
            elif op == 0x19:
                self.use(3)
                st.append(M256 ^ self.pop())
            elif op in (0x1B, 0x1C):
                self.use(3)
                s, v = self.pop(), self.pop()
                st.append(0 if s >= 256 else ((v << s) & M256 if op == 0x1B else v >> s))
            elif op == 0x20:
                off, size = self.pop(), self.pop()
                self.use(30 + 6 * ((size + 31) // 32))
                self.expand(off, size)
                st.append(int.from_bytes(keccak(bytes(self.mem[off : off + size])), "big"))
            elif op == 0x34:
                self.use(2)
                st.append(self.value)
            elif op == 0x35:
                self.use(3)
                off = self.pop()
                st.append(
                    int.from_bytes(self.calldata[off : off + 32].ljust(32, b"\x00"), "big")
                    if off < len(self.calldata)
                    else 0
                )
            elif op == 0x36:
                self.use(2)
                st.append(len(self.calldata))
            elif op == 0x3D:
                self.use(2)
                st.append(len(self.ret))
            elif op in (0x37, 0x3E):
                d, s, n = self.pop(), self.pop(), self.pop()
                self.use(3 + 3 * ((n + 31) // 32))
                src = self.calldata if op == 0x37 else self.ret
                if op == 0x3E and s + n > len(src):
                    raise Halt("returndata out of bounds")
                self.expand(d, n)
                self.mem[d : d + n] = (src[s : s + n] if s < len(src) else b"").ljust(n, b"\x00")
            elif op == 0x50:
                self.use(2)
                self.pop()
            elif op == 0x51:
                self.use(3)
                off = self.pop()
                self.expand(off, 32)
                st.append(int.from_bytes(self.mem[off : off + 32], "big"))
            elif op in (0x52, 0x53):
                self.use(3)
                off, v = self.pop(), self.pop()
                if op == 0x52:
                    self.expand(off, 32)
                    self.mem[off : off + 32] = v.to_bytes(32, "big")
                else:
                    self.expand(off, 1)
                    self.mem[off] = v & 0xFF
            elif op == 0x54:
                slot = self.pop()
                self.use(100 if slot in self.warm_slots else 2100)
                self.warm_slots.add(slot)
                st.append(self.storage.get(slot, 0))
            elif op == 0x55:
                slot, v = self.pop(), self.pop()
                if self.gas <= 2300:
                    raise Halt("sstore stipend")
                cost = 0 if slot in self.warm_slots else 2100
                self.warm_slots.add(slot)
                cur, orig = self.storage.get(slot, 0), self.original.get(slot, 0)
                if cur == v or orig != cur:
                    cost += 100
                else:
                    cost += 20000 if orig == 0 else 2900
                self.use(cost)
                self.storage[slot] = v
            elif op in (0x56, 0x57):
                self.use(8 if op == 0x56 else 10)
                dest = self.pop()
                if op == 0x57 and self.pop() == 0:
                    continue
                if dest not in jumpdests:
                    raise Halt("bad jump")
                pc = dest
            elif op == 0x5B:
                self.use(1)
            elif op == 0x58:
                self.use(2)
                st.append(pc - 1)
            elif op == 0x59:
                self.use(2)
                st.append(len(self.mem))
            elif op == 0x5A:
                self.use(2)
                st.append(self.gas)
            elif op in (0xF1, 0xF2, 0xF4, 0xFA):
                self.call(op)
            elif op in (0xF3, 0xFD):
                off, size = self.pop(), self.pop()
                self.expand(off, size)
                if op == 0xFD:
                    raise Halt("revert")
                return
            elif op == 0xFE:
                raise Halt("invalid")
            else:
                raise Unsupported(f"opcode {op:#x}")
            if len(st) > 1024:
                raise Halt("stack overflow")


def run_vector(v: dict) -> dict[int, int]:
    fork = Fork.from_name(v["fork"])
    storage = {int(k, 16): int(x, 16) for k, x in v["storage"].items()}
    warm = {bytes.fromhex(a) for a in v["warm"]}
    evm = MiniEVM(fork, bytes.fromhex(v["code"]), bytes.fromhex(v["data"]), v["gas"], storage, v["value"], warm)
    evm.code_accounts = {bytes.fromhex(a) for a in v["code_accounts"]}
    try:
        evm.run()
    except Halt:
        return {k: x for k, x in storage.items() if x}
    return {k: x for k, x in evm.storage.items() if x}


def _load() -> list[dict]:
    if not VECTORS.exists():
        return []
    with gzip.open(VECTORS, "rt") as f:
        return json.load(f)


ALL_VECTORS = _load()


def test_vectors_present():
    assert len(ALL_VECTORS) > 500
    families = {v["family"] for v in ALL_VECTORS}
    assert {"bls12_381", "p256verify", "modexp", "point_evaluation", "bn254"} <= families


@pytest.mark.parametrize("v", ALL_VECTORS, ids=[v["id"] for v in ALL_VECTORS])
def test_fixture_vector(v):
    expected = {int(k, 16): int(x, 16) for k, x in v["expected"].items()}
    try:
        actual = run_vector(v)
    except Unsupported as e:
        pytest.skip(str(e))
    assert actual == {k: x for k, x in expected.items() if x}
