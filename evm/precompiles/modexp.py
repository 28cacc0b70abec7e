"""0x05 MODEXP: EIP-198 with EIP-2565 pricing (`modexp`); Osaka's `modexp_osaka` adds EIP-7823
(1024-byte input bounds) and EIP-7883 (repricing); the precompile table picks one per fork.
Arithmetic is CPython's ``pow``."""

from __future__ import annotations

from evm.precompiles import PrecompileResult, fail, ok, read
from evm.spec import Fork

OSAKA_MAX_LENGTH = 1024  # EIP-7823


def gas_cost(base_len: int, exp_len: int, mod_len: int, exp_head: int, osaka: bool) -> int:
    """EIP-2565 (Berlin..Prague) or, with `osaka`, EIP-7883 price; ``exp_head`` is the integer of the
    first min(32, exp_len) bytes of the exponent."""
    max_len = max(base_len, mod_len)
    nwords = (max_len + 7) // 8
    if osaka:
        complexity = 2 * nwords * nwords if max_len > 32 else 16
    else:
        complexity = nwords * nwords
    head_bits = max(exp_head.bit_length() - 1, 0)
    if exp_len <= 32:
        iterations = head_bits
    else:
        iterations = (16 if osaka else 8) * (exp_len - 32) + head_bits
    iterations = max(iterations, 1)
    if osaka:
        return max(500, complexity * iterations)
    return max(200, complexity * iterations // 3)


def modexp(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    return _modexp(data, gas, False)


def modexp_osaka(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
    return _modexp(data, gas, True)


def _modexp(data: bytes, gas: int, osaka: bool) -> PrecompileResult:
    base_len = int.from_bytes(read(data, 0, 32), "big")
    exp_len = int.from_bytes(read(data, 32, 32), "big")
    mod_len = int.from_bytes(read(data, 64, 32), "big")
    if osaka and max(base_len, exp_len, mod_len) > OSAKA_MAX_LENGTH:
        return fail(gas)
    exp_start = 96 + base_len
    exp_head = int.from_bytes(read(data, exp_start, min(32, exp_len)), "big")
    cost = gas_cost(base_len, exp_len, mod_len, exp_head, osaka)
    if gas < cost:
        return fail(gas)
    if base_len == 0 and mod_len == 0:
        return ok(b"", cost)
    base = int.from_bytes(read(data, 96, base_len), "big")
    exp = int.from_bytes(read(data, exp_start, exp_len), "big")
    mod = int.from_bytes(read(data, exp_start + exp_len, mod_len), "big")
    if mod == 0:
        return ok(b"\x00" * mod_len, cost)
    return ok(pow(base, exp, mod).to_bytes(mod_len, "big"), cost)
