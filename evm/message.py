"""What crosses the EVM boundary: the block and transaction environments, a message, its result, and what a
CALL*/CREATE* gives back to the calling frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .rules import RULES, ForkRules
from .spec import Fork

ADDRESS_MASK = (1 << 160) - 1
# the caller of the block's system calls (EIP-4788, EIP-2935, EIP-7002, EIP-7251)
SYSTEM_ADDRESS = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffe")


def to_address(word: int) -> bytes:
    """The address an EVM word names: its low 160 bits."""
    return (word & ADDRESS_MASK).to_bytes(20, "big")


def _no_block_hash(number: int) -> bytes | None:
    return None


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """What the block gives every transaction in it (BLOCKHASH, COINBASE, TIMESTAMP, NUMBER, PREVRANDAO,
    GASLIMIT, CHAINID, BASEFEE, BLOBBASEFEE), as execution-specs' BlockEnvironment. Frozen: one object per
    block (a call on "pending" or without fees gets its own through `dataclasses.replace`), so a Host built
    for it can be reused for every transaction of the block. `rules` are the fork's (with the chain's blob
    schedule); given only `fork`, the fork's defaults."""

    fork: Fork
    chain_id: int = 1
    coinbase: bytes = b"\x00" * 20
    number: int = 0
    timestamp: int = 0
    gas_limit: int = 30_000_000
    prev_randao: bytes = b"\x00" * 32
    base_fee: int = 0
    excess_blob_gas: int = 0
    blob_base_fee: int = 1
    # number -> hash of one of the 256 most recent blocks (BLOCKHASH); returns None when unknown.
    block_hash: Callable[[int], bytes | None] = _no_block_hash
    rules: ForkRules = None  # type: ignore[assignment]  # filled in from `fork` when not given

    def __post_init__(self) -> None:
        if self.rules is None:
            object.__setattr__(self, "rules", RULES[self.fork])
        elif self.rules.fork != self.fork:
            raise ValueError(f"rules of {self.rules.name} given for fork {self.fork.title}")


@dataclass(frozen=True, slots=True)
class TxEnv:
    """What one transaction gives its frames (ORIGIN, GASPRICE, BLOBHASH), as execution-specs'
    TransactionEnvironment: the transaction processor makes one per transaction."""

    origin: bytes = b"\x00" * 20
    gas_price: int = 0
    blob_hashes: tuple[bytes, ...] = ()


@dataclass(slots=True)
class Message:
    """One call frame's input. `target` is the account whose storage and balance the code acts on;
    `code_address` is where the code came from (differs for CALLCODE/DELEGATECALL and EIP-7702)."""

    caller: bytes
    target: bytes
    value: int
    data: bytes
    gas: int
    code: bytes
    code_address: bytes
    depth: int = 0
    is_static: bool = False
    is_create: bool = False
    # False for DELEGATECALL (value is only apparent) and for calls whose value was already moved.
    should_transfer_value: bool = True
    # EIP-7702: code reached through a delegation designator never runs a precompile.
    disable_precompiles: bool = False


@dataclass(slots=True)
class ExecutionResult:
    """status: 'success' | 'revert' | 'error'. On 'error' all gas is consumed (gas_left == 0)."""

    status: str
    output: bytes = b""
    gas_left: int = 0
    error: str | None = None
    created_address: bytes | None = None

    @property
    def success(self) -> bool:
        return self.status == "success"


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
