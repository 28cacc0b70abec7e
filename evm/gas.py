"""Gas schedule of Paris .. Osaka: constants and the dynamic-cost formulas.

Static gas per opcode lives in evm/opcodes.py (the one home of those numbers); this module holds what
depends on operands or state. Every function is pure (no state access) so the compiler can call or inline it too.
"""

from __future__ import annotations

# --- memory, copies, hashing, logs ---------------------------------------------------------------
G_MEMORY = 3  # per word, plus words**2 // 512
G_COPY = 3  # per word copied (CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY)
G_KECCAK256_WORD = 6
G_EXP_BYTE = 50
G_LOG_DATA = 8

# --- EIP-2929 access costs -----------------------------------------------------------------------
G_WARM_ACCESS = 100
G_COLD_ACCOUNT_ACCESS = 2600
G_COLD_SLOAD = 2100
COLD_ACCOUNT_SURCHARGE = G_COLD_ACCOUNT_ACCESS - G_WARM_ACCESS  # 2500, on top of static 100
COLD_SLOAD_SURCHARGE = G_COLD_SLOAD - G_WARM_ACCESS  # 2000, on top of static 100

# --- storage (EIP-2200 as amended by EIP-2929 and EIP-3529) --------------------------------------
G_SSTORE_SET = 20000
G_SSTORE_RESET = 5000  # "update"; EIP-2929 charges 5000 - 2100 when the slot is warm
G_SSTORE_CLEAR_REFUND = 4800  # EIP-3529
G_CALL_STIPEND = 2300  # the gas a CALL with value adds for the callee
SSTORE_MIN_GAS_LEFT = G_CALL_STIPEND  # EIP-2200: SSTORE fails (out of gas) unless more than this is left

# --- calls and creation --------------------------------------------------------------------------
G_CALL_VALUE = 9000
G_NEW_ACCOUNT = 25000
G_CODE_DEPOSIT = 200  # per byte of deployed code
G_SELFDESTRUCT_NEW_ACCOUNT = 25000

MAX_CODE_SIZE = 0x6000  # EIP-170: 24576 (EIP-3860's init-code limit and cost are fork rules: evm/rules.py)
STACK_LIMIT = 1024
CALL_DEPTH_LIMIT = 1024


def words(size: int) -> int:
    """Number of 32-byte words covering `size` bytes."""
    return (size + 31) >> 5


def memory_cost(size_bytes: int) -> int:
    """Total cost of a memory of `size_bytes` (rounded up to words): 3*w + w*w//512."""
    w = (size_bytes + 31) >> 5
    return G_MEMORY * w + w * w // 512


def copy_cost(size: int) -> int:
    """Per-word copy cost (dynamic part of *COPY)."""
    return G_COPY * ((size + 31) >> 5)


def exp_cost(exponent: int) -> int:
    """Dynamic part of EXP: 50 per byte of the exponent."""
    return G_EXP_BYTE * ((exponent.bit_length() + 7) >> 3)


def keccak_cost(size: int) -> int:
    """Dynamic part of KECCAK256 (and of CREATE2's hashing of the init code): 6 per word."""
    return G_KECCAK256_WORD * ((size + 31) >> 5)


def log_cost(size: int) -> int:
    """Dynamic part of LOGn (topics are static gas): 8 per data byte."""
    return G_LOG_DATA * size


def code_deposit_cost(size: int) -> int:
    return G_CODE_DEPOSIT * size


def sstore_cost(original: int, current: int, new: int, cold: bool) -> tuple[int, int]:
    """EIP-2200 / EIP-2929 / EIP-3529 SSTORE: returns (gas cost, refund delta). The one pricing of SSTORE:
    the Host charges it, and compiled code that stores natively follows `SSTORE_TABLE`, built from it.

    `original` is the value at the start of the transaction, `current` the value now, `new` the
    value being written; `cold` if the slot was not yet accessed in this transaction. The refund
    delta may be negative (a refund given earlier in the transaction is taken back).
    """
    cost = G_COLD_SLOAD if cold else 0
    if original == current and current != new:
        cost += G_SSTORE_SET if original == 0 else G_SSTORE_RESET - G_COLD_SLOAD
    else:
        cost += G_WARM_ACCESS
    refund = 0
    if current != new:
        if original != 0 and current != 0 and new == 0:
            refund += G_SSTORE_CLEAR_REFUND
        if original != 0 and current == 0:
            refund -= G_SSTORE_CLEAR_REFUND
        if original == new:
            if original == 0:
                refund += G_SSTORE_SET - G_WARM_ACCESS
            else:
                refund += G_SSTORE_RESET - G_COLD_SLOAD - G_WARM_ACCESS
    return cost, refund


SstoreCase = tuple[bool, bool, bool, bool, bool, bool, bool]
"""(cold, original == current, current == new, original == new, original == 0, current == 0, new == 0): every
fact `sstore_cost` reads of its operands."""


def sstore_case(original: int, current: int, new: int, cold: bool) -> SstoreCase:
    return (cold, original == current, current == new, original == new, original == 0, current == 0, new == 0)


def _sstore_table() -> dict[SstoreCase, tuple[int, int]]:
    # Values 0..3 give every equal/different and zero/non-zero combination of three operands (1, 2, 3: three
    # different non-zero ones).
    table: dict[SstoreCase, tuple[int, int]] = {}
    for cold in (False, True):
        for original in range(4):
            for current in range(4):
                for new in range(4):
                    table[sstore_case(original, current, new, cold)] = sstore_cost(original, current, new, cold)
    return table


SSTORE_TABLE: dict[SstoreCase, tuple[int, int]] = _sstore_table()
"""`sstore_cost` as data: (gas cost, refund delta) per `SstoreCase`, for code generators (the compiled
backend's native SSTORE) to be built from and tested against (tests/test_gas_sstore.py shows the table is
`sstore_cost` on every operand)."""


def max_call_gas(gas: int) -> int:
    """EIP-150 "all but one 64th": the most a frame with `gas` left can pass to a child."""
    return gas - gas // 64


def call_gas(requested: int, gas_left: int, extra_cost: int) -> int | None:
    """Gas given to a CALL* child (before the stipend), or None when `gas_left` cannot even pay
    `extra_cost` (access + value + new-account costs beyond static gas): out of gas.
    `gas_left` is after static gas and memory expansion were charged."""
    if gas_left < extra_cost:
        return None
    return min(requested, max_call_gas(gas_left - extra_cost))
