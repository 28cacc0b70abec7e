"""The compact tier's inline lane-wise instructions (EQ ISZERO AND OR XOR NOT on <4 x i64>: codegen/comparison.py,
bitwise.py) give what the interpreter gives, on words known only at run time (from calldata), on constants
(folded when the code is built) and on one of each, and in long chains (the not_op and iszero benchmark shapes)."""

from __future__ import annotations

import pytest

from evm.backends import get_backend
from tests.evm_helpers import ops, push_n
from tests.test_compiler_differential import both

WORDS = [0, 1, 2, 0xFF, 1 << 63, (1 << 64) - 1, 1 << 64, 1 << 128, (1 << 192) + 5, 1 << 255, (1 << 256) - 1]
DATA = b"".join(w.to_bytes(32, "big") for w in WORDS)
UNARY = ["ISZERO", "NOT"]
BINARY = ["EQ", "AND", "OR", "XOR"]


@pytest.fixture(autouse=True)
def compact(monkeypatch):
    # The shared mlir backend takes its disk cache's version (which covers EVM_MLIR_TIER) when it is created:
    # created here under the forced tier, it would keep that version for the rest of the process, and tests
    # that expect the process's cache (test_tiered's) would miss their objects. Create it first.
    get_backend("mlir")
    monkeypatch.setenv("EVM_MLIR_TIER", "compact")


def _load(i: int) -> bytes:
    return ops(32 * i, "CALLDATALOAD")


def _program(body: list[bytes], tag: str) -> bytes:
    """Each piece of `body` leaves one word, stored at 32 * its index; the words are returned. `tag` makes the
    code distinct per test (compiled here, not found compiled by another test)."""
    code = b"".join(piece + ops(32 * k, "MSTORE") for k, piece in enumerate(body))
    return code + ops(32 * len(body), 0, "RETURN", "INVALID") + tag.encode()


@pytest.mark.parametrize("name", UNARY)
def test_unary_on_run_time_words_and_constants(name):
    body = [_load(i) + ops(name) for i in range(len(WORDS))]
    body += [push_n(w, 32) + ops(name) for w in WORDS]
    ra, _ = both(_program(body, name), DATA, gas=1_000_000)
    assert ra.status == "success" and len(ra.output) == 32 * len(body)


@pytest.mark.parametrize("name", BINARY)
def test_binary_on_every_mix_of_run_time_words_and_constants(name):
    body = []
    for i, a in enumerate(WORDS):
        for j, b in enumerate(WORDS):
            if (i + j) % 3 == 0:  # both at run time
                body.append(_load(j) + _load(i) + ops(name))
            elif (i + j) % 3 == 1:  # top a constant, the other at run time
                body.append(_load(j) + push_n(a, 32) + ops(name))
            else:  # the other way round
                body.append(push_n(b, 32) + _load(i) + ops(name))
        body.append(push_n(a, 32) + push_n(a ^ 1, 32) + ops(name))  # both constants: folded
    ra, _ = both(_program(body, name), DATA, gas=5_000_000)
    assert ra.status == "success" and len(ra.output) == 32 * len(body)


@pytest.mark.parametrize("name", UNARY)
def test_long_chains_cross_blocks(name):
    """1,000 in a row (split into basic blocks of 64 instructions with gas checks between), from a run-time
    word, then ADD of two words that went through them (the chain's result is used by a called op)."""
    chain = _load(5) + ops(*[name] * 1000) + _load(9) + ops(*[name] * 999) + ops("ADD")
    ra, _ = both(_program([chain], name + "chain"), DATA, gas=1_000_000)
    assert ra.status == "success"
    for gas in (3_000, 5_000):  # out of gas inside the chain: the same error and gas as interpreted
        rb, _ = both(_program([chain], name + "chain"), DATA, gas=gas)
        assert rb.status == "error"
