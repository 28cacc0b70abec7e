"""StateDB.apply on an existing state gives the same root as building the resulting alloc from scratch."""

from __future__ import annotations

import random

from eth_hash.auto import keccak
from trie import HexaryTrie

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT
from state.account import Account
from state.changes import StateChanges
from state.db import StateDB, state_root_of_alloc
from state.kv import MemoryStore


def _random_alloc(rnd: random.Random, n: int) -> dict:
    alloc = {}
    for _ in range(n):
        code = rnd.randbytes(rnd.choice([0, 0, 5, 40]))
        storage = {
            rnd.randrange(2**256 if rnd.random() < 0.3 else 50): rnd.randrange(1, 2**256)
            for _ in range(rnd.choice([0, 0, 3, 20]))
        }
        alloc[rnd.randbytes(20)] = (rnd.randrange(5), rnd.randrange(10**24), code, storage)
    return alloc


def _alloc_root_with_py_trie(alloc: dict) -> bytes:
    import rlp

    state = HexaryTrie({})
    for address, (nonce, balance, code, storage) in alloc.items():
        st = HexaryTrie({})
        for slot, value in storage.items():
            if value:
                st[keccak(slot.to_bytes(32, "big"))] = rlp.encode(value)
        acc = Account(nonce, balance, st.root_hash, keccak(code) if code else EMPTY_CODE_HASH)
        state[keccak(address)] = acc.encode()
    return state.root_hash


def test_alloc_root_matches_py_trie():
    rnd = random.Random(1)
    for n in (0, 1, 2, 17, 200):
        alloc = _random_alloc(rnd, n)
        assert state_root_of_alloc(alloc) == _alloc_root_with_py_trie(alloc)


def test_apply_matches_rebuild():
    rnd = random.Random(2)
    alloc = _random_alloc(rnd, 300)
    kv = MemoryStore()
    db = StateDB(kv)
    db.commit_alloc(alloc)
    assert db.root == state_root_of_alloc(alloc)
    for _round in range(15):
        changes = StateChanges()
        addresses = list(alloc)
        for _ in range(rnd.randrange(1, 12)):
            r = rnd.random()
            if r < 0.15:  # delete
                a = rnd.choice(addresses)
                if a in changes.accounts:
                    continue
                changes.accounts[a] = None
                alloc.pop(a, None)
                continue
            a = rnd.randbytes(20) if r < 0.35 else rnd.choice(addresses)
            if a in changes.accounts:
                continue  # one change per address per round, as a journal would fold them
            nonce, balance, code, storage = alloc.get(a, (0, 0, b"", {}))
            storage = dict(storage)
            if a in alloc and rnd.random() < 0.1:
                changes.storage_cleared.add(a)
                storage = {}
            slots = {}
            for _ in range(rnd.randrange(0, 6)):
                s = rnd.choice(list(storage) + [rnd.randrange(100)]) if storage else rnd.randrange(100)
                v = 0 if rnd.random() < 0.3 else rnd.randrange(2**256)
                slots[s] = v
                storage[s] = v
            if rnd.random() < 0.2:
                code = rnd.randbytes(30)
                changes.codes[keccak(code)] = code
            nonce += 1
            balance = rnd.randrange(10**20)
            changes.accounts[a] = Account(nonce, balance, b"ignored" * 4, keccak(code) if code else EMPTY_CODE_HASH)
            if slots:
                changes.storage[a] = slots
            alloc[a] = (nonce, balance, code, {s: v for s, v in storage.items() if v})
        expected = state_root_of_alloc(alloc)
        assert db.compute_root(changes) == expected
        assert db.apply(changes) == expected
        assert db.root == expected
    # a fresh StateDB over the same store reads everything back
    fresh = StateDB(kv, db.root)
    assert fresh.diff_alloc(alloc) == []
    for a, (nonce, balance, code, storage) in alloc.items():
        acc = fresh.get_account(a)
        assert (acc.nonce, acc.balance) == (nonce, balance)
        assert fresh.get_code(acc.code_hash) == code
        for s, v in storage.items():
            assert fresh.get_storage(a, s) == v
    assert fresh.get_storage(rnd.randbytes(20), 1) == 0


def test_storage_only_change_updates_storage_root():
    a = b"\x11" * 20
    db = StateDB(MemoryStore())
    db.commit_alloc({a: (1, 5, b"\x60\x00", {1: 2})})
    changes = StateChanges(storage={a: {1: 0, 7: 0x80}})
    db.apply(changes)
    assert db.get_storage(a, 1) == 0 and db.get_storage(a, 7) == 0x80
    assert db.root == state_root_of_alloc({a: (1, 5, b"\x60\x00", {7: 0x80})})
    assert db.get_account(a).storage_root != EMPTY_ROOT


def test_apply_into_uncommitted_batch_is_readable_then_atomic():
    a, b = b"\x01" * 20, b"\x02" * 20
    kv = MemoryStore()
    db = StateDB(kv)
    db.commit_alloc({a: (0, 1, b"", {})})
    before = dict(kv.data)
    batch = kv.write_batch()
    code = b"\x60\x01"
    db.apply(
        StateChanges(
            accounts={b: Account(0, 9, code_hash=keccak(code))}, storage={b: {3: 4}}, codes={keccak(code): code}
        ),
        batch,
    )
    assert kv.data == before  # nothing reached the store yet
    assert db.get_account(b).balance == 9 and db.get_storage(b, 3) == 4 and db.get_code(keccak(code)) == code
    batch.commit()
    fresh = StateDB(kv, db.root)
    assert fresh.get_storage(b, 3) == 4 and fresh.get_account(a).balance == 1
