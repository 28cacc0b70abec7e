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
