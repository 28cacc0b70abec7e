"""The host: everything an EVM frame needs from outside its own stack and memory.

A `Host` serves the messages of one block environment on one state, one transaction at a time. It holds
the journaled state (`evm.interfaces.EvmState`), the `BlockEnv`, the running transaction's `TxEnv`, the
backend that runs frames and the fork's precompile table, and it
implements message calls and contract creation (the spec's `process_message_call`,
`process_message`, `process_create_message`, `generic_call`, `generic_create`) for *both*
backends: the interpreter calls these methods directly, compiled code calls them through ctypes
callbacks. It implements `evm.interfaces.FrameHost` and `NativeHost`; backends and tracers never touch the
state except through this class.

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
  * the static-context rule (EIP-214) is checked here and only here (`check_writable`): SSTORE,
    TSTORE, LOG, SELFDESTRUCT, CREATE* and CALL with value, each at the point the specification checks it
    (after the memory and gas the instruction charges before it).

Call depth: a message call is a Python recursion (frame -> host.call -> backend.run_frame ->
...). To make depth 1024 safe for both backends without raising the interpreter's recursion limit
or relying on the main thread's 8 MiB C stack, every `THREAD_SEGMENT_DEPTH` levels the child frame
runs on a fresh thread with a `THREAD_STACK_SIZE` stack while its parent thread waits (the stack
is "segmented"; only one thread runs at a time, so the state needs no locking).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from common import rlp
from common.constants import EMPTY_CODE_HASH, MAX_NONCE
from common.keccak import keccak

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
from .message import BlockEnv, CallOutcome, ExecutionResult, Message, TxEnv
from .precompiles import Precompile, precompiles_for
from .rules import ForkRules
from .spec import Fork

if TYPE_CHECKING:
    from .interfaces import Backend, EvmState, Log
    from .tracing import Tracer

_T = TypeVar("_T")

# CALL kinds are the opcodes themselves.
CALL = 0xF1
CALLCODE = 0xF2
DELEGATECALL = 0xF4
STATICCALL = 0xFA

DELEGATION_PREFIX = b"\xef\x01\x00"  # EIP-7702 designator: 0xef0100 || address (23 bytes)
DELEGATION_LENGTH = 23
_CALL_DEPTH_LIMIT = G.CALL_DEPTH_LIMIT  # (a global read on the top-level path, not a module attribute)

_CALL_NAMES = {CALL: "CALL", CALLCODE: "CALLCODE", DELEGATECALL: "DELEGATECALL", STATICCALL: "STATICCALL"}

THREAD_SEGMENT_DEPTH = 48
THREAD_STACK_SIZE = 256 * 1024 * 1024


def is_delegation(code: bytes) -> bool:
    """EIP-7702 delegation designator?"""
    return len(code) == DELEGATION_LENGTH and code[:3] == DELEGATION_PREFIX


def create_address(sender: bytes, nonce: int) -> bytes:
    """CREATE: keccak(rlp([sender, nonce]))[12:]."""
    return keccak(rlp.encode([sender, nonce]))[12:]


def create2_address(sender: bytes, salt: int, init_code: bytes) -> bytes:
    """CREATE2 (EIP-1014): keccak(0xff || sender || salt || keccak(init_code))[12:]."""
    return keccak(b"\xff" + sender + salt.to_bytes(32, "big") + keccak(init_code))[12:]


def check_writable(frame: Message) -> None:
    """The static-context rule (EIP-214): a frame reached through STATICCALL may not change state. The one
    check of it: every write of the Host calls this."""
    if frame.is_static:
        raise WriteInStaticContext()


class Host:
    """Shared host of every backend (see module docstring): `evm.interfaces.NativeHost`."""

    tracer: Tracer | None = None  # set by evm.execute when tracing: its hooks see every frame

    def __init__(
        self,
        state: EvmState,
        block: BlockEnv,
        backend: Backend,
        tx: TxEnv | None = None,
        precompiles: Mapping[bytes, Precompile] | None = None,
    ) -> None:
        self.state = state
        self.block = block
        self.tx = TxEnv() if tx is None else tx
        self.rules: ForkRules = block.rules
        # The fork whose instruction set and precompiles run (a BPO fork runs Osaka's), which keys the
        # backends' per-fork tables and compiled code.
        self.fork: Fork = block.rules.evm
        self.backend = backend
        self.backend_name: str = getattr(backend, "name", type(backend).__name__)
        self.precompiles: Mapping[bytes, Precompile] = (
            precompiles_for(self.fork) if precompiles is None else precompiles
        )
        self.backend_cache: dict[str, object] = {}
        self._plain_precompiles: Mapping[bytes, Precompile] | None = None
        # touch_slot(address, slot) -> (current, original, was_cold), warming the slot: what compiled code
        # needs to serve a slot from its own cache for the rest of the frame, in one step. The state's own
        # method, bound once: the runtime calls it for every cold slot (compiler/ir/pyapi.ll).
        self.touch_slot: Callable[[bytes, int], tuple[int, int, bool]] = state.access_storage

    # ================================================================ environment
    def block_hash(self, number: int) -> int:
        """BLOCKHASH: hash of one of the 256 most recent blocks, else 0."""
        current = self.block.number
        if number >= current or number < current - 256:
            return 0
        h = self.block.block_hash(number)
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

    def nonce(self, address: bytes) -> int:
        return self.state.get_nonce(address)

    def code(self, address: bytes) -> bytes:
        """Raw code as EXTCODESIZE/EXTCODECOPY see it (a delegation designator is *not*
        followed: they see its 23 bytes)."""
        return self.state.get_code(address)

    def code_hash(self, address: bytes) -> int:
        """EXTCODEHASH: 0 for a non-existent or empty account, else keccak of its raw code."""
        if self.state.is_empty(address):
            return 0
        return int.from_bytes(self.state.get_code_hash(address), "big")

    def is_warm_address(self, address: bytes) -> bool:
        return self.state.is_warm_address(address)

    def warm_addresses_include(self, addresses: frozenset[bytes]) -> bool:
        """Whether every one of `addresses` is warm (one set operation)."""
        return self.state.warm_addresses_include(addresses)

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

    def original_storage(self, address: bytes, slot: int) -> int:
        """The slot's value when the transaction started (EIP-2200's original value)."""
        return self.state.get_original_storage(address, slot)

    def sstore(self, frame: Message, slot: int, value: int, gas_left: int) -> int:
        """SSTORE (EIP-2200/2929/3529) of `frame.target`'s slot: writes it, adjusts the refund counter and
        returns the whole gas cost (SSTORE's static gas is 0; the price is `evm.gas.sstore_cost`). Raises
        WriteInStaticContext in a static frame, OutOfGas when gas_left <= 2300 (EIP-2200 stipend rule) or
        when the cost exceeds gas_left (nothing is written then). The caller subtracts the returned cost."""
        check_writable(frame)
        if gas_left <= G.SSTORE_MIN_GAS_LEFT:
            raise OutOfGas()
        state = self.state
        address = frame.target
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

    def tstore(self, frame: Message, slot: int, value: int) -> None:
        """TSTORE (EIP-1153) of `frame.target`'s transient slot; WriteInStaticContext in a static frame."""
        check_writable(frame)
        self.state.set_transient(frame.target, slot, value)

    def refund_counter(self) -> int:
        """The transaction's refund counter so far (what struct logs report)."""
        return self.state.refund

    # ================================================================ logs
    def log(self, frame: Message, topics: Sequence[bytes], data: bytes) -> None:
        """LOGn of `frame.target`, topics as 32-byte words (after the instruction charged its gas and
        memory); WriteInStaticContext in a static frame."""
        check_writable(frame)
        words = tuple(topics)
        self.state.add_log(frame.target, words, bytes(data))
        if self.tracer is not None:
            self.tracer.log(frame.target, words, bytes(data))

    # ================================================================ compiled code's write-back
    def write_back(
        self,
        address: bytes,
        storage: Sequence[tuple[int, int]],
        transient: Sequence[tuple[int, int]],
        refund: int,
        logs: Sequence[Log],
    ) -> None:
        """What compiled code did in its own memory, into the journal (so a later revert undoes it): its
        LOGs first (in order), then the storage slots as (key, value) (one journal entry for them all), the
        transient ones, then the refund delta. The static rule was checked when each was made (compiled
        code defers to the Host there)."""
        state = self.state
        if logs:
            state.add_logs(logs)
        if storage:
            state.set_storages(address, storage)
        for key, value in transient:
            state.set_transient(address, key, value)
        if refund:
            state.add_refund(refund)

    def plain_precompiles(self) -> Mapping[bytes, Precompile]:
        """The precompiles a backend may run itself instead of through `call` (compiled code runs them
        natively): the fork's own implementations (not a replacement given to this Host) at addresses that
        hold no EIP-7702 delegation designator (a delegated precompile address runs the delegate's code);
        none while tracing (the tracer must see every child frame). Computed once per Host: the code at
        precompile addresses is fixed for its transactions."""
        plain = self._plain_precompiles
        if plain is None:
            if self.tracer is not None:
                plain = {}
            else:
                std = precompiles_for(self.fork)
                plain = {
                    a: fn
                    for a, fn in self.precompiles.items()
                    if fn is std.get(a) and not is_delegation(self.state.get_code(a))
                }
            self._plain_precompiles = plain
        return plain

    # ================================================================ selfdestruct
    def selfdestruct(self, frame: Message, beneficiary: bytes, gas_left: int) -> int:
        """SELFDESTRUCT of `frame.target` in favour of `beneficiary`; returns the dynamic cost
        (cold surcharge 2600 + 25000 when value goes to a dead account) after checking it fits
        in `gas_left`. Before Cancun the account is always scheduled for deletion; from Cancun
        (EIP-6780) only when it was created in this transaction, otherwise only its balance
        moves. Raises OutOfGas / WriteInStaticContext."""
        state = self.state
        cost = G.G_COLD_ACCOUNT_ACCESS if state.warm_address(beneficiary) else 0
        originator = frame.target
        balance = state.get_balance(originator)
        if balance != 0 and not state.is_alive(beneficiary):
            cost += G.G_SELFDESTRUCT_NEW_ACCOUNT
        if cost > gas_left:
            raise OutOfGas()
        check_writable(frame)
        if balance:
            if beneficiary != originator:
                state.sub_balance(originator, balance)
                state.add_balance(beneficiary, balance)
        else:
            # the spec moves the balance even when it is 0, which touches the beneficiary: an
            # existing empty account there is deleted (EIP-161; EIP-7523 says none exists on mainnet
            # since the merge, but fixtures and dev chains can hold one)
            state.touch(beneficiary)
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
        self, frame: Message, kind: int, gas_left: int, gas: int, to: bytes, value: int, data: bytes
    ) -> CallOutcome:
        """CALL / CALLCODE / DELEGATECALL / STATICCALL (kind = the opcode) from `frame`.

        `gas_left` is the frame's gas after the opcode's static gas (the warm access cost, 100)
        and the memory expansion for both input and output ranges were charged. `gas` is the
        requested gas operand, `to` the address operand (the code source for CALLCODE and
        DELEGATECALL), `value` 0 for DELEGATECALL/STATICCALL, `data` the input bytes.
        Charges the cold surcharge, EIP-7702 delegation access, value and new-account costs and
        the 63/64 rule; runs the child; returns the frame's new gas and the return data.
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
        if kind == CALL and value:
            check_writable(frame)
        if transfers and value:
            child_gas += G.G_CALL_STIPEND
        tracer = self.tracer
        if tracer is not None:
            if kind == DELEGATECALL:
                tracer.enter("DELEGATECALL", frame.target, to, frame.value, child_gas, bytes(data))
            else:
                tracer.enter(
                    _CALL_NAMES[kind], frame.target, to, None if kind == STATICCALL else value, child_gas, bytes(data)
                )
        if transfers and value and state.get_balance(frame.target) < value:
            if tracer is not None:
                tracer.exit(b"", 0, "insufficient balance for transfer", True)
            return CallOutcome(False, gas_left + child_gas, b"")
        if frame.depth + 1 > G.CALL_DEPTH_LIMIT:
            if tracer is not None:
                tracer.exit(b"", 0, "max call depth exceeded", True)
            return CallOutcome(False, gas_left + child_gas, b"")

        if kind == CALL:
            msg = Message(
                frame.target, to, value, data, child_gas, code, code_address, frame.depth + 1, frame.is_static
            )
        elif kind == STATICCALL:
            msg = Message(frame.target, to, 0, data, child_gas, code, code_address, frame.depth + 1, True)
        elif kind == CALLCODE:
            msg = Message(
                frame.target, frame.target, value, data, child_gas, code, code_address, frame.depth + 1, frame.is_static
            )
        elif kind == DELEGATECALL:
            msg = Message(
                frame.caller,
                frame.target,
                frame.value,
                data,
                child_gas,
                code,
                code_address,
                frame.depth + 1,
                frame.is_static,
                should_transfer_value=False,
            )
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

        assert self.tracer is not None
        self.tracer.exit(
            result.output, gas - result.gas_left, geth_error(result.status, result.error), result.status != "success"
        )

    # ================================================================ CREATE*
    def create(
        self, frame: Message, gas_left: int, value: int, init_code: bytes, salt: int | None = None
    ) -> CallOutcome:
        """CREATE (salt None) / CREATE2 from `frame`.

        `gas_left` is after the static 32000, the EIP-3860 init-code word cost, CREATE2's hashing
        cost and memory expansion were charged. Enforces the init-code size limit (OutOfGas),
        the static context, gives the child all but 1/64 of the gas, handles balance / nonce /
        depth failures (gas returned) and address collisions (gas consumed)."""
        state = self.state
        limit = self.rules.max_initcode_size
        if limit is not None and len(init_code) > limit:
            raise OutOfGas()
        check_writable(frame)
        child_gas = G.max_call_gas(gas_left)
        gas_left -= child_gas
        sender = frame.target
        nonce = state.get_nonce(sender)
        if salt is None:
            address = create_address(sender, nonce)
        else:
            address = create2_address(sender, salt, init_code)
        tracer = self.tracer
        if tracer is not None:
            tracer.enter("CREATE" if salt is None else "CREATE2", sender, address, value, child_gas, bytes(init_code))
        if state.get_balance(sender) < value or nonce >= MAX_NONCE or frame.depth + 1 > G.CALL_DEPTH_LIMIT:
            if tracer is not None:
                tracer.exit(
                    b"",
                    0,
                    "max call depth exceeded"
                    if frame.depth + 1 > G.CALL_DEPTH_LIMIT
                    else "insufficient balance for transfer"
                    if nonce < MAX_NONCE
                    else "nonce uint64 overflow",
                    True,
                )
            return CallOutcome(False, gas_left + child_gas, b"")
        state.warm_address(address)
        state.increment_nonce(sender)
        if self.collides(address):
            if tracer is not None:
                tracer.exit(b"", child_gas, "contract address collision", True)
            return CallOutcome(False, gas_left, b"")
        msg = Message(
            sender, address, value, b"", child_gas, bytes(init_code), address, frame.depth + 1, False, is_create=True
        )
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
    def execute_top_level(self, message: Message, tx: TxEnv | None = None) -> ExecutionResult:
        """`evm.execute`: the first message of a transaction (depth normally 0), in the transaction
        environment `tx` (this Host's last one when None). A create
        collides (EIP-684/7610) -> error; a call to an EIP-7702-delegated account runs the
        target's code (the target is warmed for free, precompiles disabled)."""
        if tx is not None:
            self.tx = tx
        if message.is_create:
            if self.collides(message.target):
                return ExecutionResult("error", b"", 0, AddressCollision().name)
        elif len(message.code) == DELEGATION_LENGTH and self.rules.delegation and is_delegation(message.code):
            target = message.code[3:]
            self.state.warm_address(target)
            message.code = self.state.get_code(target)
            message.code_address = target
            message.disable_precompiles = True
        if message.depth > _CALL_DEPTH_LIMIT:
            return ExecutionResult("error", b"", 0, DepthLimit().name)
        if message.value and message.should_transfer_value and self.state.get_balance(message.caller) < message.value:
            return ExecutionResult("error", b"", 0, InsufficientBalance().name)
        # _dispatch, inlined: the top-level message of every transaction passes here
        if message.is_create:
            return self._process_create(message)
        return self._process_message(message)

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
        if message.value and message.should_transfer_value:
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
        return ExecutionResult(
            "success", b"", result.gas_left - G.code_deposit_cost(len(code)), created_address=address
        )


def _run_on_big_stack(fn: Callable[[Message], _T], message: Message) -> _T:
    """Run fn(message) on a new thread with a THREAD_STACK_SIZE stack and wait for it; exceptions
    propagate to the caller."""
    box: list[tuple[bool, Any]] = []

    def runner() -> None:
        try:
            box.append((True, fn(message)))
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
    result: _T = value
    return result
