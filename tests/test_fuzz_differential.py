"""A short, deterministic differential-fuzzing run inside `make test` (the long campaign is
`make fuzz`): generated programs and transactions (types 0-4, Cancun/Prague/Osaka) through the
interpreter, the mlir backend when it loads, and the executable spec when installed; all must
agree on validity, status, output, gas used, logs, state root and the error name, and nothing may crash.
Also checks that the harness does catch a deliberately broken backend."""

from __future__ import annotations

import random

import pytest

from evm.backends import register_backend
from evm.interpreter import InterpreterBackend, instruction_table
from evm.interpreter.frame import Frame
from evm.message import ExecutionResult
from tests.fuzz.gen import address_of, gen_case
from tests.fuzz.harness import Campaign, usable_backends
from tests.fuzz.runners import diff, run_ours, run_spec, spec_available

SEED = "make-test"
CASES = 60  # ~3 s with compiled programs cached, ~12 s when the mlir backend compiles them all (loaded machine)


def test_short_differential_campaign():
    backends, skipped = usable_backends()
    assert "interpreter" in backends
    campaign = Campaign(backends, spec_available(), None, case_timeout=60)
    for i in range(CASES):
        campaign.run_case(SEED, i)
    s = campaign.summary()
    print(
        f"fuzz: {s['cases']} cases, {s['programs']} programs, runs {s['runs_per_backend']}, "
        f"skipped backends {skipped}, oracle errors {s['oracle_errors']}"
    )
    assert s["crashes"] == 0, campaign.crashes[:1]
    assert s["hangs"] == 0, campaign.crashes[:1]
    assert s["divergences"] == 0, [
        (d["index"], d["backend"], d["fields"], d["ours"], d["expected"]) for d in campaign.divergences[:3]
    ]
    # the generator reaches every transaction type and a mix of outcomes
    for t in range(5):
        assert s["stats"].get(f"type{t}", 0) > 0
    outcomes = s["reference_outcomes"]
    assert outcomes.get("valid:success", 0) > CASES // 4
    assert outcomes.get("valid:revert", 0) > 0 and outcomes.get("valid:error", 0) > 0


class _Mutant(InterpreterBackend):
    """The interpreter with one deliberate bug: the harness must notice."""

    name = "mutant"
    mutate = None

    def run_frame(self, message, host) -> ExecutionResult:
        from evm.interpreter import _loop, run_loop

        table = list(instruction_table(host.fork))
        self.mutate(table)
        return run_loop(Frame(message, host), _loop, table)


def _jumpdest_costs_2(table):
    fn, _, lo, hi = table[0x5B]
    table[0x5B] = (fn, 2, lo, hi)


def _mod_is_div(table):
    table[0x06] = table[0x04]


@pytest.mark.parametrize("mutation", [_jumpdest_costs_2, _mod_is_div])
def test_harness_catches_a_broken_backend(mutation):
    name = f"mutant-{mutation.__name__}"
    register_backend(name, type(name, (_Mutant,), {"name": name, "mutate": staticmethod(mutation)}))
    campaign = Campaign(["interpreter", name], False, None, case_timeout=60)
    for i in range(200):  # interpreter only: ~2 s
        campaign.run_case("mutant", i)
    assert campaign.summary()["divergences"] > 0


class _MisnamesErrors(InterpreterBackend):
    """Right status, output, gas and state, but every exceptional halt called OutOfGas (the kind of
    divergence issue 12 found in the compiled code): only the error names can tell."""

    name = "misnames-errors"

    def run_frame(self, message, host) -> ExecutionResult:
        r = super().run_frame(message, host)
        if r.status == "error" and r.error != "OutOfGas":
            return ExecutionResult("error", r.output, r.gas_left, "OutOfGas")
        return r


def test_harness_compares_error_names():
    register_backend("misnames-errors", _MisnamesErrors)
    campaign = Campaign(["interpreter", "misnames-errors"], False, None, case_timeout=60)
    for i in range(200):
        campaign.run_case("mutant", i)
    found = campaign.divergences
    assert found and all(d["fields"] == ["error"] for d in found), found[:1]


@pytest.mark.skipif(not spec_available(), reason="ethereum-execution (the fuzz oracle) is not installed")
def test_spec_runner_agrees_on_simple_transfer_and_rejects_bad_nonce():
    rng = random.Random(5)
    case = gen_case(rng, "Osaka")
    case["tx"].update(
        type=2,
        to="0x" + "ab" * 20,
        data="",
        value=1,
        max_fee_per_gas=10**9,
        max_priority_fee_per_gas=1,
        gas=21000,
        access_list=[],
        chain_id=1,
    )
    case["tx"].pop("authorizations", None)
    case["tx"].pop("blob_hashes", None)
    case["env"]["base_fee"] = 7
    sender = "0x" + address_of(bytes.fromhex(case["key"])).hex()
    case["pre"][sender]["balance"] = 10**20
    case["tx"]["nonce"] = case["pre"][sender]["nonce"]
    ours, spec = run_ours(case), run_spec(case)
    assert ours.valid and ours.gas_used == 21000 and diff(ours, spec) == []
    case["tx"]["nonce"] += 1
    assert not run_ours(case).valid and not run_spec(case).valid
