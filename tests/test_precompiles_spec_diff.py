"""Replay of inputs whose results were computed by ethereum/execution-specs 2.20.0 (the executable
spec, py_ecc based) — see tests/fixtures/precompiles/gen_spec_cases.py. Every precompile of every
fork, valid and mutated inputs, gas at and just below the price."""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import pytest

from evm.precompiles import precompiles_for
from evm.spec import Fork

CASES = json.load(gzip.open(Path(__file__).parent / "fixtures" / "precompiles" / "spec_differential.json.gz", "rt"))
BY_ADDRESS = collections.defaultdict(list)
for case in CASES:
    BY_ADDRESS[int(case["addr"], 16)].append(case)


def test_every_precompile_covered_with_successes_and_failures():
    assert set(BY_ADDRESS) == set(range(1, 0x12)) | {0x100}
    for addr, cases in BY_ADDRESS.items():
        assert any(c["expected"]["success"] for c in cases), hex(addr)


@pytest.mark.parametrize("addr", sorted(BY_ADDRESS), ids=hex)
def test_matches_execution_specs(addr):
    mismatches = []
    for c in BY_ADDRESS[addr]:
        fork = Fork.from_name(c["fork"])
        res = precompiles_for(fork)[addr.to_bytes(20, "big")](bytes.fromhex(c["data"]), c["gas"], fork)
        exp = c["expected"]
        if (res.success, res.output.hex(), res.gas_used) != (exp["success"], exp["output"], exp["gas_used"]):
            mismatches.append((c["fork"], c["gas"], c["data"][:64], res, exp))
    assert not mismatches, mismatches[:3]


@pytest.mark.parametrize("convert", [bytearray, memoryview])
def test_accepts_bytes_like_input(convert):
    seen = set()
    for c in CASES:
        if c["addr"] in seen or not c["expected"]["success"]:
            continue
        seen.add(c["addr"])
        fork = Fork.from_name(c["fork"])
        fn = precompiles_for(fork)[int(c["addr"], 16).to_bytes(20, "big")]
        res = fn(convert(bytes.fromhex(c["data"])), c["gas"], fork)
        assert type(res.output) is bytes
        assert (res.success, res.output.hex(), res.gas_used) == tuple(
            c["expected"][k] for k in ("success", "output", "gas_used")
        )
    assert len(seen) == 18
