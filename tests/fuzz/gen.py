"""Structured random EVM programs and transactions for differential fuzzing.

A *case* is plain JSON (so a divergence can be saved and replayed as a regression test):

    {"fork": "Osaka", "env": {...}, "pre": {"0x..": {"nonce", "balance", "code", "storage"}},
     "key": "<sender private key hex>", "tx": {...}}

Programs are "valid-ish": a sequence of basic blocks, each starting with a JUMPDEST, made of
snippets that push their operands and then run one operation (arithmetic on boundary values,
memory ops at modest offsets, SLOAD/SSTORE/TLOAD/TSTORE on a few slots, LOGs, CALL* to the other
generated contracts, to precompiles and to empty accounts, CREATE/CREATE2 of small init codes,
environment reads, conditional and unconditional jumps to real JUMPDESTs), ending in STOP,
RETURN, REVERT, SELFDESTRUCT or an invalid opcode. Results are often stored (SSTORE/MSTORE) so
that a wrong value shows up in the state root or the output.
"""

from __future__ import annotations

import random

import rlp
from coincurve import PrivateKey
from eth_hash.auto import keccak

FORKS = ("Cancun", "Prague", "Osaka")
CONTRACTS = [bytes.fromhex(f"c0{i:02x}" + "00" * 17 + f"{i:02x}") for i in range(1, 5)]
EOAS = [bytes.fromhex(f"e0{i:02x}" + "00" * 17 + f"{i:02x}") for i in range(1, 3)]
EMPTY = [bytes.fromhex(f"dead{i:02x}" + "00" * 16 + f"{i:02x}") for i in range(1, 3)]


def precompiles(fork: str) -> list[int]:
    ps = list(range(1, 11))  # ecrecover .. point evaluation (Cancun)
    if fork in ("Prague", "Osaka"):
        ps += list(range(0x0B, 0x12))  # BLS12-381
    if fork == "Osaka":
        ps.append(0x100)  # P256VERIFY
    return ps


WORDS = [
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    33,
    63,
    64,
    255,
    256,
    2**63,
    2**64 - 1,
    2**128,
    2**255 - 1,
    2**255,
    2**256 - 2,
    2**256 - 1,
    0x1234567890ABCDEF,
]

BINARY = [
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x0A,
    0x0B,
    0x10,
    0x11,
    0x12,
    0x13,
    0x14,
    0x16,
    0x17,
    0x18,
    0x1A,
    0x1B,
    0x1C,
    0x1D,
]
TERNARY = [0x08, 0x09]
UNARY = [0x15, 0x19]
NULLARY = [
    0x30,
    0x32,
    0x33,
    0x34,
    0x36,
    0x38,
    0x3A,
    0x3D,
    0x41,
    0x42,
    0x43,
    0x44,
    0x45,
    0x46,
    0x47,
    0x48,
    0x4A,
    0x58,
    0x59,
    0x5A,
]
ADDR_UNARY = [0x31, 0x3B, 0x3F]  # BALANCE, EXTCODESIZE, EXTCODEHASH


LOOP_SLOT = 0xC0FFEE
RESULTS_BASE = 0x1000  # memory area of stored results (other snippets use lower offsets)
DIGEST_SLOT = 0xD16E57
# opcodes that need no particular operands to be interesting in random sequences
RAW_POOL = [
    0x00,
    0x01,
    0x02,
    0x03,
    0x10,
    0x15,
    0x19,
    0x1B,
    0x1D,
    0x30,
    0x33,
    0x34,
    0x35,
    0x36,
    0x3D,
    0x3E,
    0x43,
    0x47,
    0x50,
    0x51,
    0x52,
    0x54,
    0x55,
    0x56,
    0x57,
    0x58,
    0x59,
    0x5A,
    0x5B,
    0x5C,
    0x5D,
    0x5F,
    0x60,
    0x61,
    0x7F,
    0x80,
    0x81,
    0x8F,
    0x90,
    0x9F,
    0xA0,
    0xF0,
    0xF1,
    0xF3,
    0xFA,
    0xFD,
    0xFE,
    0xFF,
]


def push(v: int) -> bytes:
    v &= 2**256 - 1
    if v == 0:
        return b"\x5f"
    n = (v.bit_length() + 7) // 8
    return bytes([0x5F + n]) + v.to_bytes(n, "big")


class Program:
    """Bytecode with symbolic jump targets: blocks are concatenated, then targets patched."""

    def __init__(self) -> None:
        self.blocks: list[bytearray] = []
        self.fixups: list[tuple[int, int, int]] = []  # (block, offset of PUSH2 data, target block)

    def new_block(self) -> bytearray:
        b = bytearray(b"\x5b")
        self.blocks.append(b)
        return b

    def jump_to(self, target: int, conditional: bool) -> None:
        b = self.blocks[-1]
        self.fixups.append((len(self.blocks) - 1, len(b) + 1, target))
        b += b"\x61\x00\x00" + (b"\x57" if conditional else b"\x56")

    def assemble(self) -> bytes:
        starts, pos = [], 0
        for b in self.blocks:
            starts.append(pos)
            pos += len(b)
        out = bytearray(b"".join(self.blocks))
        for block, off, target in self.fixups:
            dest = starts[target] if target < len(starts) else pos  # past the end: invalid jump
            p = starts[block] + off
            out[p : p + 2] = dest.to_bytes(2, "big")
        return bytes(out)


class Gen:
    def __init__(self, rng: random.Random, fork: str) -> None:
        self.r = rng
        self.fork = fork
        self.results = 0  # results kept in the program's result area (see store_result)

    # ---- operands -------------------------------------------------------------------------
    def word(self) -> int:
        r = self.r.random()
        if r < 0.6:
            return self.r.choice(WORDS)
        if r < 0.8:
            return self.r.randrange(256)
        return self.r.getrandbits(self.r.choice([8, 16, 64, 160, 256]))

    def offset(self) -> int:
        r = self.r.random()
        if r < 0.993:
            return self.r.choice([0, 0, 1, 31, 32, 64, 100, 128, 200, 256, 500, 1000])
        return self.r.choice([2**32, 2**64, 2**255, 2**256 - 1, 10**7, 0xFFFFFFFF])  # huge: out of gas

    def size(self) -> int:
        r = self.r.random()
        if r < 0.993:
            return self.r.choice([0, 1, 4, 20, 32, 33, 64, 96, 128, 200])
        return self.r.choice([2**32, 2**64, 2**256 - 1, 10**6])

    def address(self) -> int:
        r = self.r.random()
        if r < 0.5:
            a = self.r.choice(CONTRACTS)
        elif r < 0.7:
            return self.r.choice(precompiles(self.fork) + [0x12, 0x13])
        elif r < 0.8:
            a = self.r.choice(EOAS + EMPTY)
        elif r < 0.87:
            a = self.r.choice(AUTHORITIES)  # maybe EIP-7702-delegated
        else:
            return self.r.choice([0, 0xFFFF, self.r.getrandbits(160)])
        return int.from_bytes(a, "big")

    def slot(self) -> int:
        return self.r.choice([0, 1, 2, 3, 4, 2**255])

    # ---- snippets -------------------------------------------------------------------------
    def snippet(self, b: bytearray, depth: int) -> None:
        r = self.r
        k = r.random()
        if r.random() < 0.2:
            k = 0.0  # arithmetic on boundary values, often stored: the most common snippet
        if k < 0.18:
            op = r.choice(BINARY)
            b += push(self.word()) + push(self.word()) + bytes([op])
            self.store_result(b)
        elif k < 0.22:
            b += push(self.word()) + push(self.word()) + push(self.word()) + bytes([r.choice(TERNARY)])
            self.store_result(b)
        elif k < 0.25:
            b += push(self.word()) + bytes([r.choice(UNARY)])
            self.store_result(b)
        elif k < 0.27 and self.fork == "Osaka":
            b += push(self.word()) + b"\x1e"  # CLZ (EIP-7939)
            self.store_result(b)
        elif k < 0.33:
            b += bytes([r.choice(NULLARY)])
            self.store_result(b)
        elif k < 0.36:
            b += push(self.address()) + bytes([r.choice(ADDR_UNARY)])
            self.store_result(b)
        elif k < 0.38:
            b += push(r.choice([0, 1, 2, 5, 900, 999, 1000, 744, 743])) + b"\x40"  # BLOCKHASH
            self.store_result(b)
        elif k < 0.40:
            b += push(r.choice([0, 1, 2, 2**255])) + b"\x49"  # BLOBHASH
            self.store_result(b)
        elif k < 0.45:  # MSTORE / MSTORE8 / MLOAD
            which = r.choice([0x52, 0x53, 0x51])
            if which == 0x51:
                b += push(self.offset()) + b"\x51"
                self.store_result(b)
            else:
                b += push(self.word()) + push(self.offset()) + bytes([which])
        elif k < 0.49:  # copies: CALLDATACOPY, CODECOPY, RETURNDATACOPY, MCOPY, EXTCODECOPY
            which = r.choice([0x37, 0x39, 0x5E, 0x3C, 0x37, 0x39, 0x5E, 0x3C, 0x3E])
            size = self.size() if r.random() < 0.3 else r.choice([0, 1, 32, 64])
            if which == 0x3E and r.random() < 0.8:
                size = r.choice([0, 1])
            src = r.choice([0, 1, 5, 32, 100]) if r.random() < 0.95 else self.offset()
            b += push(size) + push(src) + push(self.offset())
            if which == 0x3C:
                b += push(self.address())
            b += bytes([which])
        elif k < 0.51:  # KECCAK256
            b += push(r.choice([0, 1, 32, 64, 100])) + push(self.offset()) + b"\x20"
            self.store_result(b)
        elif k < 0.57:  # SSTORE / SLOAD
            if r.random() < 0.6:
                b += push(r.choice([0, 0, 1, 2, self.word()])) + push(self.slot()) + b"\x55"
            else:
                b += push(self.slot()) + b"\x54"
                self.store_result(b)
        elif k < 0.60:  # TSTORE / TLOAD
            if r.random() < 0.5:
                b += push(self.word()) + push(self.slot()) + b"\x5d"
            else:
                b += push(self.slot()) + b"\x5c"
                self.store_result(b)
        elif k < 0.63:  # LOGn
            n = r.randrange(5)
            for _ in range(n):
                b += push(self.word())
            b += push(r.choice([0, 1, 32, 40])) + push(r.choice([0, 0, 16, 64])) + bytes([0xA0 + n])
        elif k < 0.73:  # CALL*
            self.call(b)
        elif k < 0.77:  # CREATE / CREATE2
            self.create(b, depth)
        elif k < 0.82:  # stack shuffling on a few pushed values
            for _ in range(3):
                b += push(self.word())
            b += bytes([r.choice([0x80, 0x81, 0x82, 0x90, 0x91, 0x50])])
            b += b"\x50" * r.randrange(0, 3)
        elif k < 0.84:  # GAS, MSIZE, RETURNDATASIZE into memory / storage
            b += bytes([r.choice([0x5A, 0x59, 0x3D, 0x58])])
            self.store_result(b)
        elif k < 0.85 and r.random() < 0.3:  # a random byte (maybe invalid, maybe a stray PUSH)
            b.append(r.randrange(256))
        else:
            b += push(self.word()) + push(r.choice([0, 32, 64, 96])) + b"\x52"

    def store_result(self, b: bytearray) -> None:
        r = self.r.random()
        if r < 0.5:
            # each result gets its own word of the result area; the program digests the area
            # into storage before it ends, so any wrong value reaches the state root
            b += push(RESULTS_BASE + 32 * (self.results % 64)) + b"\x52"
            self.results += 1
        elif r < 0.75:
            b += push(self.r.choice([0, 1, 2, 3, 4, 5])) + b"\x55"  # SSTORE result
        elif r < 0.92:
            b += push(self.r.choice([0, 32, 64, 96, 128])) + b"\x52"  # MSTORE result
        else:
            b += b"\x50"  # POP

    def call(self, b: bytearray) -> None:
        r = self.r
        kind = r.choice([0xF1, 0xF1, 0xF2, 0xF4, 0xFA])
        # write some input (e.g. for precompiles) into memory first
        if r.random() < 0.5:
            b += push(self.word()) + push(r.choice([0, 32, 64])) + b"\x52"
        out_size, out_off = r.choice([0, 32, 64]), r.choice([0, 32, 128])
        in_size, in_off = r.choice([0, 4, 32, 64, 128, 192, 213]), r.choice([0, 0, 32])
        if r.random() < 0.03:
            in_off = self.offset()
        b += push(out_size) + push(out_off) + push(in_size) + push(in_off)
        if kind in (0xF1, 0xF2):
            b += push(r.choice([0, 0, 0, 1, 10**6]))
        b += push(self.address())
        b += b"\x5a" if r.random() < 0.5 else push(r.choice([0, 100, 2300, 5000, 30000, 100000]))
        b += bytes([kind])
        self.store_result(b)
        if r.random() < 0.3:  # look at the return data (within bounds, mostly)
            if r.random() < 0.9:
                b += b"\x3d" + push(0) + push(r.choice([0, 64])) + b"\x3e"
            else:
                b += push(r.choice([0, 1, 32])) + push(r.choice([0, 1])) + push(r.choice([0, 64])) + b"\x3e"

    def init_code(self, depth: int) -> bytes:
        """Small init code: maybe some storage and a call, then RETURN a runtime code, REVERT, or fail."""
        r = self.r
        runtime = self.simple_runtime()
        body = bytearray()
        for _ in range(r.randrange(0, 3)):
            if depth < 2 and r.random() < 0.2:
                self.create(body, depth + 1)
            else:
                b2 = bytearray()
                self.snippet_simple(b2)
                body += b2
        end = r.random()
        if end < 0.75:
            # CODECOPY the runtime (appended after the init code) to memory 0 and RETURN it
            n = len(runtime).to_bytes(2, "big")
            start = (len(body) + 13).to_bytes(2, "big")
            head = b"\x61" + n + b"\x61" + start + b"\x5f\x39" + b"\x61" + n + b"\x5f\xf3"
            return bytes(body) + head + runtime
        if end < 0.85:
            return bytes(body) + push(r.choice([0, 32])) + push(0) + b"\xfd"
        if end < 0.9:  # deploy code starting with 0xEF (EIP-3541) or a big code
            word = r.choice([0xEF << 248, 0xEF00 << 240])
            return bytes(body) + push(word) + push(0) + b"\x52" + push(r.choice([1, 2, 32])) + push(0) + b"\xf3"
        if end < 0.95:
            return bytes(body) + push(r.choice([24577, 24576, 0x6001])) + push(0) + b"\xf3"
        return bytes(body) + b"\xfe"

    def simple_runtime(self) -> bytes:
        r = self.r
        k = r.random()
        if k < 0.3:
            return b""
        if k < 0.6:  # store calldata word, return something
            return bytes.fromhex("5f35600155") + push(r.randrange(256)) + bytes.fromhex("5f5260205ff3")
        if k < 0.8:  # selfdestruct to caller
            return b"\x33\xff"
        return bytes.fromhex("60015f55") + b"\x00"

    def snippet_simple(self, b: bytearray) -> None:
        r = self.r
        k = r.random()
        if k < 0.4:
            b += push(self.word()) + push(self.slot()) + b"\x55"
        elif k < 0.6:
            b += push(self.word()) + push(self.slot()) + b"\x5d"
        elif k < 0.8:
            b += push(32) + push(0) + b"\xa0"
        else:
            b += push(0) + push(0) + push(0) + push(0) + push(0) + push(self.address()) + b"\x5a\xf1\x50"

    def create(self, b: bytearray, depth: int) -> None:
        r = self.r
        init = self.init_code(depth)
        if r.random() < 0.05:
            init = init + bytes(r.choice([49152, 49153]) - len(init)) if len(init) < 49152 else init
        # MSTORE the init code 32 bytes at a time at memory 0x400..
        base = 0x400
        for i in range(0, len(init), 32):
            chunk = init[i : i + 32].ljust(32, b"\x00")
            if any(chunk):
                b += push(int.from_bytes(chunk, "big")) + push(base + i) + b"\x52"
        two = r.random() < 0.5
        if two:
            b += push(r.choice([0, 1, 2**255]))
        b += push(len(init)) + push(base) + push(r.choice([0, 0, 0, 1, 10**6]))
        b += b"\xf5" if two else b"\xf0"
        k = r.random()
        if k < 0.35:
            # call the new contract (its runtime may SSTORE or SELFDESTRUCT: EIP-6780 same-tx rules)
            b += b"\x80"  # DUP1 the address
            b += push(0) + push(0) + push(r.choice([0, 32])) + push(0) + push(r.choice([0, 0, 1]))
            b += bytes([0x85]) + b"\x5a\xf1\x50"  # DUP6 (the address), GAS, CALL, POP
            self.store_result(b)
        elif k < 0.45 and two:
            # the same CREATE2 again: an address collision
            b += b"\x50" + push(0) + push(len(init)) + push(base) + push(0) + b"\xf5"
            self.store_result(b)
        else:
            self.store_result(b)

    # ---- whole programs ---------------------------------------------------------------------
    def program(self) -> bytes:
        r = self.r
        self.results = 0
        if r.random() < 0.06:  # unstructured: random bytes (truncated PUSHes, invalid opcodes, ...)
            n = r.randrange(1, 120)
            if r.random() < 0.5:
                return bytes(r.randrange(256) for _ in range(n))
            return bytes(r.choice(RAW_POOL) for _ in range(n))
        p = Program()
        nblocks = r.randrange(1, 6)
        for i in range(nblocks):
            b = p.new_block()
            for _ in range(r.randrange(1, 9)):
                self.snippet(b, 0)
            if i < nblocks - 1 and r.random() < 0.4:
                # forward jumps mostly; a backward jump is guarded by a condition
                target = r.randrange(i + 1, nblocks + (1 if r.random() < 0.05 else 0))
                cond = r.random() < 0.6
                if cond:
                    b += push(r.choice([0, 1])) if r.random() < 0.5 else b"\x5a"  # GAS as condition
                p.jump_to(target, cond)
            elif i > 0 and r.random() < 0.15:
                # a bounded loop back: counter in transient storage, at most k passes per tx
                k = r.choice([2, 3, 5])
                b += push(LOOP_SLOT) + b"\x5c" + push(1) + b"\x01\x80" + push(LOOP_SLOT) + b"\x5d"
                b += push(k) + b"\x11"  # k > counter
                p.jump_to(r.randrange(0, i), True)
            elif i > 0 and r.random() < 0.003:
                b += b"\x58"  # PC as the condition: loops until out of gas
                p.jump_to(r.randrange(0, i), True)
        b = p.blocks[-1]
        end = r.random()
        if self.results and (end < 0.45 or end >= 0.65):  # RETURN or STOP: digest the results
            b += push(32 * min(self.results, 64)) + push(RESULTS_BASE) + b"\x20" + push(DIGEST_SLOT) + b"\x55"
        if end < 0.45:
            b += push(r.choice([0, 32, 64, 160])) + push(0) + b"\xf3"  # RETURN
        elif end < 0.55:
            b += push(r.choice([0, 32, 64])) + push(0) + b"\xfd"  # REVERT
        elif end < 0.63:
            b += push(self.address()) + b"\xff"  # SELFDESTRUCT
        elif end < 0.65:
            b += b"\xfe"
        else:
            b += b"\x00"
        return p.assemble()


SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
AUTH_KEYS = [bytes([0xA0 + i]) * 32 for i in range(2)]


def _sign_auth(key: bytes, chain_id: int, address: bytes, nonce: int) -> dict:
    digest = keccak(b"\x05" + rlp.encode([chain_id, address, nonce]))
    sig = PrivateKey(key).sign_recoverable(digest, hasher=None)
    return {
        "chain_id": chain_id,
        "address": "0x" + address.hex(),
        "nonce": nonce,
        "y_parity": sig[64],
        "r": int.from_bytes(sig[:32], "big"),
        "s": int.from_bytes(sig[32:64], "big"),
    }


def address_of(key: bytes) -> bytes:
    return keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:]


AUTHORITIES = [address_of(k) for k in AUTH_KEYS]


def gen_case(rng: random.Random, fork: str | None = None) -> dict:
    fork = fork or rng.choice(FORKS + ("Osaka", "Prague"))
    g = Gen(rng, fork)
    key = bytes([1 + rng.randrange(200)]) * 32
    sender = address_of(key)
    auth_keys = AUTH_KEYS
    pre: dict[str, dict] = {}
    sender_nonce = rng.choice([0, 0, 1, 5])
    sender_balance = 10**20 if rng.random() < 0.9 else rng.choice([10**16, 3 * 10**5])
    pre["0x" + sender.hex()] = {"nonce": sender_nonce, "balance": sender_balance, "code": "", "storage": {}}
    for c in CONTRACTS[: rng.randrange(1, 5)]:
        storage = {
            hex(s): hex(rng.choice([1, 2, 2**256 - 1])) for s in rng.sample([0, 1, 2, 3, 4], rng.randrange(0, 3))
        }
        pre["0x" + c.hex()] = {
            "nonce": rng.choice([0, 1]),
            "balance": rng.choice([0, 1, 10**18]),
            "code": g.program().hex(),
            "storage": storage,
        }
    for e in EOAS[: rng.randrange(0, 3)]:
        pre["0x" + e.hex()] = {"nonce": 0, "balance": rng.choice([0, 1, 10**18]), "code": "", "storage": {}}
    for k in auth_keys:
        if rng.random() < 0.5:
            code = ""
            if rng.random() < 0.4:  # already delegated (EIP-7702 designator) to one of the contracts
                code = "ef0100" + rng.choice(CONTRACTS).hex()
            pre["0x" + address_of(k).hex()] = {
                "nonce": rng.choice([0, 1]),
                "balance": rng.choice([0, 10**18]),
                "code": code,
                "storage": {},
            }
    number = rng.choice([1000, 300, 5000])
    env = {
        "coinbase": "0x" + rng.choice([b"\xcb" * 20, CONTRACTS[0], EOAS[0], sender]).hex(),
        "number": number,
        "timestamp": rng.choice([1_700_000_000, 1_800_000_000]),
        "gas_limit": rng.choice([30_000_000, 60_000_000]),
        "base_fee": rng.choice([0, 7, 1000]),
        "prev_randao": "0x" + rng.getrandbits(256).to_bytes(32, "big").hex(),
        "excess_blob_gas": rng.choice([0, 0, 0, 10_000_000]),
        "chain_id": 1,
    }
    max_types = {"Cancun": 3, "Prague": 4, "Osaka": 4}[fork]
    ttype = rng.randrange(0, max_types + 1)
    contracts_present = [bytes.fromhex(a[2:]) for a in pre if bytes.fromhex(a[2:]) in CONTRACTS]
    r = rng.random()
    if ttype in (3, 4) or r < 0.8:
        extra = [EOAS[0], EMPTY[0], AUTHORITIES[0], AUTHORITIES[1], (1).to_bytes(20, "big"), (4).to_bytes(20, "big")]
        to = rng.choice(contracts_present + extra if rng.random() < 0.15 else contracts_present)
        to_hex = "0x" + to.hex()
        data = rng.getrandbits(8 * 36).to_bytes(36, "big") if rng.random() < 0.5 else bytes(rng.randrange(0, 40))
        if rng.random() < 0.08:  # calldata-heavy: the EIP-7623 floor decides the gas used
            n = rng.choice([1000, 4000, 20000])
            data = bytes(n) if rng.random() < 0.3 else rng.getrandbits(8 * n).to_bytes(n, "big")
    else:
        to_hex = None
        data = g.init_code(0)
        if rng.random() < 0.03:  # at / over the EIP-3860 initcode limit
            data = data + bytes(rng.choice([49152, 49153]) - len(data))
    gas = rng.choice([100_000, 300_000, 300_000, 1_000_000, 3_000_000] + ([30_000] if rng.random() < 0.1 else []))
    if rng.random() < 0.01:
        gas = env["gas_limit"] + rng.choice([0, 1])  # at / over the block gas limit
    if fork == "Osaka" and rng.random() < 0.02:
        gas = 2**24 + 1  # EIP-7825 cap
    tx: dict = {
        "type": ttype,
        "nonce": sender_nonce if rng.random() < 0.97 else sender_nonce + 1,
        "gas": gas,
        "to": to_hex,
        "value": rng.choice([0, 0, 1, 10**15]),
        "data": data.hex(),
        "chain_id": 1 if rng.random() < 0.98 else 2,
    }
    price = env["base_fee"] + rng.choice([0, 1, 10])
    if rng.random() < 0.02:
        price = max(0, env["base_fee"] - 1)
    if ttype < 2:
        tx["gas_price"] = price
        if ttype == 0 and rng.random() < 0.3:
            tx["chain_id"] = None  # pre-EIP-155 signature
    else:
        tx["max_fee_per_gas"] = price
        tx["max_priority_fee_per_gas"] = rng.choice(
            [0, min(1, price), price] + ([price + 1] if rng.random() < 0.05 else [])
        )
    if ttype >= 1:
        al = []
        for _ in range(rng.randrange(0, 3)):
            a = rng.choice(CONTRACTS + EOAS)
            al.append(["0x" + a.hex(), [rng.choice([0, 1, 2]) for _ in range(rng.randrange(0, 3))]])
        tx["access_list"] = al
    if ttype == 3:
        n = rng.choice([1, 1, 2, 3, 6] + ([7] if rng.random() < 0.1 else []))
        tx["blob_hashes"] = ["0x" + (b"\x01" + rng.getrandbits(248).to_bytes(31, "big")).hex() for _ in range(n)]
        if rng.random() < 0.03:
            tx["blob_hashes"][0] = "0x02" + tx["blob_hashes"][0][4:]
        tx["max_fee_per_blob_gas"] = rng.choice([1, 10**9, 10**10] if rng.random() < 0.95 else [0])
    if ttype == 4:
        auths = []
        for _ in range(rng.randrange(1, 4)):
            k = rng.choice(auth_keys + [key])
            signer = address_of(k)
            nonce = int(pre.get("0x" + signer.hex(), {}).get("nonce", 0))
            if k == key:
                nonce += 1  # the sender's nonce is incremented before authorizations apply
            if rng.random() < 0.15:
                nonce += 1
            target = rng.choice(contracts_present + [b"\x00" * 20, precompiles(fork)[0].to_bytes(20, "big")])
            auth = _sign_auth(k, rng.choice([1, 1, 1, 0, 5]), target, nonce)
            bad = rng.random()
            if bad < 0.03:
                auth["s"] = SECP256K1N - auth["s"]  # high s: invalid
                auth["y_parity"] ^= 1
            elif bad < 0.05:
                auth["y_parity"] = rng.choice([2, 27])
            elif bad < 0.07:
                auth["r"] = rng.choice([0, SECP256K1N])
            elif bad < 0.08:
                auth["nonce"] = 2**64 - 1
            elif bad < 0.09:
                auth["chain_id"] = 2**256 - 1
            auths.append(auth)
        tx["authorizations"] = auths
    return {"fork": fork, "env": env, "pre": pre, "key": key.hex(), "tx": tx}
