"""Engine API error codes (execution-apis src/engine/common.md#errors) beside the JSON-RPC ones."""

from __future__ import annotations

from ..rpc.errors import InvalidParams, RpcError

UNKNOWN_PAYLOAD = -38001
INVALID_FORKCHOICE_STATE = -38002
INVALID_PAYLOAD_ATTRIBUTES = -38003
TOO_LARGE_REQUEST = -38004
UNSUPPORTED_FORK = -38005


class EngineError(RpcError):
    MESSAGES = {
        UNKNOWN_PAYLOAD: "Unknown payload",
        INVALID_FORKCHOICE_STATE: "Invalid forkchoice state",
        INVALID_PAYLOAD_ATTRIBUTES: "Invalid payload attributes",
        TOO_LARGE_REQUEST: "Too large request",
        UNSUPPORTED_FORK: "Unsupported fork",
    }

    def __init__(self, code: int, detail: str = "") -> None:
        # the spec's message, the detail in `data` (as geth does), so clients matching on the message still match
        super().__init__(code, self.MESSAGES[code], detail or None)


__all__ = [
    "EngineError",
    "InvalidParams",
    "UNKNOWN_PAYLOAD",
    "INVALID_FORKCHOICE_STATE",
    "INVALID_PAYLOAD_ATTRIBUTES",
    "TOO_LARGE_REQUEST",
    "UNSUPPORTED_FORK",
]
