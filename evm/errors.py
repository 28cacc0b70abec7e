"""Exceptional halts of an EVM frame, shared by both backends and the host.

They are raised inside a frame (by an instruction or by a host method the instruction called) and
caught by the backend's loop, which turns them into ``ExecutionResult(status="error",
error=<class name>, gas_left=0)``. They never escape ``evm.execute``.
"""

from __future__ import annotations


class ExceptionalHalt(Exception):
    """Base class: the frame stops, all its gas is consumed and its state changes are reverted."""

    @property
    def name(self) -> str:
        return type(self).__name__


class OutOfGas(ExceptionalHalt):
    pass


class StackUnderflow(ExceptionalHalt):
    pass


class StackOverflow(ExceptionalHalt):
    pass


class InvalidJump(ExceptionalHalt):
    pass


class InvalidOpcode(ExceptionalHalt):
    pass


class WriteInStaticContext(ExceptionalHalt):
    """A state-modifying instruction inside a STATICCALL."""


class ReturnDataOutOfBounds(ExceptionalHalt):
    """RETURNDATACOPY past the end of the return data buffer (EIP-211)."""


class AddressCollision(ExceptionalHalt):
    """CREATE target already has code, nonce or storage (EIP-684, EIP-7610)."""


class InvalidContractPrefix(ExceptionalHalt):
    """Deployed code starts with 0xEF (EIP-3541)."""


class CodeSizeExceeded(ExceptionalHalt):
    """Deployed code larger than 24576 bytes (EIP-170); the spec treats it as out of gas."""


class InsufficientBalance(ExceptionalHalt):
    """A top-level message whose value the caller cannot pay (transaction validation should have
    caught it; nested calls fail softly instead)."""


class DepthLimit(ExceptionalHalt):
    """A top-level message above depth 1024 (nested calls fail softly instead)."""


class Revert(Exception):
    """REVERT: not an exceptional halt: the frame keeps its output and its unused gas."""


class CompileError(Exception):
    """The compiled backend could not compile a code: a fault of the compiler, its toolchain or
    its settings, never of the code (every code up to any size compiles). Not an EVM result: under
    `--evm mlir`, which has no interpreter to fall back to, it leaves `execute` and the command
    reports it in one line; tiered interprets the code instead."""
