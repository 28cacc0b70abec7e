"""System: CREATE, CALL, CALLCODE, RETURN, DELEGATECALL, CREATE2, STATICCALL, REVERT, INVALID,
SELFDESTRUCT (0xf0-0xff). The frame pays memory expansion (and CREATE's init-code/hash words);
the host does the rest of the gas rules and runs the child frame."""

from __future__ import annotations

from ..errors import InvalidOpcode, Revert
from ..gas import keccak_cost, words
from ..host import CALL, CALLCODE, DELEGATECALL, STATICCALL
from .frame import Frame, Halt, extend_memory, read_memory, to_address, use_gas


def _create(f: Frame, salt_op: bool) -> None:
    s = f.stack
    value = s.pop()
    offset = s.pop()
    size = s.pop()
    salt = s.pop() if salt_op else None
    extend_memory(f, offset, size)
    word_cost = f.host.rules.initcode_word_cost  # EIP-3860
    if word_cost:
        use_gas(f, word_cost * words(size))
    if salt_op:
        use_gas(f, keccak_cost(size))
    out = f.host.create(f.message, f.gas, value, read_memory(f, offset, size), salt)
    f.gas = out.gas_left
    f.return_data = out.output
    s.append(int.from_bytes(out.address, "big") if out.success and out.address is not None else 0)


def create(f: Frame) -> None:
    _create(f, False)


def create2(f: Frame) -> None:
    _create(f, True)


def _call(f: Frame, kind: int, has_value: bool) -> None:
    s = f.stack
    gas = s.pop()
    to = to_address(s.pop())
    value = s.pop() if has_value else 0
    in_offset = s.pop()
    in_size = s.pop()
    out_offset = s.pop()
    out_size = s.pop()
    extend_memory(f, in_offset, in_size)
    extend_memory(f, out_offset, out_size)
    out = f.host.call(f.message, kind, f.gas, gas, to, value, read_memory(f, in_offset, in_size))
    f.gas = out.gas_left
    output = out.output
    f.return_data = output
    if out_size and output:
        n = min(out_size, len(output))
        f.memory[out_offset : out_offset + n] = output[:n]
    s.append(1 if out.success else 0)


def call(f: Frame) -> None:
    _call(f, CALL, True)


def callcode(f: Frame) -> None:
    _call(f, CALLCODE, True)


def delegatecall(f: Frame) -> None:
    _call(f, DELEGATECALL, False)


def staticcall(f: Frame) -> None:
    _call(f, STATICCALL, False)


def _output(f: Frame) -> None:
    """RETURN/REVERT: the frame's output is memory[offset, offset + size)."""
    s = f.stack
    offset = s.pop()
    size = s.pop()
    extend_memory(f, offset, size)
    f.output = read_memory(f, offset, size)


def return_(f: Frame) -> None:
    _output(f)
    raise Halt()


def revert(f: Frame) -> None:
    _output(f)
    raise Revert()


def invalid(f: Frame) -> None:
    raise InvalidOpcode()


def selfdestruct(f: Frame) -> None:
    beneficiary = to_address(f.stack.pop())
    f.gas -= f.host.selfdestruct(f.message, beneficiary, f.gas)  # checks gas and static context
    raise Halt()


INSTRUCTIONS = {
    0xF0: create,
    0xF1: call,
    0xF2: callcode,
    0xF3: return_,
    0xF4: delegatecall,
    0xF5: create2,
    0xFA: staticcall,
    0xFD: revert,
    0xFE: invalid,
    0xFF: selfdestruct,
}
