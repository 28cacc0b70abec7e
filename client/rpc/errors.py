"""JSON-RPC errors with geth's codes and messages."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # geth: every error of a method's own (nonce too low, header not found, ...)
EXECUTION_REVERTED = 3  # geth: a reverting eth_call / eth_estimateGas, data = the revert output


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class InvalidParams(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


class ServerError(RpcError):
    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(SERVER_ERROR, message, data)


class ExecutionReverted(RpcError):
    def __init__(self, output: bytes) -> None:
        from evm.revert import revert_reason

        reason = revert_reason(output)  # Error(string) or Panic(uint256), as geth words them
        message = "execution reverted" + (f": {reason}" if reason else "")
        super().__init__(EXECUTION_REVERTED, message, "0x" + output.hex())
        self.output = output
