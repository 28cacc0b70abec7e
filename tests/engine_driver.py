"""A small consensus-client stand-in for the tests: an Engine API node in-process on a chain in memory, and a
client that talks to it over HTTP with JWT bearer tokens (PyJWT), as a beacon node does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import requests

from client.chain.store import ChainStore
from client.engine.server import BackgroundEngineServer, engine_dispatcher
from client.genesis import parse_genesis
from client.node.node import Node
from state.kv import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
SECRET = bytes.fromhex("7365637265742d6f662d7468652d746573742d737569746521212121212121aa")
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # dev account 0
ZERO32 = "0x" + "00" * 32


def dev_genesis(**fork_times: int) -> Any:
    """genesis/dev.json (every fork through Osaka at genesis), or with later forks at the given times."""
    obj = json.loads((ROOT / "genesis" / "dev.json").read_text())
    for name, t in fork_times.items():
        obj["config"][name] = t
    return parse_genesis(obj, "dev.json")


class EngineNode:
    """The node's chain in memory, its auth port served on 127.0.0.1 (a free port)."""

    def __init__(self, genesis: Any, server: BackgroundEngineServer, backend: str = "interpreter") -> None:
        self.store = ChainStore(MemoryStore())
        self.genesis_header = self.store.init_genesis(genesis)
        self.chain = Node(self.store, genesis.config, backend)
        self.dispatcher, self.api = engine_dispatcher(self.chain)
        self.server = server
        self.runner, self.url = server.serve(self.dispatcher, SECRET)
        self.session = requests.Session()

    def close(self) -> None:
        self.server.stop_serving(self.runner)
        self.dispatcher.shutdown()
        self.session.close()

    def post(self, body: Any, token: str | None = None, secret: bytes = SECRET) -> requests.Response:
        if token is None:
            token = jwt.encode({"iat": int(time.time())}, secret, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.post(self.url, json=body, headers=headers, timeout=60)

    def call(self, method: str, *params: Any) -> dict[str, Any]:
        """The whole JSON-RPC response (result or error)."""
        r = self.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        assert r.status_code == 200, r.text
        return r.json()

    def ok(self, method: str, *params: Any) -> Any:
        out = self.call(method, *params)
        assert "error" not in out, f"{method}: {out['error']}"
        return out["result"]

    def head(self) -> dict[str, Any]:
        return self.ok("eth_getBlockByNumber", "latest", False)


def attributes(
    timestamp: int,
    fee_recipient: str = "0x" + "fe" * 20,
    randao: str = "0x" + "11" * 32,
    withdrawals: list | None = None,
    beacon_root: str = "0x" + "be" * 32,
) -> dict[str, Any]:
    return {
        "timestamp": hex(timestamp),
        "prevRandao": randao,
        "suggestedFeeRecipient": fee_recipient,
        "withdrawals": withdrawals or [],
        "parentBeaconBlockRoot": beacon_root,
    }


def forkchoice(head: str, safe: str = ZERO32, finalized: str = ZERO32) -> dict[str, str]:
    return {"headBlockHash": head, "safeBlockHash": safe, "finalizedBlockHash": finalized}
