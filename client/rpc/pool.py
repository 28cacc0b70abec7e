"""txpool_status, txpool_content, txpool_inspect: the pool as geth shows it."""

from __future__ import annotations

from typing import Any

from evm.transactions import Transaction

from . import types as T
from .format import _hx, format_tx
from .topic import Topic


class PoolApi(Topic):
    def txpool_status(self) -> dict[str, str]:
        st = self.node.pool_state()
        queued = self.node.pool.queued_count(st)
        return {"pending": _hx(len(self.node.pool) - queued), "queued": _hx(queued)}

    def txpool_content(self) -> dict[str, Any]:
        pending, queued = self.node.pool.content(self.node.pool_state())

        def fmt(group):
            return {T.checksum(s): {str(t.nonce): format_tx(t) for t in txs} for s, txs in group.items()}

        return {"pending": fmt(pending), "queued": fmt(queued)}

    def txpool_inspect(self) -> dict[str, Any]:
        """geth's one-line summaries: "to: value wei + gas gas × price wei" ("contract creation" for no to)."""
        pending, queued = self.node.pool.content(self.node.pool_state())

        def line(t: Transaction) -> str:
            to = T.checksum(t.to) if t.to is not None else "contract creation"
            price = t.max_fee_per_gas if t.type >= 2 else t.gas_price
            return f"{to}: {t.value} wei + {t.gas} gas × {price} wei"

        def fmt(group):
            return {T.checksum(s): {str(t.nonce): line(t) for t in txs} for s, txs in group.items()}

        return {"pending": fmt(pending), "queued": fmt(queued)}
