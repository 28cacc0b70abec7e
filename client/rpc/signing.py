"""Signing with the node's keys (the dev accounts; an impersonated account has none): eth_sign and personal_sign
(EIP-191), eth_signTypedData_v4 (EIP-712, eth-account's encoder), eth_signTransaction (filled in as
eth_sendTransaction fills it, signed, not sent). Signatures are r ‖ s ‖ v with v 27 or 28, as geth and anvil
give them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.messages import encode_defunct

from . import types as T
from .errors import InvalidParams, ServerError

if TYPE_CHECKING:
    from ..node.node import Node
    from .calls import CallsApi


class SigningApi:
    def __init__(self, node: Node, calls: CallsApi) -> None:
        self.node = node
        self.calls = calls

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {
            "eth_sign": self.eth_sign,
            "personal_sign": self.personal_sign,
            "eth_signTypedData_v4": self.eth_signTypedData_v4,
            "eth_signTypedData": self.eth_signTypedData_v4,
            "eth_signTypedData_v3": self.eth_signTypedData_v4,
            "eth_signTransaction": self.eth_signTransaction,
        }

    def _key(self, address: bytes) -> bytes:
        key = self.node.dev_keys.get(address)
        if key is None:
            # an impersonated account can send (the node does not check its signature) but not sign
            raise ServerError(
                "unknown account"
                if not self.node.dev.is_impersonated(address)
                else "no key for an impersonated account: it can send transactions, not sign"
            )
        return key

    def _sign_191(self, address: bytes, message: bytes) -> str:
        signed = Account.sign_message(encode_defunct(primitive=message), self._key(address))
        return "0x" + bytes(signed.signature).hex()

    def eth_sign(self, address: Any, message: Any) -> str:
        """geth's eth_sign: the EIP-191 personal message of `message` (address first)."""
        return self._sign_191(T.address(address, 0), T.data(message, 1))

    def personal_sign(self, message: Any, address: Any) -> str:
        """personal_sign(message, address): the message as hex bytes, or as text when it is not hex (as
        Hardhat and MetaMask take it)."""
        a = T.address(address, 1)
        if not isinstance(message, str):
            raise InvalidParams("invalid argument 0: expected a hex string or text")
        if message.startswith(("0x", "0X")):
            data = T.data(message, 0)
        else:
            data = message.encode()
        return self._sign_191(a, data)

    def eth_signTypedData_v4(self, address: Any, typed: Any) -> str:
        """EIP-712: `typed` is the typed-data object (or its JSON text): types, primaryType, domain, message."""
        a = T.address(address, 0)
        if isinstance(typed, str):
            try:
                typed = json.loads(typed)
            except ValueError:
                raise InvalidParams("invalid argument 1: typed data is not JSON") from None
        if not isinstance(typed, dict) or not isinstance(typed.get("types"), dict) or "primaryType" not in typed:
            raise InvalidParams("invalid argument 1: expected EIP-712 typed data (types, primaryType, domain, message)")
        key = self._key(a)
        try:
            signed = Account.sign_typed_data(key, full_message=typed)
        except Exception as exc:  # eth-account's encoder refuses malformed data with many exception types
            raise InvalidParams(f"invalid argument 1: {type(exc).__name__}: {exc}") from None
        return "0x" + bytes(signed.signature).hex()

    def eth_signTransaction(self, args: Any) -> str:
        """The raw signed transaction (0x-hex of its EIP-2718 encoding), not sent: what anvil answers."""
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction object")
        if args.get("from") is None:
            raise ServerError("missing from address")
        key = self._key(T.address(args["from"], 0))
        tx = self.calls.transaction_from_args(args, self.node.head(), sign=True)
        tx.sign(key)
        return "0x" + tx.encode().hex()
