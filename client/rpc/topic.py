"""What every topic of the RPC shares: the node it answers for and the block parameters as geth resolves them.
The topics are modules of this package (as ethrex splits its RPC): net.py (web3, net, node info), accounts.py,
blocks.py, transactions.py, calls.py, fees.py, logs.py (logs and filters), pool.py, debug.py, dev.py, signing.py;
api.py puts them together."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import types as T

if TYPE_CHECKING:
    from state.db import StateDB

    from ..header import Header
    from ..node.node import Node

NAMESPACES = ("web3", "net", "eth", "debug", "txpool")


class Topic:
    """A group of RPC methods, each a method named as on the wire (`eth_getBalance`)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {
            name: getattr(self, name)
            for name in dir(type(self))
            if name.split("_", 1)[0] in NAMESPACES and callable(getattr(self, name))
        }

    def _call_header(self, v: Any, i: int, default: str = "latest") -> Header:
        """The block a call runs on: "pending" (eth_estimateGas's default, as in Hardhat and anvil) is the next
        block as it would be sealed now (number, timestamp after evm_increaseTime, base fee) on the head's state."""
        if (v is None and default == "pending") or v == "pending":
            return self.node.pending_header()
        return self._header(v, i)

    def _header(self, v: Any, i: int) -> Header:
        return self.node.resolve(T.block_id(v, i))

    def _state(self, v: Any, i: int) -> StateDB:
        return self.node.state(self._header(v, i))
