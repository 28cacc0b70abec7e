"""web3_*, net_* and what the node says of itself: client version, chain id, sync and mining status, coinbase,
accounts."""

from __future__ import annotations

import platform
from typing import Any

from common.keccak import keccak

from . import types as T
from .format import _hb, _hx
from .topic import Topic

CLIENT_VERSION = f"evm-mlir/v0.1.0/{platform.system().lower()}-{platform.machine()}/python{platform.python_version()}"


class NetApi(Topic):
    def web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    def web3_sha3(self, data: Any) -> str:
        return _hb(keccak(T.data(data, 0)))

    def net_version(self) -> str:
        return str(self.node.chain_id)

    def net_listening(self) -> bool:
        return True

    def net_peerCount(self) -> str:
        return "0x0"

    def eth_chainId(self) -> str:
        return _hx(self.node.chain_id)

    def eth_syncing(self) -> bool:
        return False

    def eth_mining(self) -> bool:
        s = self.node.dev.settings
        return s.automine or s.interval > 0

    def eth_hashrate(self) -> str:
        return "0x0"

    def eth_coinbase(self) -> str:
        return T.checksum(self.node.dev.settings.coinbase)

    def eth_accounts(self) -> list[str]:
        """The dev accounts, then the impersonated ones (as anvil lists them: ethers' getSigner(address) looks
        the address up here)."""
        out = list(self.node.dev_keys)
        out += [a for a in sorted(self.node.dev.settings.impersonated) if a not in self.node.dev_keys]
        return [T.checksum(a) for a in out]
