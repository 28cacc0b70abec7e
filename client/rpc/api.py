"""The node's JSON-RPC methods, by topic (as ethrex splits its RPC): net.py (web3, net, node info), accounts.py
(+ proof.py), blocks.py, transactions.py, calls.py, fees.py, logs.py (logs and filters), pool.py (txpool_*), debug.py
(tracing), dev.py (anvil, Hardhat, evm_* test methods), signing.py. Parameters are parsed as geth does
(types.py) and results shaped as geth gives them (format.py), so web3.py / ethers / curl scripts work unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .accounts import AccountsApi
from .blocks import BlocksApi
from .calls import CallsApi
from .debug import DebugApi
from .dev import DevApi
from .fees import FeesApi
from .logs import LogsApi
from .net import NetApi
from .pool import PoolApi
from .proof import eth_get_proof
from .signing import SigningApi
from .transactions import TransactionsApi

if TYPE_CHECKING:
    from ..node.node import Node

MODULES = ("anvil", "debug", "eth", "evm", "hardhat", "net", "personal", "rpc", "txpool", "web3")

# Methods the server may run on its event loop while the chain thread seals (server.py): they read committed
# data only (blocks, receipts, lookups and the head land in one write batch; a state root read stays whole) or
# admit a raw transaction (the pool locks itself). Everything else (dev methods, filters, eth_sendTransaction,
# tracing, signing) runs on the chain thread, one at a time.
CONCURRENT_METHODS = frozenset(
    {
        "web3_clientVersion",
        "web3_sha3",
        "net_version",
        "net_listening",
        "net_peerCount",
        "rpc_modules",
        "eth_chainId",
        "eth_networkId",
        "eth_blockNumber",
        "eth_syncing",
        "eth_mining",
        "eth_hashrate",
        "eth_coinbase",
        "eth_accounts",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_blobBaseFee",
        "eth_feeHistory",
        "eth_getBalance",
        "eth_getAccount",
        "eth_getTransactionCount",
        "eth_getCode",
        "eth_getStorageAt",
        "eth_getProof",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getBlockTransactionCountByNumber",
        "eth_getBlockTransactionCountByHash",
        "eth_getUncleCountByBlockNumber",
        "eth_getUncleCountByBlockHash",
        "eth_getUncleByBlockNumberAndIndex",
        "eth_getUncleByBlockHashAndIndex",
        "eth_getBlockReceipts",
        "eth_getTransactionByHash",
        "eth_getTransactionByBlockNumberAndIndex",
        "eth_getTransactionByBlockHashAndIndex",
        "eth_getRawTransactionByHash",
        "debug_getRawTransaction",
        "eth_getRawTransactionByBlockNumberAndIndex",
        "eth_getRawTransactionByBlockHashAndIndex",
        "eth_getTransactionReceipt",
        "eth_call",
        "eth_estimateGas",
        "eth_createAccessList",
        "eth_getLogs",
        "eth_sendRawTransaction",
    }
)


class Api:
    """Every topic's methods over one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.calls = CallsApi(node)
        self.net = NetApi(node)
        self.logs = LogsApi(node)  # keeps the installed filters
        self.topics = (
            self.net,
            AccountsApi(node),
            BlocksApi(node),
            TransactionsApi(node, self.calls),
            self.calls,
            FeesApi(node),
            self.logs,
            PoolApi(node),
            DebugApi(node, self.calls),
        )
        self.dev = DevApi(node, self.calls)
        self.signing = SigningApi(node, self.calls)

    def methods(self) -> dict[str, Callable[..., Any]]:
        """Method name -> implementation, every topic's; a name is served once."""
        out: dict[str, Callable[..., Any]] = {}
        for part in (*self.topics, self.dev, self.signing):
            for name, fn in part.methods().items():
                assert name not in out, f"{name} served twice"
                out[name] = fn
        node = self.node
        out["eth_getProof"] = lambda address, keys, block=None: eth_get_proof(node, address, keys, block)
        out["rpc_modules"] = self.rpc_modules
        out["eth_networkId"] = self.net.net_version  # anvil's names for these two
        out["eth_requestAccounts"] = self.net.eth_accounts
        return out

    def rpc_modules(self) -> dict[str, str]:
        return {name: "1.0" for name in MODULES}

    def call(self, method: str, *params: Any) -> Any:
        """Run one method in this process (tests, tools): as the dispatcher would, without JSON."""
        return self.methods()[method](*params)
