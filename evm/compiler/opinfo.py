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
