"""The worst-case compile shapes of bench/compile_shapes.py (timed by `bench/compile_time.py
--shapes`, published in docs/compiler.md) compile and run exactly as the interpreter runs them:
each at 1 KB in the tier its size selects, and a few at 2 KB forced into each tier."""

from __future__ import annotations

import pytest

from bench.compile_shapes import SHAPES, shape
from tests.test_compiler_differential import both

GAS = 30_000_000
DATA = bytes(range(1, 33))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_runs_as_interpreted(name):
    ra, _ = both(shape(name, 1024), DATA, gas=GAS)
    assert ra.status in ("success", "error")


@pytest.mark.parametrize("tier", ["full", "cheap", "compact"])
@pytest.mark.parametrize("name", ["mulmod_chain", "keccak", "sstore_seq", "dyn_jumps", "precompile_loop"])
def test_shape_in_each_tier(monkeypatch, tier, name):
    monkeypatch.setenv("EVM_MLIR_TIER", tier)
    code = shape(name, 2048) + bytes([0x5F, 0x5F, 0xF3])  # distinct code per test: compiled, not cached
    code = code + tier.encode()
    both(code, DATA, gas=GAS)


@pytest.mark.parametrize("tier", ["cheap", "compact"])
def test_dynamic_jumps_into_a_jumpdest_run(monkeypatch, tier):
    """A dynamic jump to each JUMPDEST of a 40-long run (compact: one range test for the run)
    charges the JUMPDESTs from the target to the run's end: gas exact, out of gas at the boundary."""
    monkeypatch.setenv("EVM_MLIR_TIER", tier)
    # CALLDATALOAD(0) JUMP; 40 JUMPDESTs at pcs 4..43; PUSH1 1 PUSH0 MSTORE ...RETURN
    run = b"\x5b" * 40
    code = b"\x5f\x35\x56\x00" + run + bytes.fromhex("60015f5260205ff3") + tier.encode()
    for target in (3, 4, 5, 20, 43, 44):
        for gas in (30, 60, 3 + 2 + 8 + (44 - target) + 3 + 2 + 6 + 2 + 2):
            both(code, target.to_bytes(32, "big"), gas=gas)
