"""Chain data in the datadir's LevelDB, beside the state trie (key layout: docs/storage.md).

Headers and bodies by hash, the canonical number -> hash index, the head pointer, the genesis hash and the
chain config. `init_genesis` writes the genesis state, block and head in one write batch.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from state.db import StateDB
from state.kv import KVStore, LevelDBStore, WriteBatch

from ..errors import UserError
from ..genesis import Genesis
from ..header import Header

HEADER_PREFIX = b"h"  # h + block hash -> header RLP
BODY_PREFIX = b"b"  # b + block hash -> RLP list of the block's items after the header
NUMBER_PREFIX = b"N"  # N + block hash -> block number (8 bytes big-endian)
CANONICAL_PREFIX = b"H"  # H + number (8 bytes big-endian) -> canonical block hash
HEAD_KEY = b"m:head"  # hash of the canonical head block
SAFE_KEY = b"m:safe"  # the consensus client's safe block (Engine API forkchoiceUpdated)
FINALIZED_KEY = b"m:finalized"  # the consensus client's finalized block
GENESIS_KEY = b"m:genesis"  # hash of the genesis block
CONFIG_KEY = b"m:config"  # the genesis file's "config" object, JSON
SCHEMA_KEY = b"m:schema"  # layout version of this database
RECEIPTS_PREFIX = b"r"  # r + block hash -> RLP list of the block's receipt encodings (client.blocks.Receipt)
TX_LOOKUP_PREFIX = b"t"  # t + transaction hash -> block hash (32 bytes) + index (8 bytes big-endian)
SCHEMA_VERSION = b"1"

CHAINDATA = "chaindata"  # the LevelDB directory inside a datadir


def _num(n: int) -> bytes:
    return n.to_bytes(8, "big")


def _list_payload(data: bytes) -> bytes:
    """The payload of an RLP list (its items' encodings without the list header)."""
    first = data[0]
    if first < 0xC0:
        raise ValueError("not an RLP list")
    if first <= 0xF7:
        return data[1:]
    return data[1 + first - 0xF7 :]


class ChainStore:
    HEADER_CACHE = 2048  # decoded headers kept by hash (a header never changes under its hash)

    def __init__(self, kv: KVStore) -> None:
        self.kv = kv
        self._headers: dict[bytes, Header] = {}

    # -- opening a datadir

    @classmethod
    def open(cls, datadir: str | os.PathLike, create: bool = False) -> ChainStore:
        """Open DIR/chaindata; without `create`, a datadir that was never initialised is a UserError."""
        path = os.path.join(os.fspath(datadir), CHAINDATA)
        if not create and not os.path.isdir(path):
            raise UserError(f"datadir {os.fspath(datadir)} is not initialised (run `evm-mlir init` first)")
        try:
            kv = LevelDBStore(path, create_if_missing=create)
        except Exception as exc:  # plyvel raises IOError for locks, a Corruption error for bad files
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "lock" in msg.lower():
                raise UserError(f"datadir {os.fspath(datadir)} is in use by another process") from None
            raise UserError(f"cannot open datadir {os.fspath(datadir)}: {msg}") from None
        store = cls(kv)
        if kv.get(SCHEMA_KEY) not in (None, SCHEMA_VERSION):
            kv.close()
            raise UserError(f"datadir {os.fspath(datadir)} has an unknown database layout")
        if not create:
            # an existing datadir must have a readable head: fail here, not in the middle of a command
            try:
                store.head_header()
            except Exception as exc:
                kv.close()
                if isinstance(exc, UserError):
                    raise UserError(f"datadir {os.fspath(datadir)}: {exc}") from None
                raise UserError(f"datadir {os.fspath(datadir)}: head block unreadable ({exc})") from None
        return store

    def close(self) -> None:
        self.kv.close()

    def __enter__(self) -> ChainStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reads

    def genesis_hash(self) -> bytes | None:
        return self.kv.get(GENESIS_KEY)

    def head_hash(self) -> bytes | None:
        return self.kv.get(HEAD_KEY)

    def safe_hash(self) -> bytes | None:
        return self.kv.get(SAFE_KEY)

    def finalized_hash(self) -> bytes | None:
        return self.kv.get(FINALIZED_KEY)

    def get_header(self, block_hash: bytes) -> Header | None:
        """The header stored under `block_hash` (decoded once, then shared: callers must not change it)."""
        header = self._headers.get(block_hash)
        if header is not None:
            return header
        data = self.kv.get(HEADER_PREFIX + block_hash)
        if data is None:
            return None
        header = Header.decode(data)
        if len(self._headers) >= self.HEADER_CACHE:
            self._headers.clear()
        self._headers[block_hash] = header
        return header

    def remember_header(self, block_hash: bytes, header: Header) -> None:
        """A header just written (its hash computed already): readers of the new head need not decode it."""
        if len(self._headers) >= self.HEADER_CACHE:
            self._headers.clear()
        self._headers[block_hash] = header

    def forget_headers(self, hashes) -> None:
        """Drop deleted blocks' headers from the cache (a dev node's rewind)."""
        for h in hashes:
            self._headers.pop(h, None)

    def head_header(self) -> Header:
        h = self.head_hash()
        header = self.get_header(h) if h is not None else None
        if header is None:
            raise UserError("datadir has no head block (initialisation never completed)")
        return header

    def canonical_hash(self, number: int) -> bytes | None:
        return self.kv.get(CANONICAL_PREFIX + _num(number))

    def block_number(self, block_hash: bytes) -> int | None:
        data = self.kv.get(NUMBER_PREFIX + block_hash)
        return int.from_bytes(data, "big") if data is not None else None

    def get_body_rlp(self, block_hash: bytes) -> bytes | None:
        return self.kv.get(BODY_PREFIX + block_hash)

    def get_block_rlp(self, block_hash: bytes) -> bytes | None:
        """The whole block's RLP: [header, transactions, ommers(, withdrawals)]."""
        header = self.kv.get(HEADER_PREFIX + block_hash)
        body = self.kv.get(BODY_PREFIX + block_hash)
        if header is None or body is None:
            return None
        from state.trie import enc_list

        return enc_list(header + _list_payload(body))

    def config(self) -> dict[str, Any] | None:
        data = self.kv.get(CONFIG_KEY)
        return json.loads(data) if data is not None else None

    def state(self, root: bytes | None = None) -> StateDB:
        """The state at `root` (default: the head's)."""
        return StateDB(self.kv, self.head_header().state_root if root is None else root)

    # -- writes (into the caller's batch, so a block and its state land together)

    def put_block(self, batch: WriteBatch, header: Header, body_rlp: bytes, canonical: bool = True) -> bytes:
        h = header.hash
        batch.put(HEADER_PREFIX + h, header.encode())
        batch.put(BODY_PREFIX + h, body_rlp)
        batch.put(NUMBER_PREFIX + h, _num(header.number))
        if canonical:
            batch.put(CANONICAL_PREFIX + _num(header.number), h)
        return h

    def set_head(self, batch: WriteBatch, block_hash: bytes) -> None:
        batch.put(HEAD_KEY, block_hash)

    def set_safe_finalized(self, batch: WriteBatch, safe: bytes | None, finalized: bytes | None) -> None:
        """The consensus client's safe and finalized blocks (None leaves one as it is)."""
        if safe is not None:
            batch.put(SAFE_KEY, safe)
        if finalized is not None:
            batch.put(FINALIZED_KEY, finalized)

    # -- receipts, transaction lookup, canonical index (written by client.chain.blockchain.Blockchain)

    def set_canonical(self, batch: WriteBatch, number: int, block_hash: bytes) -> None:
        batch.put(CANONICAL_PREFIX + _num(number), block_hash)

    def delete_canonical(self, batch: WriteBatch, number: int) -> None:
        batch.delete(CANONICAL_PREFIX + _num(number))

    def put_receipts(self, batch: WriteBatch, block_hash: bytes, receipts: list[bytes]) -> None:
        from common import rlp

        batch.put(RECEIPTS_PREFIX + block_hash, rlp.encode(list(receipts)))

    def get_receipts(self, block_hash: bytes) -> list[bytes] | None:
        """The block's receipt encodings (typed ones as `type || rlp`), or None if not stored."""
        from common import rlp

        data = self.kv.get(RECEIPTS_PREFIX + block_hash)
        return None if data is None else list(rlp.decode(data))

    def put_tx_lookup(self, batch: WriteBatch, tx_hash: bytes, block_hash: bytes, index: int) -> None:
        batch.put(TX_LOOKUP_PREFIX + tx_hash, block_hash + _num(index))

    def tx_lookup(self, tx_hash: bytes) -> tuple[bytes, int] | None:
        """(block hash, index in the block) of a transaction of the canonical chain."""
        data = self.kv.get(TX_LOOKUP_PREFIX + tx_hash)
        return None if data is None else (data[:32], int.from_bytes(data[32:], "big"))

    def init_genesis(self, genesis: Genesis, preimages: bool = False) -> Header:
        """Write the genesis state, block, canonical entry, head and config in one atomic batch (with
        `preimages`, the addresses and slots behind the trie's hashed keys too: see StateDB)."""
        with self.kv.write_batch() as batch:
            state_root = StateDB(self.kv, preimages=preimages).commit_alloc(genesis.alloc, batch)
            header = genesis.header(state_root)
            h = self.put_block(batch, header, genesis.block_body_rlp())
            self.set_head(batch, h)
            batch.put(GENESIS_KEY, h)
            batch.put(CONFIG_KEY, json.dumps(genesis.config.raw, sort_keys=True).encode())
            batch.put(SCHEMA_KEY, SCHEMA_VERSION)
        return header


def remove_datadir(path: str) -> None:
    """Remove a datadir this process created (after a failed init), ignoring what is already gone."""
    shutil.rmtree(path, ignore_errors=True)
