"""Account records as the state trie stores them."""

from __future__ import annotations

from dataclasses import dataclass

from common import rlp
from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT


@dataclass(slots=True)
class Account:
    """What the trie stores for one address; `code_hash` names code kept by hash beside the trie."""

    nonce: int = 0
    balance: int = 0
    storage_root: bytes = EMPTY_ROOT
    code_hash: bytes = EMPTY_CODE_HASH

    def encode(self) -> bytes:
        return rlp.encode([self.nonce, self.balance, self.storage_root, self.code_hash])

    @classmethod
    def decode(cls, data: bytes) -> Account:
        nonce, balance, root, code_hash = rlp.decode(data)
        return cls(int.from_bytes(nonce, "big"), int.from_bytes(balance, "big"), root, code_hash)

    def is_empty(self) -> bool:
        """EIP-161: no code, zero nonce, zero balance."""
        return self.nonce == 0 and self.balance == 0 and self.code_hash == EMPTY_CODE_HASH
