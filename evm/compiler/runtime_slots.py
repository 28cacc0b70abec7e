"""Native slot cache of the compiled backend: the protocol of ir/slots.ll (part of the runtime module)
and the values its names take.

Each frame context owns an open-addressing table of ST_CAP entries (layout.py): storage slots
(kind 0) and transient-storage slots (kind 1) of the running frame's account. An entry is live
when its generation equals the context's; bumping the generation empties the table in O(1).

A storage entry exists only for a slot that is *warm* (it was inserted after the Host warmed it:
ir/pyapi.ll's rt_sload_cold / rt_sstore_cold, or a Python host callback), so SLOAD of a live entry costs just its static 100 gas and SSTORE of a
live entry is priced natively with the warm EIP-2200/3529 rules below, whose prices are read from
`evm.gas.SSTORE_TABLE` (tests/test_interfaces.py checks rt_sstore against every warm row of it). Native writes mark the entry dirty and append it to the
dirty list; the refund delta accumulates in ctx REFUND. Python writes dirty entries back into the
journaled state (hostcalls.flush_slots) when the frame succeeds and before every call, create or
selfdestruct, so the journal, refunds and revert stay exactly as with the interpreter; a frame
that reverts or fails simply drops them.

Protocol (scratch words of the context): word 0 = key, word 1 = value (in for stores, out for
loads), word 2 = original value (filled by the Python host call before rt_slot_insert).

* ``rt_sload(ctx) -> i64``: 1 and word 1 = current value on a hit, 0 on a miss;
* ``rt_tload(ctx) -> i64``: the same for transient storage;
* ``rt_query(ctx, kind) -> i64``: the same for the cached reads (layout.K_BALANCE ...: account
  queries, BLOCKHASH, BLOBHASH), which the compiled code inserts after the host call answered;
* ``rt_sstore(ctx, gas) -> i64``: gas left after a native SSTORE, -1 out of gas (EIP-2200
  stipend rule or cost), -2 on a miss or in a static frame;
* ``rt_sload_cold(ctx)``, ``rt_sstore_cold(ctx, gas)``, ``rt_dirty_lists(ctx)``: ir/pyapi.ll (a missed slot
  fetched from the Host and cached; the write-back lists);
* ``rt_tstore(ctx) -> i64``: 1 when done natively (hit, or a new entry), 0 when Python must;
* ``rt_slot_insert(ctx, kind)``: insert (word 0, word 1, word 2) after a Python host call;
* ``rt_log(ctx, n) -> i64``: LOGn (word 0 offset, word 1 size, words 2.. topics) appended to the
  frame's log buffer (1), or 0 when Python must do it (static frame, no memory); the records are
  written back to the journal's logs at the same moments as the slots, in order.
"""

from __future__ import annotations

from .. import gas as G
from . import layout as L

_LOG2_CAP = L.ST_CAP.bit_length() - 1
assert 1 << _LOG2_CAP == L.ST_CAP and L.ST_MAX < L.ST_CAP
_FREE = 1 << 62  # probe result flag: the key is absent, low bits = the free index to use


def _warm(original: int, current: int, new: int) -> tuple[int, int]:
    """(cost, refund) of a warm SSTORE from `evm.gas.SSTORE_TABLE`, the interpreter's one pricing."""
    return G.SSTORE_TABLE[G.sstore_case(original, current, new, False)]


# The warm SSTORE prices rt_sstore selects between, read from the table's named rows (EIP-2200 with
# EIP-2929/3529); tests/test_interfaces.py runs rt_sstore on every warm row of the table.
_WARM = _warm(0, 0, 0)[0]  # no change, or a slot already changed in this transaction
_SET = _warm(0, 0, 1)[0]  # first change of a slot that was zero
_RESET = _warm(1, 1, 2)[0]  # first change of a non-zero slot
_CLEAR = _warm(1, 1, 0)[1]  # refund for clearing a slot that was non-zero (taken back if it is set again)
_RESTORE_SET = _warm(0, 1, 0)[1]  # refund for restoring a slot to its original zero
_RESTORE_RESET = _warm(1, 2, 1)[1]  # refund for restoring a slot to its original non-zero value
assert _warm(1, 0, 1) == (_WARM, _RESTORE_RESET - _CLEAR) and _warm(1, 1, 0) == (_RESET, _CLEAR)

# values of the {{NAME}}s of ir/slots.ll that are not layout.py's offsets
NAMES = {
    "W0": L.SCRATCH,
    "W1": L.SCRATCH + 32,
    "W2": L.SCRATCH + 64,  # the scratch words of the protocol
    "W3": L.SCRATCH + 96,
    "COLD_SSTORE": G.sstore_cost(0, 0, 1, True)[0] - G.sstore_cost(0, 0, 1, False)[0],  # EIP-2929's cold slot
    "HASH_SHIFT": 64 - _LOG2_CAP,
    "CAP_MASK": L.ST_CAP - 1,
    "FREE": _FREE,
    "STIPEND": G.SSTORE_MIN_GAS_LEFT,
    "SET": _SET,
    "RESET": _RESET,
    "WARM": _WARM,
    "CLEAR": _CLEAR,
    "RESTORE_SET": _RESTORE_SET,
    "RESTORE_RESET": _RESTORE_RESET,
}

SLOT_FUNCTIONS = (
    "rt_sload",
    "rt_tload",
    "rt_sstore",
    "rt_tstore",
    "rt_slot_insert",
    "rt_log",
    "rt_query",
    "rt_sload_cold",
    "rt_sstore_cold",
    "rt_dirty_lists",
)
