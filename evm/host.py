"""The host: everything an EVM frame needs from outside its own stack and memory.

One `Host` serves one top-level message (one transaction's execution). It holds the
`JournaledState`, the `Env`, the backend that runs frames and the fork's precompile table, and it
implements message calls and contract creation (the spec's `process_message_call`,
`process_message`, `process_create_message`, `generic_call`, `generic_create`) for *both*
backends: the interpreter calls these methods directly, compiled code calls them through ctypes
callbacks. Backends never touch the state except through this class.

Conventions (so that a compiled frame can use the same methods):
  * addresses are 20-byte `bytes`; words are Python ints in 0 .. 2**256-1;
  * the backend charges an opcode's *static* gas (evm/opcodes.py) and memory expansion itself;
  * methods named ``access_*`` warm an address/slot (EIP-2929) and return the *cold surcharge*
    (0 when already warm) that the backend must charge on top of the static warm cost;
  * methods that need the frame's gas (``sstore``, ``call``, ``create``, ``selfdestruct``) take
    ``gas_left`` and either return the extra cost to charge or a `CallOutcome` with the frame's
    new ``gas_left``;
  * errors are raised as `evm.errors.ExceptionalHalt` subclasses (OutOfGas,
    WriteInStaticContext, ...). The frame then fails: all its gas is consumed and the snapshot
    the host took for it undoes every state change the frame made, including changes a host
    method made just before the backend found it could not pay for them;
  * static-context checks for LOG/SSTORE/TSTORE/SELFDESTRUCT/CREATE* and CALL-with-value are the
    backend's job except where noted (``call`` and ``create`` check themselves).

Call depth: a message call is a Python recursion (frame -> host.call -> backend.run_frame ->
...). To make depth 1024 safe for both backends without raising the interpreter's recursion limit
or relying on the main thread's 8 MiB C stack, every `THREAD_SEGMENT_DEPTH` levels the child frame
runs on a fresh thread with a `THREAD_STACK_SIZE` stack while its parent thread waits (the stack
is "segmented"; only one thread runs at a time, so the state needs no locking).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from common import rlp
from common.keccak import keccak
from common.constants import EMPTY_CODE_HASH, MAX_NONCE


from . import gas as G
from .errors import (
    AddressCollision,
    CodeSizeExceeded,
    DepthLimit,
    ExceptionalHalt,
    InsufficientBalance,
    InvalidContractPrefix,
    OutOfGas,
    WriteInStaticContext,
)
from .message import Env, ExecutionResult, Message
from .precompiles import precompiles_for
from .rules import ForkRules
from .spec import Fork

# CALL kinds are the opcodes themselves.
CALL = 0xF1
CALLCODE = 0xF2
DELEGATECALL = 0xF4
STATICCALL = 0xFA

DELEGATION_PREFIX = b"\xef\x01\x00"  # EIP-7702 designator: 0xef0100 || address (23 bytes)
DELEGATION_LENGTH = 23

_CALL_NAMES = {CALL: "CALL", CALLCODE: "CALLCODE", DELEGATECALL: "DELEGATECALL", STATICCALL: "STATICCALL"}

THREAD_SEGMENT_DEPTH = 48
THREAD_STACK_SIZE = 256 * 1024 * 1024


@dataclass(slots=True)
class CallOutcome:
    """Result of a CALL*/CREATE* as the calling frame sees it.

    success: push 1 (or the new address for CREATE*) instead of 0.
    gas_left: the *calling* frame's gas after the call (its costs paid, the child's unused gas
        returned).
    output: the new return-data buffer of the caller (the child's output for calls; for creates
        b"" on success and the revert data on failure).
    address: the created address (CREATE* success only).
    """

    success: bool
    gas_left: int
    output: bytes = b""
    address: bytes | None = None


def is_delegation(code: bytes) -> bool:
    """EIP-7702 delegation designator?"""
    return len(code) == DELEGATION_LENGTH and code[:3] == DELEGATION_PREFIX


def create_address(sender: bytes, nonce: int) -> bytes:
    """CREATE: keccak(rlp([sender, nonce]))[12:]."""
    return keccak(rlp.encode([sender, nonce]))[12:]


def create2_address(sender: bytes, salt: int, init_code: bytes) -> bytes:
    """CREATE2 (EIP-1014): keccak(0xff || sender || salt || keccak(init_code))[12:]."""
    return keccak(b"\xff" + sender + salt.to_bytes(32, "big") + keccak(init_code))[12:]


class Host:
    """Shared host of both backends for one top-level message (see module docstring)."""

    tracer: Any = None  # an evm.tracing.Tracer when tracing (set by evm.execute): its hooks see every frame

    def __init__(self, state: Any, env: Env, backend: Any, precompiles: dict | None = None) -> None:
        self.state = state
        self.env = env
        self.rules: ForkRules = env.rules
        # The fork whose instruction set and precompiles run (a BPO fork runs Osaka's), which keys the
        # backends' per-fork tables and compiled code.
        self.fork: Fork = env.rules.evm
        self.backend = backend
        self.backend_name: str = getattr(backend, "name", type(backend).__name__)
        self.precompiles = precompiles_for(self.fork) if precompiles is None else precompiles

    # ================================================================ environment
    def block_hash(self, number: int) -> int:
        """BLOCKHASH: hash of one of the 256 most recent blocks, else 0."""
        current = self.env.number
        if number >= current or number < current - 256:
            return 0
        h = self.env.block_hash(number)
        return int.from_bytes(h, "big") if h else 0

    # ================================================================ accounts (EIP-2929)
    def access_account(self, address: bytes) -> int:
        """Warm `address`; return the cold surcharge (2500) if it was cold, else 0."""
        return G.COLD_ACCOUNT_SURCHARGE if self.state.warm_address(address) else 0

    def access_slot(self, address: bytes, slot: int) -> int:
        """Warm (address, slot); return the cold SLOAD surcharge (2000) if it was cold, else 0."""
        return G.COLD_SLOAD_SURCHARGE if self.state.warm_slot(address, slot) else 0

    def balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    def code(self, address: bytes) -> bytes:
        """Raw code as EXTCODESIZE/EXTCODECOPY see it (a delegation designator is *not*
        followed: they see its 23 bytes)."""
        return self.state.get_code(address)

    def code_hash(self, address: bytes) -> int:
        """EXTCODEHASH: 0 for a non-existent or empty account, else keccak of its raw code."""
        if self.state.is_empty(address):
            return 0
        return int.from_bytes(self.state.get_code_hash(address), "big")

    def resolve_code(self, address: bytes) -> tuple[bytes, bytes, bool, int]:
        """Code to *execute* when calling `address`: follows an EIP-7702 designator (Prague+).
        Returns (code_address, code, delegated, access_cost) where access_cost is the full
        warm/cold cost (100/2600) of the delegation target, 0 when not delegated."""
        code = self.state.get_code(address)
        if self.rules.delegation and is_delegation(code):
            target = code[3:]
            cost = G.G_COLD_ACCOUNT_ACCESS if self.state.warm_address(target) else G.G_WARM_ACCESS
            return target, self.state.get_code(target), True, cost
        return address, code, False, 0

    # ================================================================ storage
    def sload(self, address: bytes, slot: int) -> int:
        return self.state.get_storage(address, slot)

    def sstore(self, address: bytes, slot: int, value: int, gas_left: int) -> int:
        """SSTORE (EIP-2200/2929/3529): writes the slot, adjusts the refund counter and returns
        the whole gas cost (SSTORE's static gas is 0). Raises OutOfGas when gas_left <= 2300
        (EIP-2200 stipend rule) or when the cost exceeds gas_left (nothing is written then).
        The caller checks the static context first and subtracts the returned cost."""
        if gas_left <= G.G_CALL_STIPEND:
            raise OutOfGas()
        state = self.state
        cold = state.warm_slot(address, slot)
        current = state.get_storage(address, slot)
        original = state.get_original_storage(address, slot)
        cost, refund = G.sstore_cost(original, current, value, cold)
        if cost > gas_left:
            raise OutOfGas()
        if refund:
            state.add_refund(refund)
        if current != value:
            state.set_storage(address, slot, value)
        return cost

    def tload(self, address: bytes, slot: int) -> int:
        return self.state.get_transient(address, slot)

    def tstore(self, address: bytes, slot: int, value: int) -> None:
        self.state.set_transient(address, slot, value)

    # ================================================================ logs
    def log(self, address: bytes, topics: list[int], data: bytes) -> None:
        """LOGn: topics as stack words."""
        words = tuple(t.to_bytes(32, "big") for t in topics)
        self.state.add_log(address, words, bytes(data))
        if self.tracer is not None:
            self.tracer.log(address, words, bytes(data))

    # ================================================================ selfdestruct
    def selfdestruct(self, parent: Message, beneficiary: bytes, gas_left: int) -> int:
        """SELFDESTRUCT of `parent.target` in favour of `beneficiary`; returns the dynamic cost
        (cold surcharge 2600 + 25000 when value goes to a dead account) after checking it fits
        in `gas_left`. Before Cancun the account is always scheduled for deletion; from Cancun
        (EIP-6780) only when it was created in this transaction, otherwise only its balance
        moves. Raises OutOfGas / WriteInStaticContext."""
        state = self.state
        cost = G.G_COLD_ACCOUNT_ACCESS if state.warm_address(beneficiary) else 0
        originator = parent.target
        balance = state.get_balance(originator)
        if balance != 0 and not state.is_alive(beneficiary):
            cost += G.G_SELFDESTRUCT_NEW_ACCOUNT
        if cost > gas_left:
            raise OutOfGas()
        if parent.is_static:
            raise WriteInStaticContext()
        if balance:
            if beneficiary != originator:
                state.sub_balance(originator, balance)
                state.add_balance(beneficiary, balance)
        if not self.rules.selfdestruct_only_new or state.was_created(originator):
            if state.get_balance(originator):
                state.set_balance(originator, 0)
            state.mark_selfdestruct(originator)
        if self.tracer is not None:  # geth's tracers see a SELFDESTRUCT as a frame of its own
            self.tracer.enter("SELFDESTRUCT", originator, beneficiary, balance, 0, b"")
            self.tracer.exit(b"", 0, None, False)
        return cost

    # ================================================================ CALL*
    def call(
        self, parent: Message, kind: int, gas_left: int, gas: int, to: bytes, value: int, data: bytes
    ) -> CallOutcome:
        """CALL / CALLCODE / DELEGATECALL / STATICCALL (kind = the opcode) from frame `parent`.

        `gas_left` is the parent's gas after the opcode's static gas (the warm access cost, 100)
        and the memory expansion for both input and output ranges were charged. `gas` is the
        requested gas operand, `to` the address operand (the code source for CALLCODE and
        DELEGATECALL), `value` 0 for DELEGATECALL/STATICCALL, `data` the input bytes.
        Charges the cold surcharge, EIP-7702 delegation access, value and new-account costs and
        the 63/64 rule; runs the child; returns the parent's new gas and the return data.
        Raises OutOfGas, or WriteInStaticContext for a CALL with value in a static frame. The
        caller writes `output` into its memory (min(out_size, len(output)) bytes)."""
        state = self.state
        extra = G.COLD_ACCOUNT_SURCHARGE if state.warm_address(to) else 0
        code_address, code, delegated, delegation_cost = self.resolve_code(to)
        extra += delegation_cost
        transfers = kind == CALL or kind == CALLCODE
        if transfers and value:
            extra += G.G_CALL_VALUE
            if kind == CALL and not state.is_alive(to):
                extra += G.G_NEW_ACCOUNT
        child_gas = G.call_gas(gas, gas_left, extra)
        if child_gas is None:
            raise OutOfGas()
        gas_left -= extra + child_gas
        if kind == CALL and value and parent.is_static:
            raise WriteInStaticContext()
        if transfers and value:
            child_gas += G.G_CALL_STIPEND
        tracer = self.tracer
        if tracer is not None:
            if kind == DELEGATECALL:
                tracer.enter("DELEGATECALL", parent.target, to, parent.value, child_gas, bytes(data))
            else:
                tracer.enter(_CALL_NAMES[kind], parent.target, to, None if kind == STATICCALL else value, child_gas,
                             bytes(data))
        if transfers and value and state.get_balance(parent.target) < value:
            if tracer is not None:
                tracer.exit(b"", 0, "insufficient balance for transfer", True)
            return CallOutcome(False, gas_left + child_gas, b"")
        if parent.depth + 1 > G.CALL_DEPTH_LIMIT:
            if tracer is not None:
                tracer.exit(b"", 0, "max call depth exceeded", True)
            return CallOutcome(False, gas_left + child_gas, b"")

        if kind == CALL:
            msg = Message(parent.target, to, value, data, child_gas, code, code_address,
                          parent.depth + 1, parent.is_static)
        elif kind == STATICCALL:
            msg = Message(parent.target, to, 0, data, child_gas, code, code_address,
                          parent.depth + 1, True)
        elif kind == CALLCODE:
            msg = Message(parent.target, parent.target, value, data, child_gas, code, code_address,
                          parent.depth + 1, parent.is_static)
        elif kind == DELEGATECALL:
            msg = Message(parent.caller, parent.target, parent.value, data, child_gas, code, code_address,
                          parent.depth + 1, parent.is_static, should_transfer_value=False)
        else:
            raise ValueError(f"unknown call kind 0x{kind:x}")
        if delegated:
            msg.disable_precompiles = True
        result = self.execute_message(msg)
        if tracer is not None:
            self._trace_exit(result, child_gas)
        return CallOutcome(result.status == "success", gas_left + result.gas_left, result.output)

    def _trace_exit(self, result: ExecutionResult, gas: int) -> None:
        from .tracing import geth_error

        self.tracer.exit(result.output, gas - result.gas_left, geth_error(result.status, result.error),
                         result.status != "success")

    # ================================================================ CREATE*
    def create(
        self, parent: Message, gas_left: int, value: int, init_code: bytes, salt: int | None = None
    ) -> CallOutcome:
        """CREATE (salt None) / CREATE2 from frame `parent`.

        `gas_left` is after the static 32000, the EIP-3860 init-code word cost, CREATE2's hashing
        cost and memory expansion were charged. Enforces the init-code size limit (OutOfGas),
        the static context, gives the child all but 1/64 of the gas, handles balance / nonce /
        depth failures (gas returned) and address collisions (gas consumed)."""
        state = self.state
        limit = self.rules.max_initcode_size
        if limit is not None and len(init_code) > limit:
            raise OutOfGas()
        if parent.is_static:
            raise WriteInStaticContext()
        child_gas = G.max_call_gas(gas_left)
        gas_left -= child_gas
        sender = parent.target
        nonce = state.get_nonce(sender)
        if salt is None:
            address = create_address(sender, nonce)
        else:
            address = create2_address(sender, salt, init_code)
        tracer = self.tracer
        if tracer is not None:
            tracer.enter("CREATE" if salt is None else "CREATE2", sender, address, value, child_gas,
                         bytes(init_code))
        if state.get_balance(sender) < value or nonce >= MAX_NONCE or parent.depth + 1 > G.CALL_DEPTH_LIMIT:
            if tracer is not None:
                tracer.exit(b"", 0, "max call depth exceeded" if parent.depth + 1 > G.CALL_DEPTH_LIMIT else
                            "insufficient balance for transfer" if nonce < MAX_NONCE else "nonce uint64 overflow",
                            True)
            return CallOutcome(False, gas_left + child_gas, b"")
        state.warm_address(address)
        state.increment_nonce(sender)
        if self.collides(address):
            if tracer is not None:
                tracer.exit(b"", child_gas, "contract address collision", True)
            return CallOutcome(False, gas_left, b"")
        msg = Message(sender, address, value, b"", child_gas, bytes(init_code), address,
                      parent.depth + 1, False, is_create=True)
        result = self.execute_message(msg)
        if tracer is not None:
            self._trace_exit(result, child_gas)
        if result.status == "success":
            return CallOutcome(True, gas_left + result.gas_left, b"", address)
        return CallOutcome(False, gas_left + result.gas_left, result.output)

    def collides(self, address: bytes) -> bool:
        """EIP-684 + EIP-7610: a contract cannot be created where there is code, a nonce or
        storage."""
        state = self.state
        return (
            state.get_nonce(address) != 0
            or state.get_code_hash(address) != EMPTY_CODE_HASH
            or state.has_storage(address)
        )

    # ================================================================ message execution
    def execute_top_level(self, message: Message) -> ExecutionResult:
        """`evm.execute`: the first message of a transaction (depth normally 0). A create
        collides (EIP-684/7610) -> error; a call to an EIP-7702-delegated account runs the
        target's code (the target is warmed for free, precompiles disabled)."""
        if message.is_create:
            if self.collides(message.target):
                return ExecutionResult("error", b"", 0, AddressCollision().name)
        elif self.rules.delegation and is_delegation(message.code):
            target = message.code[3:]
            self.state.warm_address(target)
            message.code = self.state.get_code(target)
            message.code_address = target
            message.disable_precompiles = True
        if message.depth > G.CALL_DEPTH_LIMIT:
            return ExecutionResult("error", b"", 0, DepthLimit().name)
        if message.should_transfer_value and message.value and self.state.get_balance(message.caller) < message.value:
            return ExecutionResult("error", b"", 0, InsufficientBalance().name)
        return self._dispatch(message)

    def execute_message(self, message: Message) -> ExecutionResult:
        """Run a child message (call or create), on a fresh big-stack thread every
        THREAD_SEGMENT_DEPTH levels (see module docstring)."""
        if message.depth % THREAD_SEGMENT_DEPTH == 0 and message.depth:
            result = _run_on_big_stack(self._dispatch, message)
        else:
            result = self._dispatch(message)
        if self.tracer is not None:
            self.tracer.child_returned(result.gas_left)
        return result

    def _dispatch(self, message: Message) -> ExecutionResult:
        if message.is_create:
            return self._process_create(message)
        return self._process_message(message)

    def _process_message(self, message: Message, allow_precompile: bool = True) -> ExecutionResult:
        """Snapshot, move the value, run the precompile or the code; revert unless success."""
        state = self.state
        snap = state.snapshot()
        if message.should_transfer_value and message.value:
            state.sub_balance(message.caller, message.value)
            state.add_balance(message.target, message.value)
        fn = None
        if allow_precompile and not message.disable_precompiles:
            fn = self.precompiles.get(message.code_address)
        if fn is not None:
            res = fn(bytes(message.data), message.gas, self.fork)
            if res.success:
                result = ExecutionResult("success", bytes(res.output), message.gas - res.gas_used)
            else:
                result = ExecutionResult("error", b"", 0, "PrecompileFailure")
        elif not message.code:
            result = ExecutionResult("success", b"", message.gas)
        else:
            result = self.backend.run_frame(message, self)
        if result.status != "success":
            state.revert(snap)
        return result

    def _process_create(self, message: Message) -> ExecutionResult:
        """Create `message.target`: fresh account (storage cleared, balance kept), marked created
        (EIP-6780), nonce 1; run the init code; charge the code deposit and check EIP-3541 /
        EIP-170; revert unless success."""
        state = self.state
        address = message.target
        snap = state.snapshot()
        state.create_account(address)
        state.mark_created(address)
        state.increment_nonce(address)
        result = self._process_message(message, allow_precompile=False)
        if result.status != "success":
            state.revert(snap)
            return result
        code = result.output
        error: ExceptionalHalt | None = None
        if code and code[0] == 0xEF:
            error = InvalidContractPrefix()
        elif G.code_deposit_cost(len(code)) > result.gas_left:
            error = OutOfGas()
        elif len(code) > G.MAX_CODE_SIZE:
            error = CodeSizeExceeded()
        if error is not None:
            state.revert(snap)
            return ExecutionResult("error", b"", 0, error.name)
        state.set_code(address, code)
        return ExecutionResult("success", b"", result.gas_left - G.code_deposit_cost(len(code)),
                               created_address=address)


def _run_on_big_stack(fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn(*args) on a new thread with a THREAD_STACK_SIZE stack and wait for it; exceptions
    propagate to the caller."""
    box: list = []

    def runner() -> None:
        try:
            box.append((True, fn(*args)))
        except BaseException as exc:  # re-raised in the waiting thread
            box.append((False, exc))

    old = threading.stack_size()
    threading.stack_size(THREAD_STACK_SIZE)
    try:
        thread = threading.Thread(target=runner, name="evm-deep-call", daemon=True)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value
