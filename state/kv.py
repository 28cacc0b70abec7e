"""Key-value stores under the state and the chain data: LevelDB (plyvel) on disk, a dict in memory.

All writes of one unit of work (a genesis, a block) go through one `WriteBatch`, whose `commit()`
hands them to the store in a single atomic write, so a crash never leaves half of it on disk.
"""

from __future__ import annotations

import os
from typing import Protocol

_DELETED = None


class KVStore(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes) -> None: ...
    def delete(self, key: bytes) -> None: ...
    def write_batch(self) -> WriteBatch: ...
    def close(self) -> None: ...


class WriteBatch:
    """Pending writes, readable before commit (`get` sees them), applied all at once by `commit()`.

    As a context manager it commits when the block ends normally and drops everything on an exception.
    """

    __slots__ = ("_store", "ops", "committed", "discarded")

    def __init__(self, store: _BaseStore) -> None:
        self._store = store
        # key -> value, or None for a delete; a dict so the last write of a key wins, as in LevelDB
        self.ops: dict[bytes, bytes | None] = {}
        self.committed = False
        self.discarded = False

    def put(self, key: bytes, value: bytes) -> None:
        self._check_open()
        self.ops[key] = value

    def delete(self, key: bytes) -> None:
        self._check_open()
        self.ops[key] = _DELETED

    def get(self, key: bytes) -> bytes | None:
        """The value as it will be after commit (pending write, else the store's)."""
        if key in self.ops:
            return self.ops[key]
        return self._store.get(key)

    def __len__(self) -> int:
        return len(self.ops)

    def commit(self) -> None:
        self._check_open()
        self._store._write_ops(self.ops)
        self.committed = True

    def discard(self) -> None:
        self.ops = {}
        self.discarded = True

    def _check_open(self) -> None:
        if self.committed or self.discarded:
            raise RuntimeError("write batch already committed or discarded")

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class _BaseStore:
    def get(self, key: bytes) -> bytes | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def write_batch(self) -> WriteBatch:
        return WriteBatch(self)

    def _write_ops(self, ops: dict[bytes, bytes | None]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class MemoryStore(_BaseStore):
    """A dict; for tests and for throw-away computations."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.data[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self.data.pop(key, None)

    def _write_ops(self, ops: dict[bytes, bytes | None]) -> None:
        data = self.data
        for k, v in ops.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v

    def close(self) -> None:
        pass


class LevelDBStore(_BaseStore):
    """LevelDB through plyvel; a batch commit is one plyvel write batch (atomic, all or nothing)."""

    def __init__(self, path: str | os.PathLike[str], create_if_missing: bool = True) -> None:
        import plyvel  # imported here so the memory store does not need the C extension

        self.path = os.fspath(path)
        if create_if_missing:
            # LevelDB creates the last directory only
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._db = plyvel.DB(self.path, create_if_missing=create_if_missing)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        self._db.put(key, value)

    def delete(self, key: bytes) -> None:
        self._db.delete(key)

    def _write_ops(self, ops: dict[bytes, bytes | None]) -> None:
        wb = self._db.write_batch()
        for k, v in ops.items():
            if v is None:
                wb.delete(k)
            else:
                wb.put(k, v)
        wb.write()  # one atomic LevelDB write

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()

    def __enter__(self) -> LevelDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
