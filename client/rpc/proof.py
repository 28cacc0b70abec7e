"""eth_getProof (EIP-1186): an account and some of its storage slots with the Merkle proofs from the block's
state root, read from the node's own trie (state/trie.py) at any block whose state is kept (all of them: nodes
are never pruned). At the head, after dev edits (anvil_setBalance and the like), the proof is against the
edited state's root, which the next block's header will carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT

from . import types as T
from .errors import InvalidParams

if TYPE_CHECKING:
    from ..node.node import Node


def eth_get_proof(node: Node, address: Any, keys: Any, block: Any = None) -> dict[str, Any]:
    a = T.address(address, 0)
    if not isinstance(keys, list):
        raise InvalidParams("invalid argument 1: expected an array of storage keys")
    slots = [(k, T.storage_key(k, 1)) for k in keys]
    db = node.state(node.resolve(T.block_id(block, 2)))
    acc = db.get_account(a)
    storage_root = acc.storage_root if acc else EMPTY_ROOT
    storage = []
    for given, slot in slots:
        value = db.get_storage_at(storage_root, slot)
        storage.append(
            {"key": given, "value": hex(value), "proof": ["0x" + n.hex() for n in db.storage_proof(storage_root, slot)]}
        )
    return {
        "address": T.checksum(a),
        "accountProof": ["0x" + n.hex() for n in db.account_proof(a)],
        "balance": hex(acc.balance if acc else 0),
        "codeHash": "0x" + (acc.code_hash if acc else EMPTY_CODE_HASH).hex(),
        "nonce": hex(acc.nonce if acc else 0),
        "storageHash": "0x" + storage_root.hex(),
        "storageProof": storage,
    }
