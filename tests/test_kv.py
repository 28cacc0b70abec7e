"""KV stores: a write batch is all or nothing, and reads see pending writes only through the batch."""

from __future__ import annotations

import pytest

from state.kv import LevelDBStore, MemoryStore


@pytest.fixture(params=["memory", "leveldb"])
def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    yield s
    s.close()


def test_put_get_delete(store):
    assert store.get(b"a") is None
    store.put(b"a", b"1")
    assert store.get(b"a") == b"1"
    store.delete(b"a")
    assert store.get(b"a") is None


def test_batch_commit_applies_all(store):
    store.put(b"old", b"x")
    b = store.write_batch()
    b.put(b"k1", b"v1")
    b.put(b"k2", b"v2")
    b.delete(b"old")
    assert store.get(b"k1") is None and store.get(b"old") == b"x"  # nothing visible before commit
    assert b.get(b"k1") == b"v1" and b.get(b"old") is None  # but the batch sees its own writes
    b.commit()
    assert (store.get(b"k1"), store.get(b"k2"), store.get(b"old")) == (b"v1", b"v2", None)


def test_batch_context_manager_drops_everything_on_error(store):
    with pytest.raises(ValueError):
        with store.write_batch() as b:
            b.put(b"k1", b"v1")
            b.put(b"k2", b"v2")
            raise ValueError("boom")
    assert store.get(b"k1") is None and store.get(b"k2") is None
    with store.write_batch() as b:
        b.put(b"k3", b"v3")
    assert store.get(b"k3") == b"v3"


def test_committed_batch_cannot_be_reused(store):
    b = store.write_batch()
    b.put(b"a", b"1")
    b.commit()
    with pytest.raises(RuntimeError):
        b.put(b"b", b"2")


def test_leveldb_persists_across_reopen(tmp_path):
    s = LevelDBStore(tmp_path / "db")
    with s.write_batch() as b:
        b.put(b"k", b"v")
    s.close()
    s = LevelDBStore(tmp_path / "db")
    assert s.get(b"k") == b"v"
    s.close()
