"""Fees: gas price and priority fee suggestions (a simplified geth gas price oracle), the blob base fee, fee
history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..header import Header
from ..node.miner import next_base_fee, next_excess_blob_gas_for
from . import types as T
from .errors import InvalidParams
from .format import _hx, effective_gas_price
from .topic import Topic

if TYPE_CHECKING:
    from ..node.node import Node

DEFAULT_TIP = 1_000_000_000  # 1 gwei: what the node suggests as priority fee when recent blocks say nothing


def suggest_tip(node: Node) -> int:
    """The 60th percentile of the effective tips of the last 20 blocks' transactions, at least 1 wei,
    DEFAULT_TIP when there are none (a simplified geth gas price oracle)."""
    head = node.head()
    tips: list[int] = []
    n = head.number
    while n > 0 and n > head.number - 20 and len(tips) < 500:
        header = node.canonical_header(n)
        base = header.base_fee_per_gas or 0
        for tx in node.block(header).transactions:
            tips.append(effective_gas_price(tx, base) - base)
        n -= 1
    if not tips:
        return DEFAULT_TIP
    tips.sort()
    return max(1, tips[(len(tips) - 1) * 60 // 100])


class FeesApi(Topic):
    def eth_maxPriorityFeePerGas(self) -> str:
        return _hx(suggest_tip(self.node))

    def eth_gasPrice(self) -> str:
        return _hx(self.node.next_block_rules().base_fee + suggest_tip(self.node))

    def eth_blobBaseFee(self) -> str:
        return _hx(self.node.blob_base_fee(self.node.head()))

    def eth_feeHistory(self, count: Any, newest: Any, percentiles: Any = None) -> dict[str, Any]:
        if isinstance(count, int) and not isinstance(count, bool):
            n = count
        else:
            n = T.quantity(count, 0, 64)
        if n < 1:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        n = min(n, 1024)
        last = self.node.resolve(T.block_id(newest, 1))
        if percentiles is not None:
            if not isinstance(percentiles, list) or any(
                not isinstance(p, (int, float)) or isinstance(p, bool) for p in percentiles
            ):
                raise InvalidParams("invalid argument 2: expected an array of numbers")
            if any(p < 0 or p > 100 for p in percentiles) or any(b < a for a, b in zip(percentiles, percentiles[1:])):
                raise InvalidParams(f"invalid reward percentile: {percentiles}")
        oldest = max(0, last.number - n + 1)
        base_fees, ratios, blob_fees, blob_ratios, rewards = [], [], [], [], []
        header = last
        for num in range(oldest, last.number + 1):
            header = self.node.canonical_header(num)
            base_fees.append(_hx(header.base_fee_per_gas or 0))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0)
            blob_fees.append(_hx(self.node.blob_base_fee(header)))
            sched = self.node.rules(header).blob_schedule
            blob_ratios.append((header.blob_gas_used or 0) / sched.max_blob_gas if sched else 0)
            if percentiles is not None:
                rewards.append(self._rewards(header, percentiles))
        base_fees.append(_hx(next_base_fee(self.node.config, header)))
        nxt = Header(
            number=header.number + 1,
            timestamp=header.timestamp + 1,
            excess_blob_gas=next_excess_blob_gas_for(self.node.config, header, header.number + 1, header.timestamp + 1),
        )
        blob_fees.append(_hx(self.node.blob_base_fee(nxt)))
        out: dict[str, Any] = {
            "oldestBlock": _hx(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
            "baseFeePerBlobGas": blob_fees,
            "blobGasUsedRatio": blob_ratios,
        }
        if percentiles is not None:
            out["reward"] = rewards
        return out

    def _rewards(self, header: Header, percentiles: list) -> list[str]:
        txs = self.node.block(header).transactions
        if not txs:
            return ["0x0"] * len(percentiles)
        receipts = self.node.receipts(header)
        base = header.base_fee_per_gas or 0
        items = []
        prev = 0
        for tx, r in zip(txs, receipts):
            items.append((effective_gas_price(tx, base) - base, r.cumulative_gas_used - prev))
            prev = r.cumulative_gas_used
        items.sort()
        out = []
        total = header.gas_used
        for p in percentiles:
            threshold = total * p / 100
            acc, i = items[0][1], 0
            while acc < threshold and i < len(items) - 1:
                i += 1
                acc += items[i][1]
            out.append(_hx(items[i][0]))
        return out
