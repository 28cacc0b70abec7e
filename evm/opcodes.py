"""The opcode table: one record per opcode of Paris .. Osaka, as data.

Both backends read it: the interpreter charges `gas` (the static part) before it runs an
instruction; the compiler sums `gas` per basic block and uses `inputs`/`outputs` for stack
heights. Dynamic gas (memory expansion, copy words, EIP-2929 cold surcharges, ...) is computed by
the instruction itself (see evm/gas.py and evm/host.py). `faults` marks the instructions whose body
may halt with an error other than OutOfGas (a write in a static frame, a bad jump target, reading
past the return data): the compiler charges static gas so that the counter is exact there.

Conventions for the static part of the gas:
  * account-access opcodes (BALANCE, EXTCODE*, CALL*) and SLOAD carry the *warm* access cost
    (100) as static gas; the cold surcharge (2500 accounts / 2000 slots) is dynamic;
  * SSTORE has static gas 0: its whole cost is dynamic (EIP-2200 needs the gas left *before*
    anything is charged for the 2300 stipend rule);
  * LOGn carries 375 + 375*n; CREATE/CREATE2 32000; SELFDESTRUCT 5000; JUMPDEST 1.

An opcode not in the table, or used before the fork that introduced it, is INVALID
(`opcode_info(op, fork).valid is False`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .spec import Fork


@dataclass(frozen=True, slots=True)
class OpInfo:
    code: int
    name: str
    inputs: int  # stack items popped
    outputs: int  # stack items pushed
    gas: int  # static gas, charged before the instruction runs
    since: Fork = Fork.PARIS  # first fork that has it
    immediate: int = 0  # bytes of immediate data following the opcode (PUSHn)
    terminates: bool = False  # ends the frame (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT)
    jumps: bool = False  # JUMP / JUMPI
    dynamic_gas: bool = False  # charges more than `gas` at run time
    faults: bool = False  # its body may halt with an error other than OutOfGas (static context, bad jump, ...)
    valid: bool = True

    @property
    def stack_growth(self) -> int:
        return self.outputs - self.inputs


OPCODES: dict[int, OpInfo] = {}


def _op(code: int, name: str, inputs: int, outputs: int, gas: int, since: Fork = Fork.PARIS, **kw: Any) -> None:
    assert code not in OPCODES, hex(code)
    OPCODES[code] = OpInfo(code, name, inputs, outputs, gas, since, **kw)


P, S, C, O = Fork.PARIS, Fork.SHANGHAI, Fork.CANCUN, Fork.OSAKA
DYN: dict[str, Any] = {"dynamic_gas": True}
FAULTS: dict[str, Any] = {"faults": True}

# 0x00s: stop and arithmetic
_op(0x00, "STOP", 0, 0, 0, terminates=True)
_op(0x01, "ADD", 2, 1, 3)
_op(0x02, "MUL", 2, 1, 5)
_op(0x03, "SUB", 2, 1, 3)
_op(0x04, "DIV", 2, 1, 5)
_op(0x05, "SDIV", 2, 1, 5)
_op(0x06, "MOD", 2, 1, 5)
_op(0x07, "SMOD", 2, 1, 5)
_op(0x08, "ADDMOD", 3, 1, 8)
_op(0x09, "MULMOD", 3, 1, 8)
_op(0x0A, "EXP", 2, 1, 10, **DYN)  # + 50 per byte of the exponent
_op(0x0B, "SIGNEXTEND", 2, 1, 5)
# 0x10s: comparison and bitwise
_op(0x10, "LT", 2, 1, 3)
_op(0x11, "GT", 2, 1, 3)
_op(0x12, "SLT", 2, 1, 3)
_op(0x13, "SGT", 2, 1, 3)
_op(0x14, "EQ", 2, 1, 3)
_op(0x15, "ISZERO", 1, 1, 3)
_op(0x16, "AND", 2, 1, 3)
_op(0x17, "OR", 2, 1, 3)
_op(0x18, "XOR", 2, 1, 3)
_op(0x19, "NOT", 1, 1, 3)
_op(0x1A, "BYTE", 2, 1, 3)
_op(0x1B, "SHL", 2, 1, 3)
_op(0x1C, "SHR", 2, 1, 3)
_op(0x1D, "SAR", 2, 1, 3)
_op(0x1E, "CLZ", 1, 1, 5, O)  # EIP-7939
# 0x20: keccak
_op(0x20, "KECCAK256", 2, 1, 30, **DYN)  # + 6 per word + memory
# 0x30s: environment
_op(0x30, "ADDRESS", 0, 1, 2)
_op(0x31, "BALANCE", 1, 1, 100, **DYN)  # + 2500 if cold
_op(0x32, "ORIGIN", 0, 1, 2)
_op(0x33, "CALLER", 0, 1, 2)
_op(0x34, "CALLVALUE", 0, 1, 2)
_op(0x35, "CALLDATALOAD", 1, 1, 3)
_op(0x36, "CALLDATASIZE", 0, 1, 2)
_op(0x37, "CALLDATACOPY", 3, 0, 3, **DYN)  # + 3 per word + memory
_op(0x38, "CODESIZE", 0, 1, 2)
_op(0x39, "CODECOPY", 3, 0, 3, **DYN)
_op(0x3A, "GASPRICE", 0, 1, 2)
_op(0x3B, "EXTCODESIZE", 1, 1, 100, **DYN)
_op(0x3C, "EXTCODECOPY", 4, 0, 100, **DYN)  # + cold + copy + memory
_op(0x3D, "RETURNDATASIZE", 0, 1, 2)
_op(0x3E, "RETURNDATACOPY", 3, 0, 3, **DYN, **FAULTS)
_op(0x3F, "EXTCODEHASH", 1, 1, 100, **DYN)
# 0x40s: block
_op(0x40, "BLOCKHASH", 1, 1, 20)
_op(0x41, "COINBASE", 0, 1, 2)
_op(0x42, "TIMESTAMP", 0, 1, 2)
_op(0x43, "NUMBER", 0, 1, 2)
_op(0x44, "PREVRANDAO", 0, 1, 2)
_op(0x45, "GASLIMIT", 0, 1, 2)
_op(0x46, "CHAINID", 0, 1, 2)
_op(0x47, "SELFBALANCE", 0, 1, 5)
_op(0x48, "BASEFEE", 0, 1, 2)
_op(0x49, "BLOBHASH", 1, 1, 3, C)  # EIP-4844
_op(0x4A, "BLOBBASEFEE", 0, 1, 2, C)  # EIP-7516
# 0x50s: stack, memory, storage, flow
_op(0x50, "POP", 1, 0, 2)
_op(0x51, "MLOAD", 1, 1, 3, **DYN)
_op(0x52, "MSTORE", 2, 0, 3, **DYN)
_op(0x53, "MSTORE8", 2, 0, 3, **DYN)
_op(0x54, "SLOAD", 1, 1, 100, **DYN)  # + 2000 if cold
_op(0x55, "SSTORE", 2, 0, 0, **DYN, **FAULTS)  # all dynamic (EIP-2200/2929/3529)
_op(0x56, "JUMP", 1, 0, 8, jumps=True, **FAULTS)
_op(0x57, "JUMPI", 2, 0, 10, jumps=True, **FAULTS)
_op(0x58, "PC", 0, 1, 2)
_op(0x59, "MSIZE", 0, 1, 2)
_op(0x5A, "GAS", 0, 1, 2)
_op(0x5B, "JUMPDEST", 0, 0, 1)
_op(0x5C, "TLOAD", 1, 1, 100, C)  # EIP-1153
_op(0x5D, "TSTORE", 2, 0, 100, C, **FAULTS)
_op(0x5E, "MCOPY", 3, 0, 3, C, **DYN)  # EIP-5656
_op(0x5F, "PUSH0", 0, 1, 2, S)  # EIP-3855
for _n in range(1, 33):
    _op(0x5F + _n, f"PUSH{_n}", 0, 1, 3, immediate=_n)
for _n in range(1, 17):
    _op(0x7F + _n, f"DUP{_n}", _n, _n + 1, 3)
for _n in range(1, 17):
    _op(0x8F + _n, f"SWAP{_n}", _n + 1, _n + 1, 3)
for _n in range(5):
    _op(0xA0 + _n, f"LOG{_n}", 2 + _n, 0, 375 + 375 * _n, **DYN, **FAULTS)  # + 8 per byte + memory
# 0xf0s: system
_op(0xF0, "CREATE", 3, 1, 32000, **DYN, **FAULTS)
_op(0xF1, "CALL", 7, 1, 100, **DYN, **FAULTS)
_op(0xF2, "CALLCODE", 7, 1, 100, **DYN, **FAULTS)
_op(0xF3, "RETURN", 2, 0, 0, terminates=True, **DYN)
_op(0xF4, "DELEGATECALL", 6, 1, 100, **DYN)
_op(0xF5, "CREATE2", 4, 1, 32000, **DYN, **FAULTS)
_op(0xFA, "STATICCALL", 6, 1, 100, **DYN)
_op(0xFD, "REVERT", 2, 0, 0, terminates=True, **DYN)
_op(0xFE, "INVALID", 0, 0, 0, terminates=True, valid=False)
_op(0xFF, "SELFDESTRUCT", 1, 0, 5000, terminates=True, **DYN, **FAULTS)

del _n

# Names for every opcode, valid or not (disassembly, traces).
NAMES: dict[int, str] = {code: info.name for code, info in OPCODES.items()}
BY_NAME: dict[str, int] = {info.name: code for code, info in OPCODES.items()}


def _invalid(code: int) -> OpInfo:
    return OpInfo(code, NAMES.get(code, "INVALID"), 0, 0, 0, Fork.PARIS, terminates=True, valid=False)


def opcode_info(op: int, fork: Fork) -> OpInfo:
    """The record of `op` at `fork`; an INVALID record (valid=False, terminates) when the opcode is
    undefined or not yet introduced at that fork."""
    info = OPCODES.get(op)
    if info is None or not info.valid or info.since > fork:
        return _invalid(op)
    return info


def fork_table(fork: Fork) -> list[OpInfo]:
    """All 256 records at `fork`, indexed by opcode."""
    return [opcode_info(op, fork) for op in range(256)]


def static_gas_table(fork: Fork) -> list[int]:
    """Static gas per opcode at `fork` (0 for INVALID, which consumes all gas anyway)."""
    return [info.gas if info.valid else 0 for info in fork_table(fork)]


def jumpdests(code: bytes) -> bytearray:
    """Valid jump destinations: JUMPDEST bytes that are not PUSH data. Returns a bytearray of
    len(code) with 1 at valid destinations (cheap membership by index)."""
    n = len(code)
    valid = bytearray(n)
    i = 0
    while i < n:
        op = code[i]
        if op == 0x5B:
            valid[i] = 1
        elif 0x60 <= op <= 0x7F:
            i += op - 0x5F
        i += 1
    return valid
