"""Account state at a block: balance, nonce, code, storage slots, the trie entry (and its proof: proof.py)."""

from __future__ import annotations

from typing import Any

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT

from . import types as T
from .format import _hb, _hx
from .topic import Topic


class AccountsApi(Topic):
    def eth_getBalance(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        acc = self._state(block, 1).get_account(a)
        return _hx(acc.balance if acc else 0)

    def eth_getAccount(self, address: Any, block: Any = None) -> dict[str, str]:
        """The account's trie entry (geth's and anvil's eth_getAccount): nonce, balance, codeHash, storageRoot."""
        acc = self._state(block, 1).get_account(T.address(address, 0))
        return {
            "nonce": _hx(acc.nonce if acc else 0),
            "balance": _hx(acc.balance if acc else 0),
            "codeHash": _hb(acc.code_hash if acc else EMPTY_CODE_HASH),
            "storageRoot": _hb(acc.storage_root if acc else EMPTY_ROOT),
        }

    def eth_getTransactionCount(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        bid = T.block_id(block, 1)
        acc = self.node.state(self.node.resolve(bid)).get_account(a)
        nonce = acc.nonce if acc else 0
        if bid == ("tag", "pending"):
            nonce = self.node.pool.next_nonce(a, nonce)
        return _hx(nonce)

    def eth_getCode(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        db = self._state(block, 1)
        acc = db.get_account(a)
        return _hb(db.get_code(acc.code_hash) if acc else b"")

    def eth_getStorageAt(self, address: Any, slot: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        key = T.storage_key(slot, 1)
        value = self._state(block, 2).get_storage(a, key)
        return "0x" + value.to_bytes(32, "big").hex()
