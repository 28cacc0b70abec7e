"""Our trie against py-trie's HexaryTrie: same roots from the bulk builder and from incremental updates."""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from state.trie import EMPTY_ROOT, Trie, build_root

keys = st.binary(min_size=1, max_size=4) | st.binary(min_size=32, max_size=32)
values = st.binary(min_size=1, max_size=48)
kv_dicts = st.dictionaries(keys, values, max_size=40)


def _reference(d: dict[bytes, bytes]) -> bytes:
    t = HexaryTrie({})
    for k, v in d.items():
        t[k] = v
    return t.root_hash


def test_empty_root_constant():
    assert EMPTY_ROOT == keccak(rlp.encode(b"")) == HexaryTrie({}).root_hash
    assert build_root([]) == EMPTY_ROOT


def test_known_roots():
    # the ethereum/tests TrieTests "dogs" and "puppy" vectors
    d = {b"doe": b"reindeer", b"dog": b"puppy", b"dogglesworth": b"cat"}
    want = "8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"
    assert build_root([(k.hex(), v) for k, v in d.items()]).hex() == want
    d = {b"do": b"verb", b"horse": b"stallion", b"doge": b"coin", b"dog": b"puppy"}
    want = "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"
    assert build_root([(k.hex(), v) for k, v in d.items()]).hex() == want


@settings(max_examples=150, deadline=None)
@given(kv_dicts)
def test_bulk_root_matches_py_trie(d):
    assert build_root([(k.hex(), v) for k, v in d.items()]) == _reference(d)


@settings(max_examples=150, deadline=None)
@given(kv_dicts, st.lists(st.tuples(keys, st.one_of(st.none(), values)), max_size=40), st.integers(1, 7))
def test_incremental_matches_py_trie(initial, ops, chunk):
    store: dict[bytes, bytes] = {}
    trie = Trie(store.get)
    root = build_root([(k.hex(), v) for k, v in initial.items()], store.__setitem__)
    ref = HexaryTrie({})
    for k, v in initial.items():
        ref[k] = v
    assert root == ref.root_hash
    for i in range(0, len(ops), chunk):
        part = ops[i : i + chunk]
        root = trie.update(root, [(k.hex(), v) for k, v in part], store.__setitem__)
        for k, v in part:
            if v is None:
                if k in ref:
                    del ref[k]
            else:
                ref[k] = v
        assert root == ref.root_hash
    # every node the root needs is in the store: a fresh reader (empty cache) walks it all
    fresh = Trie(store.get)
    expected = {}
    for k, v in initial.items():
        expected[k] = v
    for k, v in ops:
        if v is None:
            expected.pop(k, None)
        else:
            expected[k] = v
    assert dict(fresh.items(root)) == {k.hex(): v for k, v in expected.items()}
    for k, v in expected.items():
        assert fresh.get(root, k.hex()) == v


def test_stored_nodes_match_py_trie():
    """The bulk builder emits exactly the nodes py-trie stores (minus py-trie's blank node)."""
    import random

    rnd = random.Random(7)
    d = {keccak(rnd.randbytes(20)): rlp.encode([rnd.randrange(10**20), rnd.randbytes(20)]) for _ in range(500)}
    ref_db: dict[bytes, bytes] = {}
    ref = HexaryTrie(ref_db)
    for k, v in d.items():
        ref[k] = v
    ours: dict[bytes, bytes] = {}
    assert build_root([(k.hex(), v) for k, v in d.items()], ours.__setitem__) == ref.root_hash
    # py-trie keeps stale nodes of intermediate roots; every node reachable now must be in ours
    live = HexaryTrie(ours, ref.root_hash)
    for k, v in d.items():
        assert live[k] == v
    assert set(ours) <= set(ref_db)


def test_delete_everything_gives_empty_root():
    store: dict[bytes, bytes] = {}
    trie = Trie(store.get)
    keys_ = [bytes([i, j]) for i in range(5) for j in range(5)]
    root = trie.update(EMPTY_ROOT, [(k.hex(), b"v" + k) for k in keys_], store.__setitem__)
    assert root != EMPTY_ROOT
    root = trie.update(root, [(k.hex(), None) for k in keys_], store.__setitem__)
    assert root == EMPTY_ROOT
