"""Logs and filters: eth_getLogs, log/block/pending-transaction filters polled with eth_getFilterChanges (idle ones
expire after 5 minutes, as in geth); the criteria parsing and matching subscriptions share."""

from __future__ import annotations

import os
import time
from typing import Any

from ..blocks import logs_bloom
from ..header import Header
from . import types as T
from .errors import InvalidParams, ServerError
from .format import _hb, format_log
from .topic import Topic

MAX_LOG_RANGE = 10_000
FILTER_TIMEOUT = 300  # seconds an unpolled filter lives (geth: 5 minutes)


class LogsApi(Topic):
    def __init__(self, node: Any) -> None:
        super().__init__(node)
        self.filters: dict[str, dict[str, Any]] = {}

    def _log_criteria(self, flt: Any) -> dict[str, Any]:
        if not isinstance(flt, dict):
            raise InvalidParams("invalid argument 0: expected a filter object")
        crit: dict[str, Any] = {
            "addresses": parse_addresses(flt.get("address")),
            "topics": parse_topics(flt.get("topics")),
            "blockHash": None,
            "fromBlock": None,
            "toBlock": None,
        }
        if flt.get("blockHash") is not None:
            if flt.get("fromBlock") is not None or flt.get("toBlock") is not None:
                raise InvalidParams(
                    "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
                )
            crit["blockHash"] = T.hash32(flt["blockHash"], 0)
        else:
            crit["fromBlock"] = T.block_id(flt.get("fromBlock"), 0)
            crit["toBlock"] = T.block_id(flt.get("toBlock"), 0)
        return crit

    def _range(self, crit: dict[str, Any], first: int | None = None) -> list[Header] | Any:
        """The headers a criteria covers (from `first` on, for filter polls)."""
        if crit["blockHash"] is not None:
            header = self.node.header_by_hash(crit["blockHash"])
            if header is None:
                raise ServerError("unknown block")
            return [header]
        head = self.node.head()
        frm = self.node.resolve(crit["fromBlock"], required=False)
        to = self.node.resolve(crit["toBlock"], required=False)
        if frm is None:
            return []
        start = frm.number if first is None else max(first, frm.number)
        last = to.number if to else head.number
        if first is None and frm.number > last and to is not None:
            raise ServerError("invalid block range params")
        if last - start + 1 > MAX_LOG_RANGE:
            raise ServerError(f"block range greater than {MAX_LOG_RANGE} max")
        return (self.node.header_by_number(n) for n in range(start, last + 1))

    def _logs(self, crit: dict[str, Any], headers) -> list[dict[str, Any]]:
        addresses, topics = crit["addresses"], crit["topics"]
        out: list[dict[str, Any]] = []
        for header in headers:
            if header is None or not _bloom_may_match(header.logs_bloom, addresses, topics):
                continue
            txs = self.node.block(header).transactions
            receipts = self.node.receipts(header)
            log_index = 0
            for i, r in enumerate(receipts):
                for lg in r.logs:
                    if log_matches(lg, addresses, topics):
                        out.append(format_log(lg, header, txs[i].hash, i, log_index))
                    log_index += 1
        return out

    def eth_getLogs(self, flt: Any) -> list[dict[str, Any]]:
        crit = self._log_criteria(flt)
        return self._logs(crit, self._range(crit))

    def _new_filter(self, kind: str, **data: Any) -> str:
        self._expire_filters()
        fid = "0x" + os.urandom(16).hex()
        self.filters[fid] = {"kind": kind, "seen": time.monotonic(), **data}
        return fid

    def _expire_filters(self) -> None:
        now = time.monotonic()
        for fid in [f for f, v in self.filters.items() if now - v["seen"] > FILTER_TIMEOUT]:
            del self.filters[fid]

    def _filter(self, fid: Any) -> dict[str, Any]:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id must be a string")
        self._expire_filters()
        f = self.filters.get(fid.lower())
        if f is None:
            raise ServerError("filter not found")
        f["seen"] = time.monotonic()
        return f

    def eth_newFilter(self, flt: Any) -> str:
        crit = self._log_criteria(flt)
        return self._new_filter("logs", crit=crit, next=self.node.head().number + 1)

    def eth_newBlockFilter(self) -> str:
        return self._new_filter("blocks", next=self.node.head().number + 1)

    def eth_newPendingTransactionFilter(self, full: Any = False) -> str:
        return self._new_filter("pending", next=self.node.tx_seq, full=bool(full))

    def eth_uninstallFilter(self, fid: Any) -> bool:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id must be a string")
        return self.filters.pop(fid.lower(), None) is not None

    def eth_getFilterLogs(self, fid: Any) -> list[dict[str, Any]]:
        f = self._filter(fid)
        if f["kind"] != "logs":
            raise ServerError("filter not found")
        return self._logs(f["crit"], self._range(f["crit"]))

    def eth_getFilterChanges(self, fid: Any) -> list:
        f = self._filter(fid)
        head = self.node.head().number
        if f["kind"] == "blocks":
            out = [_hb(self.node.canonical_header(n).hash) for n in range(f["next"], head + 1)]
            f["next"] = head + 1
            return out
        if f["kind"] == "pending":
            hashes = self.node.tx_hashes_since(f["next"])
            f["next"] = self.node.tx_seq
            return [_hb(h) for h in hashes]
        first = f["next"]
        f["next"] = head + 1
        if first > head or f["crit"]["blockHash"] is not None:
            return []
        return self._logs(f["crit"], self._range(f["crit"], first))


def parse_addresses(v: Any) -> set[bytes] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return {T.address(v, 0)}
    if isinstance(v, list):
        return {T.address(a, 0) for a in v} or None
    raise InvalidParams("invalid argument 0: address must be a string or an array of strings")


def parse_topics(v: Any) -> list[set[bytes] | None]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise InvalidParams("invalid argument 0: topics must be an array")
    if len(v) > 4:
        raise InvalidParams("invalid argument 0: too many topics (at most 4)")
    out: list[set[bytes] | None] = []
    for t in v:
        if t is None:
            out.append(None)
        elif isinstance(t, str):
            out.append({T.hash32(t, 0)})
        elif isinstance(t, list):
            s = {T.hash32(x, 0) for x in t if x is not None}
            out.append(s if s and None not in t else None)
        else:
            raise InvalidParams("invalid argument 0: topic must be a string, null or an array")
    return out


def log_matches(lg: tuple, addresses: set[bytes] | None, topics: list) -> bool:
    address, log_topics, _ = lg
    if addresses is not None and address not in addresses:
        return False
    if len(topics) > len(log_topics):
        return False
    for want, have in zip(topics, log_topics):
        if want is not None and have not in want:
            return False
    return True


def _bloom_may_match(bloom: bytes, addresses: set[bytes] | None, topics: list) -> bool:
    b = int.from_bytes(bloom, "big")

    def has(entry: bytes) -> bool:
        m = int.from_bytes(logs_bloom([(entry, (), b"")]), "big")
        return b & m == m

    if addresses is not None and not any(has(a) for a in addresses):
        return False
    for want in topics:
        if want is not None and not any(has(t) for t in want):
            return False
    return True
