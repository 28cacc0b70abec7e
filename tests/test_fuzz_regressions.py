"""Regression tests from differential fuzzing (tests/fuzz/).

* tests/fuzz/corpus.json: generated cases covering every fork, transaction type and outcome, with
  the outcome the executable spec gave (recorded with `python -m tests.fuzz.harness
  --record-corpus`), replayed on every backend that loads -- no oracle needed at test time.
* tests/fuzz/regressions/*.json: every divergence, crash or hang the fuzzer found, saved by the
  harness (`{"case", "expected"}`), replayed the same way.
* explicit tests for findings that are easier to state directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evm_helpers import ops, run
from tests.fuzz.harness import usable_backends
from tests.fuzz.runners import errors_agree, run_ours

HERE = Path(__file__).parent / "fuzz"
BACKENDS, SKIPPED = usable_backends()


def _entries() -> list[tuple[str, dict]]:
    out = []
    for e in json.loads((HERE / "corpus.json").read_text()):
        out.append((f"corpus-{e['seed']}-{e['index']}", e))
    for p in sorted((HERE / "regressions").glob("*.json")):
        e = json.loads(p.read_text())
        out.append((p.stem, e))
    return out


ENTRIES = _entries()


@pytest.mark.parametrize("backend", BACKENDS)
def test_corpus_and_regressions(backend):
    bad = []
    for name, e in ENTRIES:
        got = run_ours(e["case"], backend).describe()
        # error names as the spec gives them (corpus) or as ours gave them (regressions)
        if e["expected"].get("valid") and errors_agree(got.get("error", ""), e["expected"].get("error", ""), True):
            got["error"] = e["expected"].get("error", "")
        if got != e["expected"]:
            bad.append(
                (
                    name,
                    {
                        k: (got.get(k), e["expected"].get(k))
                        for k in e["expected"]
                        if got.get(k) != e["expected"].get(k)
                    },
                )
            )
    assert not bad, bad[:3]


def test_corpus_covers_every_transaction_type_and_outcome():
    kinds = {(e["case"]["tx"]["type"]) for _, e in ENTRIES}
    outcomes = {(e["expected"]["valid"], e["expected"].get("status")) for _, e in ENTRIES}
    assert kinds == {0, 1, 2, 3, 4}
    assert {(True, "success"), (True, "revert"), (True, "error"), (False, None)} <= outcomes


@pytest.mark.parametrize("backend", BACKENDS)
def test_modexp_with_huge_lengths_fails_cleanly(backend):
    """The fuzzer made the spec oracle itself crash (OverflowError in its modexp: U256(96) +
    base_length) with a call to MODEXP whose length words are near 2**256. Ours must return a
    failed call (all gas given to it consumed), not raise."""
    for lengths in ((2**256 - 1, 1, 1), (1, 2**256 - 1, 1), (1, 1, 2**256 - 1), (2**255, 2**255, 0)):
        code = b""
        for i, v in enumerate(lengths):
            code += ops(v, i * 32, "MSTORE")
        # CALL(gas=100000, 0x05, 0, in=0..96+3, out=0..32) ; return the success flag
        code += ops(32, 0, 99, 0, 0, 5, 100_000, "CALL", 0, "MSTORE", 32, 0, "RETURN")
        r = run(code, gas=1_000_000, backend=backend)
        assert r.status == "success", (lengths, r.result)
        assert r.word == 0, lengths
        assert r.used > 100_000  # the gas given to the failing precompile is gone
