"""The set of state changes one block (or one state test) folds into the StateDB."""

from __future__ import annotations

from dataclasses import dataclass, field

from .account import Account


@dataclass
class StateChanges:
    # address -> new account (its storage_root is ignored: StateDB recomputes it), None = delete
    accounts: dict[bytes, Account | None] = field(default_factory=dict)
    # address -> {slot: value}; value 0 deletes the slot
    storage: dict[bytes, dict[int, int]] = field(default_factory=dict)
    # addresses whose storage starts from an empty trie before `storage` is applied
    storage_cleared: set[bytes] = field(default_factory=set)
    # code_hash -> code, for new code
    codes: dict[bytes, bytes] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.accounts or self.storage or self.storage_cleared or self.codes)
