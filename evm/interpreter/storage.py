"""Storage: SLOAD, SSTORE (0x54, 0x55) and transient storage TLOAD, TSTORE (0x5c, 0x5d, Cancun,
EIP-1153). The SSTORE gas/refund rules (EIP-2200/2929/3529) live in the host / evm.gas."""
from __future__ import annotations

from ..errors import WriteInStaticContext
from .frame import Frame, use_gas


def sload(f: Frame) -> None:
    s = f.stack
    slot = s.pop()
    use_gas(f, f.host.access_slot(f.target, slot))
    s.append(f.host.sload(f.target, slot))


def sstore(f: Frame) -> None:
    s = f.stack
    slot = s.pop()
    value = s.pop()
    if f.message.is_static:
        raise WriteInStaticContext()
    f.gas -= f.host.sstore(f.target, slot, value, f.gas)  # raises OutOfGas itself


def tload(f: Frame) -> None:
    s = f.stack
    s.append(f.host.tload(f.target, s.pop()))


def tstore(f: Frame) -> None:
    s = f.stack
    slot = s.pop()
    value = s.pop()
    if f.message.is_static:
        raise WriteInStaticContext()
    f.host.tstore(f.target, slot, value)


INSTRUCTIONS = {0x54: sload, 0x55: sstore, 0x5C: tload, 0x5D: tstore}
