"""Bitwise: AND, OR, XOR, NOT, BYTE, SHL, SHR, SAR (0x16-0x1d) and CLZ (0x1e, Osaka, EIP-7939)."""

from __future__ import annotations

from .frame import UINT_MAX, Frame

SIGN_BIT = 1 << 255


def and_(f: Frame) -> None:
    s = f.stack
    s.append(s.pop() & s.pop())


def or_(f: Frame) -> None:
    s = f.stack
    s.append(s.pop() | s.pop())


def xor(f: Frame) -> None:
    s = f.stack
    s.append(s.pop() ^ s.pop())


def not_(f: Frame) -> None:
    s = f.stack
    s.append(UINT_MAX ^ s.pop())


def byte(f: Frame) -> None:
    s = f.stack
    i = s.pop()
    x = s.pop()
    s.append((x >> (248 - 8 * i)) & 0xFF if i < 32 else 0)


def shl(f: Frame) -> None:
    s = f.stack
    shift = s.pop()
    value = s.pop()
    s.append((value << shift) & UINT_MAX if shift < 256 else 0)


def shr(f: Frame) -> None:
    s = f.stack
    shift = s.pop()
    value = s.pop()
    s.append(value >> shift if shift < 256 else 0)


def sar(f: Frame) -> None:
    s = f.stack
    shift = s.pop()
    value = s.pop()
    signed = value - (1 << 256) if value & SIGN_BIT else value
    if shift >= 256:
        s.append(UINT_MAX if signed < 0 else 0)
    else:
        s.append((signed >> shift) & UINT_MAX)


def clz(f: Frame) -> None:
    s = f.stack
    s.append(256 - s.pop().bit_length())


INSTRUCTIONS = {
    0x16: and_,
    0x17: or_,
    0x18: xor,
    0x19: not_,
    0x1A: byte,
    0x1B: shl,
    0x1C: shr,
    0x1D: sar,
    0x1E: clz,
}
