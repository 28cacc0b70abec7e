"""Opcode facts the compiler needs (name, stack items popped/pushed, static gas) per fork, taken
from the shared opcode table evm/opcodes.py (the interpreter reads the same records)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from ..opcodes import opcode_info
from ..spec import Fork

if TYPE_CHECKING:
    from .analysis import Analysis


@dataclass(frozen=True, slots=True)
class OpInfo:
    name: str
    pops: int
    pushes: int
    gas: int
    # charges dynamic gas or may fault: ends a gas/stack segment of its basic block (analysis.py)
    ends_segment: bool = False


@cache
def op_table(fork: Fork) -> dict[int, OpInfo]:
    """Valid opcodes at `fork` (INVALID 0xFE and undefined opcodes are absent)."""
    out = {}
    for op in range(256):
        info = opcode_info(op, fork)
        if info.valid:
            out[op] = OpInfo(info.name, info.inputs, info.outputs, info.gas, info.dynamic_gas or info.faults)
    return out


# The compact tier (compile.py) runs these instructions through the fork's op library (oplib.py):
# one call per instruction instead of its inline code, so huge contracts compile in linear time
# (LLVM's instruction selection of inline i256 arithmetic costs ~65 us per operation, a call ~20 us).
# Inline stay only stack moves (words moved as <4 x i64>, constants copied from a table: no i256
# arithmetic in the contract's own function), control flow, and what is a few lane-wise instructions on
# <4 x i64> (EQ ISZERO AND OR XOR NOT: codegen/comparison.py, bitwise.py), cheaper to select than a call and
# ~3x faster to run (not_op: a call per NOT was 7 ns).
INLINE_IN_COMPACT = frozenset(
    {
        0x00,
        *range(0x14, 0x1A),  # EQ ISZERO AND OR XOR NOT
        0x38,
        0x50,
        0x56,
        0x57,
        0x58,
        0x5B,
        0xFE,  # STOP, CODESIZE, POP, JUMP, JUMPI, PC, JUMPDEST, INVALID
        *range(0x5F, 0xA0),  # PUSH0..32, DUP, SWAP
    }
)
OUTLINED = frozenset(op for op in range(256) if op not in INLINE_IN_COMPACT)
TERMINAL = frozenset({0xF3, 0xFD, 0xFF})  # RETURN REVERT SELFDESTRUCT: their status ends the frame


def oplib_symbol(op: int, fork: Fork) -> str:
    """Symbol of the op-library function of `op` at `fork`."""
    from ..opcodes import NAMES

    return f"evmop_{NAMES.get(op, hex(op))}_{int(fork)}"


# MLIR operations the inline handlers emit per instruction (measured by building programs of one
# opcode, bench/compile_time.py --calibrate; the division family counted as the LLVM work of its
# i256 call arguments); unlisted valid opcodes cost 2, stack moves nothing.
# Each basic block adds BLOCK_COST (gas charge, checks, stores of the moved words).
_COSTS = {
    0x04: 10,
    0x05: 10,
    0x06: 10,
    0x07: 10,
    0x08: 18,
    0x09: 10,
    0x0A: 17,
    0x0B: 7,
    0x1A: 7,
    0x1B: 4,
    0x1C: 4,
    0x1D: 3,
    0x20: 48,
    0x31: 22,
    0x35: 20,
    0x37: 51,
    0x39: 47,
    0x3B: 22,
    0x3C: 57,
    0x3E: 57,
    0x3F: 22,
    0x40: 16,
    0x47: 14,
    0x49: 16,
    0x51: 24,
    0x52: 24,
    0x53: 24,
    0x54: 31,
    0x55: 50,
    0x5C: 28,
    0x5D: 28,
    0x5E: 68,
    0xA0: 57,
    0xA1: 60,
    0xA2: 63,
    0xA3: 66,
    0xA4: 69,
    0xF0: 60,
    0xF1: 112,
    0xF2: 112,
    0xF3: 20,
    0xF4: 104,
    0xF5: 71,
    0xFA: 104,
    0xFD: 20,
    0xFF: 30,
    0x56: 6,
    0x57: 8,
    0x5B: 3,
    **{op: 32 for op in (0x30, 0x32, 0x33, 0x34, 0x3A, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4A)},
    **{op: 0 for op in (0x50, *range(0x5F, 0xA0))},
}
BLOCK_COST = 8


def inline_cost(an: Analysis) -> int:
    """Estimated MLIR operations of the reachable code of analysis `an` compiled inline."""
    return sum(BLOCK_COST + sum(_COSTS.get(i.op, 2) for i in b.instrs) for b in an.blocks if b.height is not None)
