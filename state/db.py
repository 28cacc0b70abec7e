"""StateDB: the committed world state, a secure Merkle-Patricia trie of accounts (and one per account's
storage) whose nodes live in a KVStore. See docs/storage.md for the key layout."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT
from common.keccak import keccak

from .account import Account
from .changes import StateChanges
from .kv import KVStore, WriteBatch
from .trie import MissingNodeError, Node, Sink, Trie, build_root, enc_list, enc_uint

NODE_PREFIX = b"n"  # n + keccak(node rlp) -> node rlp (account and storage tries share it)
CODE_PREFIX = b"c"  # c + keccak(code) -> code
PREIMAGE_PREFIX = b"P"  # P + keccak(address or slot) -> address (20 bytes) or slot (32 bytes); opt-in

# An allocation as tests and genesis give it: address -> (nonce, balance, code, {slot: value})
Alloc = Mapping[bytes, tuple[int, int, bytes, Mapping[int, int]]]


def _slot_path(slot: int) -> str:
    return keccak(slot.to_bytes(32, "big")).hex()


def _encode_account(nonce: int, balance: int, storage_root: bytes, code_hash: bytes) -> bytes:
    # same bytes as Account.encode(), without building the nested list for rlp.encode
    return enc_list(enc_uint(nonce) + enc_uint(balance) + b"\xa0" + storage_root + b"\xa0" + code_hash)


def _storage_root(storage: Mapping[int, int], sink: Sink) -> bytes:
    if not storage:
        return EMPTY_ROOT
    return build_root([(_slot_path(s), enc_uint(v)) for s, v in storage.items() if v], sink)


def alloc_root(alloc: Alloc, node_sink: Sink = None, code_sink: Sink = None) -> bytes:
    """Root of the state holding exactly `alloc`, built from scratch (the fast bulk path)."""
    items = []
    for address, (nonce, balance, code, storage) in alloc.items():
        sroot = _storage_root(storage, node_sink)
        if code:
            code_hash = keccak(code)
            if code_sink is not None:
                code_sink(code_hash, code)
        else:
            code_hash = EMPTY_CODE_HASH
        items.append((keccak(address).hex(), _encode_account(nonce, balance, sroot, code_hash)))
    return build_root(items, node_sink)


def state_root_of_alloc(alloc: Alloc) -> bytes:
    """State root of a plain {address: (nonce, balance, code, {slot: value})}; writes nothing."""
    return alloc_root(alloc)


def _hex_int(s: int | str) -> int:
    if isinstance(s, int):
        return s
    s = s.strip()
    return int(s, 16) if s[:2] in ("0x", "0X") else int(s)


def alloc_from_fixture(pre: Mapping[str, Mapping[str, Any]]) -> dict[bytes, tuple[int, int, bytes, dict[int, int]]]:
    """A fixture's `pre`/`postState` JSON ({"0x..": {nonce, balance, code, storage}}) as an Alloc.

    Fixtures are trusted input; user-supplied genesis files go through client.genesis's strict parser.
    """
    out = {}
    for addr, acc in pre.items():
        code = acc.get("code", "0x") or "0x"
        out[bytes.fromhex(addr[2:] if addr[:2] in ("0x", "0X") else addr)] = (
            _hex_int(acc.get("nonce", "0x0")),
            _hex_int(acc.get("balance", "0x0")),
            bytes.fromhex(code[2:]),
            {_hex_int(k): _hex_int(v) for k, v in (acc.get("storage") or {}).items()},
        )
    return out


class StateDB:
    """The state at `root`; `apply` folds a StateChanges in and moves `root`.

    When `apply` writes into a caller's batch that is not committed yet, reads still see the new nodes
    (through the batch's pending writes), so the executor can go on reading the state before the
    block's single write.
    """

    def __init__(self, kv: KVStore, root: bytes = EMPTY_ROOT, preimages: bool = False) -> None:
        self.kv = kv
        self.root = root
        # keep the keys behind the hashed trie paths (as geth's --cache.preimages): a dev node needs
        # them to dump its state (anvil_dumpState); block import leaves them out
        self.preimages = preimages
        self._pending: list[WriteBatch] = []
        # one decoded-node cache and one code cache per store: a node makes a StateDB per request and per
        # block, and decoding the same upper trie nodes again each time cost more than the request's own work
        caches: tuple[dict[bytes, Node], dict[bytes, bytes]] | None = getattr(kv, "state_caches", None)
        if caches is None:
            caches = ({}, {})  # decoded trie nodes, code (both by hash)
            try:
                kv.state_caches = caches  # type: ignore[attr-defined]  # kept on the store when it takes it
            except AttributeError:  # a store that takes no attributes: caches of this StateDB's own
                pass
        self.trie = Trie(self._fetch_node, cache=caches[0])
        self._codes: dict[bytes, bytes] = caches[1]

    # -- raw reads

    def _fetch(self, key: bytes) -> bytes | None:
        if self._pending:
            self._pending = [b for b in self._pending if not (b.committed or b.discarded)]
            for b in reversed(self._pending):
                if key in b.ops:
                    return b.ops[key]
        return self.kv.get(key)

    def _fetch_node(self, h: bytes) -> bytes | None:
        return self._fetch(NODE_PREFIX + h)

    # -- the interface

    def get_account(self, address: bytes) -> Account | None:
        data = self.trie.get(self.root, keccak(address).hex())
        return Account.decode(data) if data else None

    def get_storage(self, address: bytes, slot: int) -> int:
        acc = self.get_account(address)
        if acc is None:
            return 0
        return self.get_storage_at(acc.storage_root, slot)

    def get_storage_at(self, storage_root: bytes, slot: int) -> int:
        """A slot of the storage trie at `storage_root` (saves the account lookup when it is known)."""
        if storage_root == EMPTY_ROOT:
            return 0
        data = self.trie.get(storage_root, _slot_path(slot))
        if not data:
            return 0
        # data is RLP of a minimal big-endian string: one byte < 0x80 is itself, else a short string
        return data[0] if len(data) == 1 else int.from_bytes(data[1:], "big")

    def account_proof(self, address: bytes) -> list[bytes]:
        """EIP-1186 account proof: the account trie's nodes from the root to keccak(address)."""
        return self.trie.proof(self.root, keccak(address).hex())

    def storage_proof(self, storage_root: bytes, slot: int) -> list[bytes]:
        return self.trie.proof(storage_root, _slot_path(slot))

    def get_code(self, code_hash: bytes) -> bytes:
        if code_hash == EMPTY_CODE_HASH:
            return b""
        code = self._codes.get(code_hash)
        if code is not None:
            return code
        code = self._fetch(CODE_PREFIX + code_hash)
        if code is None:
            raise MissingNodeError(f"code {code_hash.hex()}")
        if len(self._codes) >= 1024:
            self._codes.clear()
        self._codes[code_hash] = code  # content-addressed, as the trie nodes: shared by the store's StateDBs
        return code

    def apply(self, changes: StateChanges, batch: WriteBatch | None = None) -> bytes:
        """Write the changes' trie nodes and code into `batch` (or straight into the store) and return the
        new root, which also becomes `self.root`."""
        with self._writing(batch) as put:

            def sink(h: bytes, enc: bytes) -> None:
                put(NODE_PREFIX + h, enc)

            for code_hash, code in changes.codes.items():
                put(CODE_PREFIX + code_hash, code)
            if self.preimages:
                self._put_preimages(put, set(changes.accounts) | set(changes.storage), changes.storage.items())
            self.root = self._apply(changes, sink)
        return self.root

    @contextmanager
    def _writing(self, batch: WriteBatch | None) -> Iterator[Callable[[bytes, bytes], None]]:
        """`put` of `batch` (the caller commits it; reads see it meanwhile) or of a batch of our own,
        committed when the block ends without an exception."""
        if batch is None:
            own = self.kv.write_batch()
            yield own.put
            own.commit()
        else:
            self._pending.append(batch)
            yield batch.put

    def compute_root(self, changes: StateChanges) -> bytes:
        """The root `apply(changes)` would give, writing nothing and leaving `root` as it is."""
        return self._apply(changes, None)

    def _apply(self, changes: StateChanges, sink: Sink) -> bytes:
        updates: list[tuple[str, bytes | None]] = []
        addresses = set(changes.accounts) | set(changes.storage) | changes.storage_cleared
        for address in addresses:
            path = keccak(address).hex()
            if address in changes.accounts and changes.accounts[address] is None:
                updates.append((path, None))
                continue
            data = self.trie.get(self.root, path)
            old = Account.decode(data) if data else None
            new = changes.accounts.get(address)
            if new is None:  # only its storage changed
                if old is None:
                    continue  # storage of an account that does not exist: nothing holds it
                new = old
            base = EMPTY_ROOT if old is None or address in changes.storage_cleared else old.storage_root
            slots = changes.storage.get(address)
            if slots:
                sroot = self.trie.update(
                    base, sorted((_slot_path(s), enc_uint(v) if v else None) for s, v in slots.items()), sink
                )
            else:
                sroot = base
            updates.append((path, _encode_account(new.nonce, new.balance, sroot, new.code_hash)))
        updates.sort()  # neighbouring keys share the nodes just loaded
        return self.trie.update(self.root, updates, sink)

    @staticmethod
    def _put_preimages(
        put: Callable[[bytes, bytes], None], addresses: Iterable[bytes], storages: Iterable[tuple[bytes, Iterable[int]]]
    ) -> None:
        for address in addresses:
            put(PREIMAGE_PREFIX + keccak(address), address)
        for _, slots in storages:
            for slot in slots:
                word = slot.to_bytes(32, "big")
                put(PREIMAGE_PREFIX + keccak(word), word)

    def preimage(self, hashed: bytes) -> bytes | None:
        return self._fetch(PREIMAGE_PREFIX + hashed)

    # -- bulk load (genesis, fixtures)

    def commit_alloc(self, alloc: Alloc, batch: WriteBatch | None = None) -> bytes:
        """Replace the state with exactly `alloc` (built from scratch), write it, and return its root."""
        with self._writing(batch) as put:
            if self.preimages:
                self._put_preimages(put, alloc, ((a, v[3]) for a, v in alloc.items()))
            self.root = alloc_root(
                alloc,
                lambda h, enc: put(NODE_PREFIX + h, enc),
                lambda h, code: put(CODE_PREFIX + h, code),
            )
        return self.root

    # -- inspection (tests, debugging)

    def iter_accounts(self) -> Iterator[tuple[bytes, Account]]:
        """(keccak(address), Account) in trie order; addresses themselves are not stored."""
        for path, data in self.trie.items(self.root):
            yield bytes.fromhex(path), Account.decode(data)

    def iter_storage(self, address: bytes) -> Iterator[tuple[bytes, int]]:
        """(keccak(slot), value) of an account's storage."""
        acc = self.get_account(address)
        if acc is None:
            return
        for path, data in self.trie.items(acc.storage_root):
            yield bytes.fromhex(path), (data[0] if len(data) == 1 else int.from_bytes(data[1:], "big"))

    def diff_alloc(self, alloc: Alloc) -> list[str]:
        """Human-readable differences between this state and `alloc` (empty list: identical)."""
        out: list[str] = []
        for address, (nonce, balance, code, storage) in alloc.items():
            acc = self.get_account(address)
            name = "0x" + address.hex()
            if acc is None:
                out.append(f"{name}: missing")
                continue
            if acc.nonce != nonce:
                out.append(f"{name}: nonce {acc.nonce} != {nonce}")
            if acc.balance != balance:
                out.append(f"{name}: balance {acc.balance} != {balance}")
            want_hash = keccak(code) if code else EMPTY_CODE_HASH
            if acc.code_hash != want_hash:
                out.append(f"{name}: code hash {acc.code_hash.hex()} != {want_hash.hex()}")
            want = {keccak(s.to_bytes(32, "big")): v for s, v in storage.items() if v}
            have = dict(self.iter_storage(address))
            for k in sorted(set(want) | set(have)):
                if want.get(k, 0) != have.get(k, 0):
                    slot = next((s for s in storage if keccak(s.to_bytes(32, "big")) == k), None)
                    label = hex(slot) if slot is not None else "keccak " + k.hex()
                    out.append(f"{name}: storage[{label}] {have.get(k, 0)} != {want.get(k, 0)}")
        hashed = {keccak(a) for a in alloc}
        extra = sum(1 for h, _ in self.iter_accounts() if h not in hashed)
        if extra:
            out.append(f"{extra} account(s) not in the expected alloc")
        return out
