"""Protocol constants shared by the EVM, the state and the client, each defined once here."""

from __future__ import annotations

from .keccak import keccak256
from .rlp import encode

U64_MAX = 2**64 - 1
U256_MAX = 2**256 - 1
MAX_NONCE = U64_MAX  # EIP-2681: a nonce never reaches 2**64 - 1 (a transaction or CREATE at it fails)

ZERO_ADDRESS = b"\x00" * 20
ZERO_HASH = b"\x00" * 32

EMPTY_CODE_HASH = keccak256(b"")
EMPTY_ROOT = keccak256(encode(b""))  # root of the empty Merkle-Patricia trie (no accounts, slots, txs, ...)
EMPTY_OMMERS_HASH = keccak256(encode([]))  # keccak(rlp([])): every header's since the Merge
