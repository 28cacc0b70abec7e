"""Checks of a stored state shared by the crash-safety and import tests."""

from __future__ import annotations

from common.constants import EMPTY_ROOT
from state.account import Account
from state.db import StateDB
from state.trie import build_root


def assert_state_complete(db: StateDB, root: bytes) -> None:
    """Every node under `root` is stored: the account trie and each storage trie rebuild to their
    roots, and every account's code can be read."""
    items = list(db.trie.items(root))
    assert build_root(items) == root
    for _, value in items:
        acc = Account.decode(value)
        if acc.storage_root != EMPTY_ROOT:
            assert build_root(list(db.trie.items(acc.storage_root))) == acc.storage_root
        db.get_code(acc.code_hash)
