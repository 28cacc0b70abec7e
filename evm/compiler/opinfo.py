"""Opcode facts the compiler needs (name, stack items popped/pushed, static gas) per fork, taken
from the shared opcode table evm/opcodes.py (the interpreter reads the same records)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..opcodes import opcode_info
from ..spec import Fork


@dataclass(frozen=True, slots=True)
class OpInfo:
    name: str
    pops: int
    pushes: int
    gas: int
    # charges dynamic gas or may fault: ends a gas/stack segment of its basic block (analysis.py)
    ends_segment: bool = False


@lru_cache(maxsize=None)
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
# arithmetic in the contract's own function) and control flow.
INLINE_IN_COMPACT = frozenset({
    0x00, 0x38, 0x50, 0x56, 0x57, 0x58, 0x5B, 0xFE,  # STOP, CODESIZE, POP, JUMP, JUMPI, PC, JUMPDEST, INVALID
    *range(0x5F, 0xA0),                              # PUSH0..32, DUP, SWAP
})
OUTLINED = frozenset(op for op in range(256) if op not in INLINE_IN_COMPACT)
TERMINAL = frozenset({0xF3, 0xFD, 0xFF})  # RETURN REVERT SELFDESTRUCT: their status ends the frame


def oplib_symbol(op: int, fork: Fork) -> str:
    """Symbol of the op-library function of `op` at `fork`."""
    from ..opcodes import NAMES
    return f"evmop_{NAMES.get(op, hex(op))}_{int(fork)}"
