"""anvil_dumpState / anvil_loadState and the node's --dump-state / --load-state files, in anvil's format.

The dump is anvil's `SerializableState` JSON: `block` (the head's environment), `accounts` (address ->
nonce, balance, code, storage), `best_block_number`; `blocks` and `transactions` are empty (the chain's history
is not part of it, as with anvil's default dumps). Over RPC it travels as hex of the gzipped JSON, as anvil's;
the files hold the plain JSON. Loading merges: each listed account gets the nonce, balance and code given and
the slots listed, on top of the head's state (anvil does the same).

The state trie keys are hashes: walking it needs the addresses and slots behind them, which the node records
as it writes state (StateDB's preimages). A datadir made before it recorded them cannot be dumped whole.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from state.db import StateDB
from state.journal import JournaledState

from . import types as T
from .errors import InvalidParams, ServerError


def dump(node) -> dict[str, Any]:
    head = node.head()
    db: StateDB = node.state(head)
    accounts: dict[str, Any] = {}
    missing = 0
    for hashed, acc in db.iter_accounts():
        address = db.preimage(hashed)
        if address is None:
            missing += 1
            continue
        storage = {}
        for slot_hash, value in db.iter_storage(address):
            slot = db.preimage(slot_hash)
            if slot is None:
                missing += 1
                continue
            storage["0x" + slot.hex()] = "0x" + value.to_bytes(32, "big").hex()
        accounts[T.checksum(address)] = {
            "nonce": acc.nonce,
            "balance": hex(acc.balance),
            "code": "0x" + db.get_code(acc.code_hash).hex(),
            "storage": storage,
        }
    if missing:
        raise ServerError(
            f"cannot dump the state: {missing} trie keys without a recorded preimage "
            "(the datadir was written before the node recorded them)"
        )
    s = node.dev.settings
    block = {
        "number": hex(head.number),
        "coinbase": T.checksum(s.coinbase),
        "timestamp": hex(head.timestamp),
        "gas_limit": hex(head.gas_limit),
        "basefee": hex(head.base_fee_per_gas or 0),
    }
    return {
        "block": block,
        "accounts": accounts,
        "best_block_number": hex(head.number),
        "blocks": [],
        "transactions": [],
    }


def dump_bytes(node) -> str:
    """anvil_dumpState's result: 0x-hex of the gzipped JSON."""
    raw = json.dumps(dump(node), separators=(",", ":")).encode()
    return "0x" + gzip.compress(raw, mtime=0).hex()


def parse(raw: bytes) -> dict[str, Any]:
    """A dump as bytes: gzipped or plain JSON."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InvalidParams(f"invalid state: bad gzip data ({exc})") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParams(f"invalid state: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
        raise InvalidParams('invalid state: expected an object with an "accounts" object')
    return data


def load(node, data: dict[str, Any]) -> int:
    """Merge the dump's accounts into the head's state (one write); returns how many accounts."""
    parsed = []
    for addr, acc in data["accounts"].items():
        a = T.address(addr)
        if not isinstance(acc, dict):
            raise InvalidParams(f"invalid state: account {addr} is not an object")
        storage = acc.get("storage") or {}
        if not isinstance(storage, dict):
            raise InvalidParams(f"invalid state: storage of {addr} is not an object")
        parsed.append(
            (
                a,
                T.number(acc.get("nonce", 0), None, 64),
                T.number(acc.get("balance", 0)),
                T.data(acc.get("code") or "0x"),
                [(T.number(k), T.number(v)) for k, v in storage.items()],
            )
        )

    def edit(state: JournaledState) -> None:
        for a, nonce, balance, code, slots in parsed:
            state.set_nonce(a, nonce)
            state.set_balance(a, balance)
            state.set_code(a, code)
            for k, v in slots:
                state.set_storage(a, k, v)

    node.dev.edit_state(edit)
    return len(parsed)
