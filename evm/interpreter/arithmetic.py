"""Arithmetic: ADD .. SIGNEXTEND (0x01-0x0b). Words are ints in 0 .. 2**256-1."""

from __future__ import annotations

from ..gas import exp_cost
from .frame import UINT_MAX, Frame, use_gas

SIGN_BIT = 1 << 255
MODULUS = 1 << 256


def _signed(x: int) -> int:
    return x - MODULUS if x & SIGN_BIT else x


def add(f: Frame) -> None:
    s = f.stack
    s.append((s.pop() + s.pop()) & UINT_MAX)


def mul(f: Frame) -> None:
    s = f.stack
    s.append((s.pop() * s.pop()) & UINT_MAX)


def sub(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    s.append((a - s.pop()) & UINT_MAX)


def div(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    b = s.pop()
    s.append(a // b if b else 0)


def sdiv(f: Frame) -> None:
    s = f.stack
    a = _signed(s.pop())
    b = _signed(s.pop())
    if b == 0:
        s.append(0)
        return
    q = abs(a) // abs(b)
    s.append((-q if (a < 0) != (b < 0) else q) & UINT_MAX)  # -2**255 / -1 wraps to -2**255


def mod(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    b = s.pop()
    s.append(a % b if b else 0)


def smod(f: Frame) -> None:
    s = f.stack
    a = _signed(s.pop())
    b = _signed(s.pop())
    if b == 0:
        s.append(0)
        return
    r = abs(a) % abs(b)
    s.append((-r if a < 0 else r) & UINT_MAX)  # sign of the dividend


def addmod(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    b = s.pop()
    n = s.pop()
    s.append((a + b) % n if n else 0)


def mulmod(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    b = s.pop()
    n = s.pop()
    s.append((a * b) % n if n else 0)


def exp(f: Frame) -> None:
    s = f.stack
    base = s.pop()
    exponent = s.pop()
    use_gas(f, exp_cost(exponent))
    s.append(pow(base, exponent, MODULUS))


def signextend(f: Frame) -> None:
    s = f.stack
    b = s.pop()
    x = s.pop()
    if b >= 31:
        s.append(x)
        return
    bits = 8 * (b + 1)
    low = x & ((1 << bits) - 1)
    if low >> (bits - 1):
        s.append(low | (UINT_MAX ^ ((1 << bits) - 1)))
    else:
        s.append(low)


INSTRUCTIONS = {
    0x01: add,
    0x02: mul,
    0x03: sub,
    0x04: div,
    0x05: sdiv,
    0x06: mod,
    0x07: smod,
    0x08: addmod,
    0x09: mulmod,
    0x0A: exp,
    0x0B: signextend,
}
