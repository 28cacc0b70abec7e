"""State overrides (geth's StateOverride) applied to a call's copy of the state: eth_call, eth_estimateGas,
debug_traceCall."""

from __future__ import annotations

from typing import Any

from state.journal import JournaledState

from . import types as T
from .errors import InvalidParams


def apply_overrides(state: JournaledState, overrides: Any) -> None:
    """geth's state overrides of eth_call / debug_traceCall: per account nonce, code, balance, and either the
    whole storage (`state`) or some slots (`stateDiff`)."""
    if not isinstance(overrides, dict):
        raise InvalidParams("invalid argument 2: state override must be an object")
    for addr, o in overrides.items():
        a = T.address(addr, 2)
        if not isinstance(o, dict):
            raise InvalidParams("invalid argument 2: account override must be an object")
        if o.get("state") is not None and o.get("stateDiff") is not None:
            raise InvalidParams(f"account 0x{a.hex()} has both 'state' and 'stateDiff'")
        if o.get("nonce") is not None:
            state.set_nonce(a, T.quantity(o["nonce"], 2, 64))
        if o.get("code") is not None:
            state.set_code(a, T.data(o["code"], 2))
        if o.get("balance") is not None:
            state.set_balance(a, T.quantity(o["balance"], 2))
        if o.get("state") is not None:
            nonce, balance, code = state.get_nonce(a), state.get_balance(a), state.get_code(a)
            state.destroy_account(a)
            state.set_balance(a, balance)
            state.set_nonce(a, nonce)
            state.set_code(a, code)
        slots = o.get("state") or o.get("stateDiff") or {}
        if not isinstance(slots, dict):
            raise InvalidParams("invalid argument 2: state and stateDiff must be objects")
        for k, v in slots.items():
            state.set_storage(a, int.from_bytes(T.hash32(k, 2), "big"), int.from_bytes(T.hash32(v, 2), "big"))
