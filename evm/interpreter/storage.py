"""Storage: SLOAD, SSTORE (0x54, 0x55) and transient storage TLOAD, TSTORE (0x5c, 0x5d, Cancun,
EIP-1153). The SSTORE gas/refund rules (EIP-2200/2929/3529) live in evm.gas, the static-context rule in the
host."""

from __future__ import annotations

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
    f.gas -= f.host.sstore(f.message, slot, value, f.gas)  # checks the static context and the gas itself


def tload(f: Frame) -> None:
    s = f.stack
    s.append(f.host.tload(f.target, s.pop()))


def tstore(f: Frame) -> None:
    s = f.stack
    slot = s.pop()
    value = s.pop()
    f.host.tstore(f.message, slot, value)  # checks the static context


INSTRUCTIONS = {0x54: sload, 0x55: sstore, 0x5C: tload, 0x5D: tstore}
