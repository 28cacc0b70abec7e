"""eth_subscribe / eth_unsubscribe over WebSocket: newHeads, logs (address and topic filters),
newPendingTransactions (hashes, or whole transactions with `true`), as geth serves them.

The chain calls `on_block` on its worker thread when a block is sealed and `on_pending` where the pool took a
transaction (the event loop for raw transactions); `eth_subscribe` and `eth_unsubscribe` run on the worker
thread and change the table entry by entry, and the events iterate over a copy of it. A
notification goes to its connection through `Connection.push`, which hands it to the event loop (the socket is
the loop's). A connection whose reader falls more than MAX_BACKLOG messages behind is closed, as geth does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import structlog

from . import types as T
from .errors import InvalidParams
from .format import format_log, format_tx
from .logs import log_matches, parse_addresses, parse_topics

log = structlog.get_logger("rpc")

MAX_BACKLOG = 20_000


class Connection:
    """One WebSocket client: `send(text)` is called on the event loop (set by the server)."""

    def __init__(self, push: Callable[[dict[str, Any]], None]) -> None:
        self.push = push  # thread-safe: queues a JSON message for the socket
        self.ids: set[str] = set()


class Subscriptions:
    def __init__(self, node) -> None:
        self.node = node
        self.subs: dict[str, tuple[Connection, str, Any]] = {}  # id -> (connection, kind, params)
        node.block_listeners.append(self.on_block)
        node.pending_listeners.append(self.on_pending)

    # -- the methods (bound to a connection by the server) --------------------------------------------------
    def subscribe(self, conn: Connection, kind: Any, params: Any = None) -> str:
        if kind == "newHeads":
            spec: Any = None
        elif kind == "logs":
            if params is not None and not isinstance(params, dict):
                raise InvalidParams("invalid argument 1: expected a filter object")
            params = params or {}
            spec = (parse_addresses(params.get("address")), parse_topics(params.get("topics")))
        elif kind == "newPendingTransactions":
            spec = bool(params) if isinstance(params, bool) or params is None else None
            if spec is None:
                raise InvalidParams("invalid argument 1: expected a boolean (full transactions)")
        else:
            raise InvalidParams(f"no {kind!r} subscription in eth namespace")
        sid = "0x" + os.urandom(16).hex()
        self.subs[sid] = (conn, kind, spec)
        conn.ids.add(sid)
        return sid

    def unsubscribe(self, conn: Connection, sid: Any) -> bool:
        if not isinstance(sid, str):
            raise InvalidParams("invalid argument 0: subscription id must be a string")
        entry = self.subs.get(sid.lower())
        if entry is None or entry[0] is not conn:
            return False
        del self.subs[sid.lower()]
        conn.ids.discard(sid.lower())
        return True

    def drop(self, conn: Connection) -> None:
        for sid in conn.ids:
            self.subs.pop(sid, None)
        conn.ids.clear()

    # -- events (worker thread) -----------------------------------------------------------------------------
    def _notify(self, conn: Connection, sid: str, result: Any) -> None:
        conn.push({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sid, "result": result}})

    def on_block(self, header, block, receipts) -> None:
        if not self.subs:
            return
        head_json = None
        for sid, (conn, kind, spec) in list(self.subs.items()):
            if kind == "newHeads":
                if head_json is None:
                    head_json = header.to_json(rpc=True)
                self._notify(conn, sid, head_json)
            elif kind == "logs":
                addresses, topics = spec
                index = 0
                for i, receipt in enumerate(receipts):
                    for lg in receipt.logs:
                        if log_matches(lg, addresses, topics):
                            self._notify(conn, sid, format_log(lg, header, block.transactions[i].hash, i, index))
                        index += 1

    def on_pending(self, tx_hash: bytes) -> None:
        for sid, (conn, kind, full) in list(self.subs.items()):
            if kind == "newPendingTransactions":
                if full:
                    tx = self.node.pool.get(tx_hash)
                    self._notify(conn, sid, format_tx(tx) if tx is not None else T.hb(tx_hash))
                else:
                    self._notify(conn, sid, T.hb(tx_hash))
