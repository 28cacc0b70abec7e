"""The journaled state against a plain-dict model: every operation, nested snapshots and reverts,
then the committed root against a root built from scratch."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from common.constants import EMPTY_ROOT
from state.db import StateDB, state_root_of_alloc
from state.journal import JournaledState
from state.kv import MemoryStore

ADDRS = [bytes([i]) * 20 for i in range(1, 5)]
SLOTS = [0, 1, 2**255]
VALUES = st.sampled_from([0, 1, 7, 2**256 - 1])


class Model:
    """accounts: addr -> [nonce, balance, code, {slot: value}]; transient: {(addr, slot): value}."""

    def __init__(self, alloc):
        self.accounts = {a: [n, b, c, dict(s)] for a, (n, b, c, s) in alloc.items()}
        self.transient = {}
        self.refund = 0
        self.logs = []
        self.warm = set()

    def _get(self, a):
        return self.accounts.setdefault(a, [0, 0, b"", {}])

    def _drop_if_empty(self, a):
        n, b, c, _ = self.accounts[a]
        if n == 0 and b == 0 and c == b"":
            del self.accounts[a]

    def apply(self, op):
        kind, a, x, y = op
        if kind == "balance":
            self._get(a)[1] = x
            self._drop_if_empty(a)
        elif kind == "nonce":
            self._get(a)[0] = x % 3
            self._drop_if_empty(a)
        elif kind == "code":
            self._get(a)[2] = b"\x60\x00" * (x % 3)
            self._drop_if_empty(a)
        elif kind == "storage":
            if a in self.accounts:
                self.accounts[a][3][SLOTS[x % 3]] = y
        elif kind == "transient":
            self.transient[(a, SLOTS[x % 3])] = y
        elif kind == "destroy":
            self.accounts.pop(a, None)
        elif kind == "refund":
            self.refund += x % 100
        elif kind == "log":
            self.logs.append((a, (), bytes([x % 256])))
        elif kind == "warm":
            self.warm.add(a)

    def alloc(self):
        return {a: (n, b, c, {k: v for k, v in s.items() if v}) for a, (n, b, c, s) in self.accounts.items()}


def apply_real(state: JournaledState, op):
    kind, a, x, y = op
    if kind == "balance":
        state.set_balance(a, x)
    elif kind == "nonce":
        state.set_nonce(a, x % 3)
    elif kind == "code":
        state.set_code(a, b"\x60\x00" * (x % 3))
    elif kind == "storage":
        if state.account_exists(a):  # the EVM only writes storage of existing accounts
            state.set_storage(a, SLOTS[x % 3], y)
    elif kind == "transient":
        state.set_transient(a, SLOTS[x % 3], y)
    elif kind == "destroy":
        state.destroy_account(a)
    elif kind == "refund":
        state.add_refund(x % 100)
    elif kind == "log":
        state.add_log(a, (), bytes([x % 256]))
    elif kind == "warm":
        state.warm_address(a)


def check_equal(state: JournaledState, model: Model):
    for a in ADDRS:
        acc = model.accounts.get(a)
        assert state.account_exists(a) == (acc is not None)
        if acc is not None:
            assert state.get_nonce(a) == acc[0]
            assert state.get_balance(a) == acc[1]
            assert state.get_code(a) == acc[2]
            for slot in SLOTS:
                assert state.get_storage(a, slot) == acc[3].get(slot, 0)
        for slot in SLOTS:
            assert state.get_transient(a, slot) == model.transient.get((a, slot), 0)
        assert state.is_warm_address(a) == (a in model.warm)
    assert state.refund == model.refund
    assert state.logs == model.logs


op_strategy = st.tuples(
    st.sampled_from(["balance", "nonce", "code", "storage", "transient", "destroy", "refund", "log", "warm"]),
    st.sampled_from(ADDRS),
    st.integers(0, 2**256 - 1),
    VALUES,
)
step = st.one_of(op_strategy, st.just(("snapshot",)), st.just(("revert",)))

PRE = {
    ADDRS[0]: (1, 10, b"", {0: 5, 1: 6}),
    ADDRS[1]: (0, 0, b"\x60\x01", {}),
    ADDRS[2]: (0, 100, b"", {2**255: 9}),
}


@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=40))
def test_journal_matches_model(steps):
    db = StateDB(MemoryStore())
    db.commit_alloc(PRE)
    state = JournaledState(db)
    state.begin_transaction()
    model = Model(PRE)
    stack = []  # (snapshot id, model copy)
    for s in steps:
        if s[0] == "snapshot":
            stack.append((state.snapshot(), copy.deepcopy(model)))
        elif s[0] == "revert":
            if stack:
                sid, saved = stack.pop()
                state.revert(sid)
                model = saved
        else:
            apply_real(state, s)
            model.apply(s)
        check_equal(state, model)
    root = state.commit()
    assert root == state_root_of_alloc(model.alloc())
    # Reading back through a fresh journal over the committed database gives the same world.
    fresh = JournaledState(db)
    model.transient, model.refund, model.logs, model.warm = {}, 0, [], set()
    check_equal(fresh, model)


def test_original_storage_is_value_at_transaction_start():
    db = StateDB(MemoryStore())
    db.commit_alloc(PRE)
    state = JournaledState(db)
    state.begin_transaction()
    a = ADDRS[0]
    state.set_storage(a, 0, 42)
    state.set_storage(a, 0, 43)
    assert state.get_original_storage(a, 0) == 5
    state.begin_transaction()  # next transaction: the current value becomes the original
    assert state.get_original_storage(a, 0) == 43
    state.mark_created(a)
    assert state.get_original_storage(a, 0) == 0


def test_zero_value_touch_creates_nothing_and_removes_empty():
    db = StateDB(MemoryStore())
    empty = bytes([9]) * 20
    db.commit_alloc({empty: (0, 0, b"", {})})
    state = JournaledState(db)
    state.begin_transaction()
    ghost = bytes([8]) * 20
    state.add_balance(ghost, 0)
    assert not state.account_exists(ghost)
    assert state.account_exists(empty)
    state.touch(empty)
    assert not state.account_exists(empty)
    assert state.commit() == EMPTY_ROOT


def test_transient_storage_cleared_between_transactions():
    state = JournaledState(StateDB(MemoryStore()))
    state.begin_transaction()
    state.set_transient(ADDRS[0], 1, 5)
    state.finalize_transaction()
    state.begin_transaction()
    assert state.get_transient(ADDRS[0], 1) == 0
