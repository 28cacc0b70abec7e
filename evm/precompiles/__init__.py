"""Precompiled contracts, per fork as data: the table below says from which fork each address runs which
implementation (a later row for the same address replaces the earlier one, as MODEXP's in Osaka).

Every precompile is a callable ``(data: bytes, gas: int, fork: Fork) -> PrecompileResult``.
On insufficient gas or invalid input it returns ``success=False`` with ``gas_used == gas``
(a failing precompile consumes all the gas it was given) and empty output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evm.spec import Fork


@dataclass(frozen=True, slots=True)
class PrecompileResult:
    success: bool
    output: bytes
    gas_used: int


Precompile = Callable[[bytes, int, Fork], PrecompileResult]


def ok(output: bytes, gas_used: int) -> PrecompileResult:
    return PrecompileResult(True, output, gas_used)


def fail(gas: int) -> PrecompileResult:
    """Exceptional halt: all gas given is consumed, no output."""
    return PrecompileResult(False, b"", gas)


def address(n: int) -> bytes:
    return n.to_bytes(20, "big")


def read(data: bytes, start: int, size: int) -> bytes:
    """``data[start:start+size]`` right-padded with zeros (the EVM's buffer read)."""
    if size <= 0:
        return b""
    chunk = data[start : start + size] if start < len(data) else b""
    return chunk + b"\x00" * (size - len(chunk))


def words(n: int) -> int:
    return (n + 31) // 32


# (address, first fork, "module:function"), in fork order; a family's module is imported on first use
_TABLE: list[tuple[int, Fork, str]] = [
    (0x01, Fork.PARIS, "ecrecover:ecrecover"),
    (0x02, Fork.PARIS, "hashes:sha256"),
    (0x03, Fork.PARIS, "hashes:ripemd160"),
    (0x04, Fork.PARIS, "hashes:identity"),
    (0x05, Fork.PARIS, "modexp:modexp"),
    (0x06, Fork.PARIS, "bn254:bn254_add"),
    (0x07, Fork.PARIS, "bn254:bn254_mul"),
    (0x08, Fork.PARIS, "bn254:bn254_pairing"),
    (0x09, Fork.PARIS, "blake2f:blake2f"),
    (0x0A, Fork.CANCUN, "kzg:point_evaluation"),
    (0x0B, Fork.PRAGUE, "bls12_381:g1_add"),
    (0x0C, Fork.PRAGUE, "bls12_381:g1_msm"),
    (0x0D, Fork.PRAGUE, "bls12_381:g2_add"),
    (0x0E, Fork.PRAGUE, "bls12_381:g2_msm"),
    (0x0F, Fork.PRAGUE, "bls12_381:pairing"),
    (0x10, Fork.PRAGUE, "bls12_381:map_fp_to_g1"),
    (0x11, Fork.PRAGUE, "bls12_381:map_fp2_to_g2"),
    (0x05, Fork.OSAKA, "modexp:modexp_osaka"),  # EIP-7823 bounds, EIP-7883 pricing
    (0x100, Fork.OSAKA, "p256:p256verify"),
]

_cache: dict[Fork, dict[bytes, Precompile]] = {}


def _resolve(spec: str) -> Precompile:
    import functools
    import importlib

    module, name = spec.split(":")
    fn: Precompile = getattr(importlib.import_module(f"evm.precompiles.{module}"), name)

    @functools.wraps(fn)
    def run(data: bytes, gas: int, fork: Fork) -> PrecompileResult:
        # accept any bytes-like input (bytearray / memoryview of EVM memory)
        return fn(data if type(data) is bytes else bytes(data), gas, fork)

    return run


def precompiles_for(fork: Fork) -> dict[bytes, Precompile]:
    """Address (20 bytes) -> precompile, for the precompiles active in ``fork``. The table is
    shared (one per fork, built once): read it, never change it."""
    table = _cache.get(fork)
    if table is None:
        table = {address(n): _resolve(spec) for n, since, spec in _TABLE if fork >= since}
        _cache[fork] = table
    return table


def is_precompile(addr: bytes, fork: Fork) -> bool:
    if len(addr) != 20 or addr[:18] != b"\x00" * 18:
        return False
    n = int.from_bytes(addr, "big")
    return any(n == a and fork >= since for a, since, _ in _TABLE)


__all__ = ["PrecompileResult", "Precompile", "precompiles_for", "is_precompile"]
