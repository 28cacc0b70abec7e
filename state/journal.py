"""Journaled state: the EVM's view of the world during a block.

Every write appends an undo entry to one journal; `snapshot()` is the journal length and
`revert(id)` pops entries back to it, so nested call frames revert exactly. Values read from the
committed `StateDB` are cached but never journaled (they are the base, not a change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT
from common.keccak import keccak

from .account import Account
from .changes import StateChanges

if TYPE_CHECKING:
    from .db import StateDB
    from .kv import WriteBatch

Log = tuple[bytes, tuple[bytes, ...], bytes]


class _Acc:
    """Mutable current value of one account (its storage lives beside it)."""

    __slots__ = ("nonce", "balance", "code_hash")

    def __init__(self, nonce: int = 0, balance: int = 0, code_hash: bytes = EMPTY_CODE_HASH) -> None:
        self.nonce = nonce
        self.balance = balance
        self.code_hash = code_hash

    def copy(self) -> _Acc:
        return _Acc(self.nonce, self.balance, self.code_hash)

    def is_empty(self) -> bool:
        return self.nonce == 0 and self.balance == 0 and self.code_hash == EMPTY_CODE_HASH


_MISSING: Any = object()


class JournaledState:
    def __init__(self, db: StateDB) -> None:
        self._db = db
        self._reset_caches()
        self._reset_transaction()

    # ------------------------------------------------------------------ internals
    def _reset_caches(self) -> None:
        # address -> _Acc | None: current value of every account loaded or written
        self._accounts: dict[bytes, _Acc | None] = {}
        # address -> Account | None as committed in the StateDB (for change detection, storage root)
        self._base: dict[bytes, Account | None] = {}
        # written storage: address -> {slot: value}; base storage reads are cached separately
        self._storage: dict[bytes, dict[int, int]] = {}
        self._base_storage: dict[bytes, dict[int, int]] = {}
        # accounts whose committed storage no longer counts (destroyed or re-created)
        self._cleared: set[bytes] = set()
        self._dirty: set[bytes] = set()
        self._codes: dict[bytes, bytes] = {}
        self._journal: list[tuple[Callable[..., object], tuple[Any, ...]]] = []

    def _reset_transaction(self) -> None:
        self._transient: dict[tuple[bytes, int], int] = {}
        self._warm_addresses: set[bytes] = set()
        self._warm_slots: set[tuple[bytes, int]] = set()
        self._original: dict[tuple[bytes, int], int] = {}
        self.refund = 0
        self.logs: list[Log] = []
        self._created: set[bytes] = set()
        self.selfdestructs: set[bytes] = set()
        self._journal = []

    def _load(self, address: bytes) -> _Acc | None:
        try:
            return self._accounts[address]
        except KeyError:
            pass
        base = self._db.get_account(address)
        self._base[address] = base
        acc = None if base is None else _Acc(base.nonce, base.balance, base.code_hash)
        self._accounts[address] = acc
        return acc

    def _record_account(self, address: bytes) -> None:
        """Journal the account's current value before it changes."""
        acc = self._load(address)
        self._journal.append((self._undo_account, (address, None if acc is None else acc.copy())))
        self._dirty.add(address)

    def _undo_account(self, address: bytes, old: _Acc | None) -> None:
        self._accounts[address] = old

    def _mutable(self, address: bytes) -> _Acc:
        """The account, created empty if absent, after journaling its old value."""
        self._record_account(address)
        acc = self._accounts[address]
        if acc is None:
            acc = _Acc()
            self._accounts[address] = acc
        return acc

    # ------------------------------------------------------------------ accounts
    def account_exists(self, address: bytes) -> bool:
        return self._load(address) is not None

    def is_empty(self, address: bytes) -> bool:
        acc = self._load(address)
        return acc is None or acc.is_empty()

    def is_alive(self, address: bytes) -> bool:
        acc = self._load(address)
        return acc is not None and not acc.is_empty()

    def get_balance(self, address: bytes) -> int:
        acc = self._load(address)
        return 0 if acc is None else acc.balance

    def set_balance(self, address: bytes, value: int) -> None:
        acc = self._mutable(address)
        acc.balance = value
        self._drop_if_empty(address, acc)

    def add_balance(self, address: bytes, value: int) -> None:
        acc = self._mutable(address)
        acc.balance += value
        self._drop_if_empty(address, acc)

    def sub_balance(self, address: bytes, value: int) -> None:
        acc = self._mutable(address)
        if acc.balance < value:
            raise ValueError("balance underflow")
        acc.balance -= value
        self._drop_if_empty(address, acc)

    def get_nonce(self, address: bytes) -> int:
        acc = self._load(address)
        return 0 if acc is None else acc.nonce

    def set_nonce(self, address: bytes, value: int) -> None:
        acc = self._mutable(address)
        acc.nonce = value
        self._drop_if_empty(address, acc)

    def increment_nonce(self, address: bytes) -> None:
        self._mutable(address).nonce += 1

    def get_code_hash(self, address: bytes) -> bytes:
        acc = self._load(address)
        return EMPTY_CODE_HASH if acc is None else acc.code_hash

    def get_code(self, address: bytes) -> bytes:
        acc = self._load(address)
        if acc is None or acc.code_hash == EMPTY_CODE_HASH:
            return b""
        return self.code_by_hash(acc.code_hash)

    def code_by_hash(self, code_hash: bytes) -> bytes:
        code = self._codes.get(code_hash)
        if code is None:
            code = self._db.get_code(code_hash)
            self._codes[code_hash] = code
        return code

    def set_code(self, address: bytes, code: bytes) -> None:
        code_hash = keccak(code) if code else EMPTY_CODE_HASH
        self._codes.setdefault(code_hash, code)
        acc = self._mutable(address)
        acc.code_hash = code_hash
        self._drop_if_empty(address, acc)

    def _drop_if_empty(self, address: bytes, acc: _Acc) -> None:
        # Post-Spurious-Dragon rule as the spec states it (modify_state): an account left empty by
        # any modification, a zero-value transfer included, ceases to exist.
        if acc.nonce == 0 and acc.balance == 0 and acc.code_hash == EMPTY_CODE_HASH:
            self.destroy_account(address)

    def has_storage(self, address: bytes) -> bool:
        """Non-empty storage (EIP-7610 collision rule)."""
        if any(self._storage.get(address, {}).values()):
            return True
        if address in self._cleared:
            return False
        self._load(address)
        base = self._base.get(address)
        if base is None or base.storage_root == EMPTY_ROOT:
            return False
        # Committed storage is non-empty unless every slot was overwritten with zero; the trie
        # cannot enumerate cheaply, so a non-empty committed root counts as storage.
        return True

    def create_account(self, address: bytes) -> None:
        """A fresh contract account at `address`: nonce 0, code empty, storage empty; balance kept."""
        acc = self._mutable(address)
        acc.nonce = 0
        acc.code_hash = EMPTY_CODE_HASH
        self._clear_storage(address)

    def destroy_account(self, address: bytes) -> None:
        self._record_account(address)
        self._accounts[address] = None
        self._clear_storage(address)

    def _clear_storage(self, address: bytes) -> None:
        self._journal.append((self._undo_clear, (address, self._storage.get(address), address in self._cleared)))
        self._storage[address] = {}
        self._cleared.add(address)
        self._dirty.add(address)

    def _undo_clear(self, address: bytes, old: dict[int, int] | None, was_cleared: bool) -> None:
        if old is None:
            self._storage.pop(address, None)
        else:
            self._storage[address] = old
        if not was_cleared:
            self._cleared.discard(address)

    def touch(self, address: bytes) -> None:
        """A modification that changes nothing (e.g. a zero-value transfer): an existing empty
        account is deleted by it (EIP-161)."""
        acc = self._load(address)
        if acc is not None and acc.is_empty():
            self.destroy_account(address)

    # ------------------------------------------------------------------ storage
    def get_storage(self, address: bytes, slot: int) -> int:
        written = self._storage.get(address)
        if written is not None and slot in written:
            return written[slot]
        if address in self._cleared:
            return 0
        cache = self._base_storage.get(address)
        if cache is None:
            cache = self._base_storage[address] = {}
        value = cache.get(slot)
        if value is None:
            self._load(address)
            base = self._base.get(address)
            # No committed storage trie: skip the database read.
            # the account is known: read its storage trie without walking the account trie again
            value = (
                0
                if base is None or base.storage_root == EMPTY_ROOT
                else self._db.get_storage_at(base.storage_root, slot)
            )
            cache[slot] = value
        return value

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        key = (address, slot)
        current = self.get_storage(address, slot)
        if key not in self._original:
            self._original[key] = current
        written = self._storage.get(address)
        if written is None:
            written = self._storage[address] = {}
        self._journal.append((self._undo_storage, (written, slot, written.get(slot, _MISSING))))
        written[slot] = value
        self._dirty.add(address)

    @staticmethod
    def _undo_storage(written: dict[int, int], slot: int, old: Any) -> None:
        if old is _MISSING:
            written.pop(slot, None)
        else:
            written[slot] = old

    def set_storages(self, address: bytes, items: Iterable[tuple[int, int]]) -> None:
        """`set_storage` of each (slot, value) of one account (distinct slots), journaled as one entry:
        compiled code's write-back of a frame's slots (each read through `access_storage` first, which
        recorded its original value)."""
        written = self._storage.get(address)
        if written is None:
            written = self._storage[address] = {}
        originals = self._original
        undo: list[tuple[int, Any]] = []
        for slot, value in items:
            if (address, slot) not in originals:  # (a slot of an account created in this transaction)
                originals[(address, slot)] = self.get_storage(address, slot)
            undo.append((slot, written.get(slot, _MISSING)))
            written[slot] = value
        if undo:
            self._journal.append((self._undo_storages, (written, undo)))
            self._dirty.add(address)

    @staticmethod
    def _undo_storages(written: dict[int, int], undo: list[tuple[int, Any]]) -> None:
        for slot, old in reversed(undo):
            if old is _MISSING:
                written.pop(slot, None)
            else:
                written[slot] = old

    def get_original_storage(self, address: bytes, slot: int) -> int:
        """Value at the start of the transaction (EIP-2200); storage of accounts created in this
        transaction starts empty."""
        if address in self._created:
            return 0
        value = self._original.get((address, slot))
        return self.get_storage(address, slot) if value is None else value

    def access_storage(self, address: bytes, slot: int) -> tuple[int, int, bool]:
        """Warm (address, slot) and return (current, original, was_cold) in one call: warm_slot,
        get_storage and get_original_storage, for compiled code's first touch of a slot in a frame."""
        # warm_slot and get_storage's cached paths, inlined: compiled code calls this for every slot a frame
        # touches first (the 64-cold-slot benchmark loop: 64 calls per message, ~10% of its time in calls)
        key = (address, slot)
        warm = self._warm_slots
        cold = key not in warm
        if cold:
            warm.add(key)
            self._journal.append((warm.discard, (key,)))
        written = self._storage.get(address)
        if written is not None and slot in written:
            current = written[slot]
        else:
            cache = self._base_storage.get(address)
            value = cache.get(slot) if cache is not None and address not in self._cleared else None
            current = self.get_storage(address, slot) if value is None else value
        if address in self._created:
            return current, 0, cold
        # recorded now (a slot not yet written in this transaction holds its original value), so that the
        # write-back of compiled code (set_storages) finds it
        return current, self._original.setdefault(key, current), cold

    def get_transient(self, address: bytes, slot: int) -> int:
        return self._transient.get((address, slot), 0)

    def set_transient(self, address: bytes, slot: int, value: int) -> None:
        key = (address, slot)
        self._journal.append((self._undo_transient, (key, self._transient.get(key, _MISSING))))
        self._transient[key] = value

    def _undo_transient(self, key: tuple[bytes, int], old: Any) -> None:
        if old is _MISSING:
            self._transient.pop(key, None)
        else:
            self._transient[key] = old

    # ------------------------------------------------------------------ access lists (EIP-2929)
    def warm_address(self, address: bytes) -> bool:
        """Warm `address`; True if it was cold."""
        if address in self._warm_addresses:
            return False
        self._warm_addresses.add(address)
        self._journal.append((self._warm_addresses.discard, (address,)))
        return True

    def is_warm_address(self, address: bytes) -> bool:
        return address in self._warm_addresses

    def warm_addresses_include(self, addresses: frozenset[bytes]) -> bool:
        """Whether every one of `addresses` is warm (one set operation)."""
        return addresses <= self._warm_addresses

    def warm_slot(self, address: bytes, slot: int) -> bool:
        """Warm (address, slot); True if it was cold."""
        key = (address, slot)
        if key in self._warm_slots:
            return False
        self._warm_slots.add(key)
        self._journal.append((self._warm_slots.discard, (key,)))
        return True

    def accessed(self) -> tuple[frozenset[bytes], frozenset[tuple[bytes, int]]]:
        """The warm addresses and (address, slot) pairs now (EIP-2929's access sets): what a transaction
        touched, as eth_createAccessList reports it."""
        return frozenset(self._warm_addresses), frozenset(self._warm_slots)

    def add_refund(self, amount: int) -> None:
        """Change the refund counter by `amount` (negative: a refund given earlier is taken back)."""
        self._journal.append((self._set_refund, (self.refund,)))
        self.refund += amount

    def _set_refund(self, value: int) -> None:
        self.refund = value

    def add_log(self, address: bytes, topics: Sequence[bytes], data: bytes) -> None:
        self.logs.append((address, tuple(topics), bytes(data)))
        self._journal.append((self.logs.pop, ()))

    def add_logs(self, entries: Sequence[Log]) -> None:
        """Several logs in order, as (address, topics, data) with bytes topics; one journal entry."""
        self._journal.append((self._truncate_logs, (len(self.logs),)))
        self.logs.extend(entries)

    def _truncate_logs(self, n: int) -> None:
        del self.logs[n:]

    def mark_created(self, address: bytes) -> None:
        if address not in self._created:
            self._created.add(address)
            self._journal.append((self._created.discard, (address,)))

    def was_created(self, address: bytes) -> bool:
        return address in self._created

    def mark_selfdestruct(self, address: bytes) -> None:
        if address not in self.selfdestructs:
            self.selfdestructs.add(address)
            self._journal.append((self.selfdestructs.discard, (address,)))

    # ------------------------------------------------------------------ journal
    def snapshot(self) -> int:
        return len(self._journal)

    def revert(self, snapshot_id: int) -> None:
        journal = self._journal
        while len(journal) > snapshot_id:
            undo, args = journal.pop()
            undo(*args)

    # ------------------------------------------------------------------ transaction / block boundaries
    def begin_transaction(self) -> None:
        self._reset_transaction()

    def finalize_transaction(self, delete_selfdestructed: bool = True) -> None:
        """Delete the accounts self-destructed in this transaction (EIP-6780 keeps them to those
        created in it; a system call deletes none: `delete_selfdestructed=False`); empty accounts were already
        dropped as they were modified."""
        if delete_selfdestructed:
            for address in self.selfdestructs:
                self.destroy_account(address)
        self._transient = {}
        self._journal = []

    def changes(self) -> StateChanges:
        changes = StateChanges()
        for address in self._dirty:
            acc = self._accounts.get(address, _MISSING)
            if acc is _MISSING:
                continue
            base = self._base.get(address)
            if acc is None:
                if base is not None:
                    changes.accounts[address] = None
                continue
            changes.accounts[address] = Account(acc.nonce, acc.balance, EMPTY_ROOT, acc.code_hash)
            if address in self._cleared:
                changes.storage_cleared.add(address)
            written = self._storage.get(address)
            if written:
                changes.storage[address] = dict(written)
            if acc.code_hash != EMPTY_CODE_HASH and acc.code_hash in self._codes:
                changes.codes[acc.code_hash] = self._codes[acc.code_hash]
        return changes

    def commit(self, batch: WriteBatch | None = None) -> bytes:
        """Fold every change into the StateDB; returns the new state root."""
        root = self._db.apply(self.changes(), batch)
        self._reset_caches()
        self._reset_transaction()
        return root

    @property
    def db(self) -> Any:
        return self._db
