"""The reason in a revert's output, as geth's abi.UnpackRevert reads it: the text of Error(string), or what a
Solidity Panic(uint256) code means. Used for eth_call's "execution reverted: <reason>" and callTracer's
revertReason."""

from __future__ import annotations

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
PANICS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def revert_reason(output: bytes) -> str | None:
    if output[:4] == ERROR_SELECTOR and len(output) >= 68:
        try:
            offset = int.from_bytes(output[4:36], "big")
            size = int.from_bytes(output[4 + offset : 36 + offset], "big")
            raw = output[36 + offset : 36 + offset + size]
            if len(raw) == size:
                return raw.decode("utf-8", "replace")
        except (ValueError, OverflowError):
            return None
    if output[:4] == PANIC_SELECTOR and len(output) == 36:
        code = int.from_bytes(output[4:], "big")
        return PANICS.get(code, f"unknown panic code: {code:#x}")
    return None
