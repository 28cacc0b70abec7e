"""Comparison: LT, GT, SLT, SGT, EQ, ISZERO (0x10-0x15)."""

from __future__ import annotations

from .frame import Frame

SIGN_BIT = 1 << 255


def lt(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    s.append(1 if a < s.pop() else 0)


def gt(f: Frame) -> None:
    s = f.stack
    a = s.pop()
    s.append(1 if a > s.pop() else 0)


def slt(f: Frame) -> None:
    s = f.stack
    a = s.pop() ^ SIGN_BIT  # flipping the sign bit maps signed order onto unsigned order
    s.append(1 if a < s.pop() ^ SIGN_BIT else 0)


def sgt(f: Frame) -> None:
    s = f.stack
    a = s.pop() ^ SIGN_BIT
    s.append(1 if a > s.pop() ^ SIGN_BIT else 0)


def eq(f: Frame) -> None:
    s = f.stack
    s.append(1 if s.pop() == s.pop() else 0)


def iszero(f: Frame) -> None:
    s = f.stack
    s.append(0 if s.pop() else 1)


INSTRUCTIONS = {0x10: lt, 0x11: gt, 0x12: slt, 0x13: sgt, 0x14: eq, 0x15: iszero}
