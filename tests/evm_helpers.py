"""Helpers for the EVM tests: a committed pre-state, one message call, small bytecode builders."""

from __future__ import annotations

import os
from dataclasses import dataclass

from eth_hash.auto import keccak

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT
from evm import execute
from evm.message import BlockEnv, ExecutionResult, Message, TxEnv
from evm.precompiles import precompiles_for
from evm.spec import Fork
from state.account import Account
from state.changes import StateChanges
from state.db import StateDB
from state.journal import JournaledState
from state.kv import MemoryStore

SENDER = bytes.fromhex("1000000000000000000000000000000000000001")
CONTRACT = bytes.fromhex("2000000000000000000000000000000000000002")
OTHER = bytes.fromhex("3000000000000000000000000000000000000003")
EMPTY = bytes.fromhex("4000000000000000000000000000000000000004")  # never touched


def addr(n: int) -> bytes:
    return n.to_bytes(20, "big")


def make_state(accounts: dict[bytes, dict] | None = None) -> JournaledState:
    """Committed pre-state from {address: {"code", "balance", "nonce", "storage"}} (an entry with
    only storage is an account with empty code, nonce and balance but a storage trie, as EIP-7610
    tests need), then a fresh transaction (original storage values are the committed ones)."""
    db = StateDB(MemoryStore())
    changes = StateChanges()
    for a, spec in (accounts or {}).items():
        code = spec.get("code", b"")
        code_hash = keccak(code) if code else EMPTY_CODE_HASH
        changes.accounts[a] = Account(spec.get("nonce", 0), spec.get("balance", 0), EMPTY_ROOT, code_hash)
        if code:
            changes.codes[code_hash] = code
        if spec.get("storage"):
            changes.storage[a] = dict(spec["storage"])
    db.root = db.apply(changes)
    state = JournaledState(db)
    state.begin_transaction()
    return state


@dataclass
class Run:
    result: ExecutionResult
    state: JournaledState
    gas: int

    @property
    def used(self) -> int:
        return self.gas - self.result.gas_left

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def output(self) -> bytes:
        return self.result.output

    @property
    def word(self) -> int:
        return int.from_bytes(self.result.output, "big")


def run(
    code: bytes | str,
    data: bytes = b"",
    *,
    gas: int = 1_000_000,
    fork: Fork = Fork.OSAKA,
    value: int = 0,
    accounts: dict[bytes, dict] | None = None,
    state: JournaledState | None = None,
    static: bool = False,
    env: BlockEnv | None = None,
    tx: TxEnv | None = None,
    warm: bool = True,
    backend: str | None = None,
    warm_addresses: tuple[bytes, ...] = (),
) -> Run:
    """Run `code` as CONTRACT called by SENDER (both warm, like after a transaction's setup).
    The backend defaults to $EVM_TEST_BACKEND (interpreter), so the same tests check the compiler."""
    backend = backend or os.environ.get("EVM_TEST_BACKEND", "interpreter")
    if isinstance(code, str):
        code = bytes.fromhex(code)
    accounts = dict(accounts or {})
    accounts.setdefault(SENDER, {"balance": 10**20})
    accounts.setdefault(CONTRACT, {})
    accounts[CONTRACT] = {**accounts[CONTRACT], "code": code}
    if state is None:
        state = make_state(accounts)
    env = env or BlockEnv(fork=fork)
    tx = tx or TxEnv(origin=SENDER)
    if warm:  # what the transaction's setup warms (EIP-2929, EIP-3651)
        state.warm_address(SENDER)
        state.warm_address(CONTRACT)
        for a in precompiles_for(env.fork):
            state.warm_address(a)
        if env.fork >= Fork.SHANGHAI:
            state.warm_address(env.coinbase)
    for a in warm_addresses:
        state.warm_address(a)
    msg = Message(
        caller=SENDER,
        target=CONTRACT,
        value=value,
        data=data,
        gas=gas,
        code=code,
        code_address=CONTRACT,
        is_static=static,
    )
    return Run(execute(msg, state, env, tx, backend), state, gas)


# --- bytecode builders -----------------------------------------------------------------------------
def push(v: int) -> bytes:
    if v == 0:
        return b"\x5f"
    n = (v.bit_length() + 7) // 8
    return bytes([0x5F + n]) + v.to_bytes(n, "big")


def push_n(v: int, n: int) -> bytes:
    return bytes([0x5F + n]) + v.to_bytes(n, "big")


def op(name: str) -> bytes:
    from evm.opcodes import BY_NAME

    return bytes([BY_NAME[name]])


def ops(*items) -> bytes:
    """ops(1, 2, "ADD") -> PUSH 1 PUSH 2 ADD: ints are pushed, strings are opcode names, 20-byte
    `bytes` are addresses (pushed as PUSH20), other bytes are inserted raw."""
    out = b""
    for it in items:
        if isinstance(it, int):
            out += push(it)
        elif isinstance(it, bytes) and len(it) == 20:
            out += push_n(int.from_bytes(it, "big"), 20)
        elif isinstance(it, str):
            out += op(it)
        else:
            out += it
    return out


def ret_top() -> bytes:
    """Return the top of the stack as one word."""
    return ops(0, "MSTORE", 32, 0, "RETURN")


def compute(*items) -> bytes:
    """Code computing items and returning the top word."""
    return ops(*items) + ret_top()


def table_program(opname: str, arity: int, values: list[int]) -> bytes:
    """Apply `opname` to every combination of values (pairs/triples from a rotating window),
    storing results in consecutive memory words, then return the memory."""
    code = b""
    i = 0
    for a in values:
        for b in values[:: 3 if arity == 3 else 1]:
            args = [a, b, values[(i * 7) % len(values)]][:arity]
            for v in reversed(args):
                code += push_n(v, 32)
            code += ops(opname, 32 * i, "MSTORE")
            i += 1
    return code + ops("MSIZE", 0, "RETURN")
