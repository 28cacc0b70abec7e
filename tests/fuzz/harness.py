"""Differential fuzzing campaign: structured random programs and transactions (tests/fuzz/gen.py)
through our interpreter, our compiled backend (if it loads) and the executable spec.

    python -m tests.fuzz.harness --seconds 300 --seed 1          # `make fuzz`
    python -m tests.fuzz.harness --cases 200 --seed 8 --json out.json
    python -m tests.fuzz.harness --seconds 3600 --seed 1 --ray HOST:PORT   # over a Ray cluster

Case i of seed s is generated from random.Random(f"{s}:{i}"), so any case can be regenerated
from its (seed, index). Every backend's outcome (validity, status, output, gas used, logs, state
root) is compared with the spec's (or with the interpreter's when the spec is not installed).
A divergence, an exception escaping our code (a crash) or a case running longer than
--case-timeout seconds (a hang) is saved as JSON under --save-dir to become a regression test
(tests/test_fuzz_regressions.py), with the command that reproduces it. Exit status 1 when anything
of ours diverged, crashed or hung.

With --ray the campaign spreads over a Ray cluster (tests/fuzz/ray_campaign.py): worker k of N runs
the seed stream "SEED.k" (cases SEED.k:0, SEED.k:1, ...) in chunks, and the findings come back here.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from .gen import gen_case
from .runners import diff, run_ours, run_spec, spec_available

# The backends a campaign runs by default, when they are registered (others, e.g. test mutants or
# the tracing interpreter, only on request).
FUZZED_BACKENDS = ("interpreter", "mlir", "tiered")


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on hangs
    raise CaseTimeout()


def usable_backends(wanted: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(backends that load, {backend: why skipped})."""
    from evm.backends import available_backends, get_backend

    names = wanted or [n for n in available_backends() if n in FUZZED_BACKENDS]
    ok, skipped = [], {}
    for name in names:
        try:
            get_backend(name)
            ok.append(name)
        except Exception as exc:  # a backend that fails to import is skipped, with the reason
            skipped[name] = f"{type(exc).__name__}: {exc}"
    return ok, skipped


def prepare_backends(wanted: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """usable_backends(), with the mlir backend registered without its disk cache: thousands of
    throwaway programs stay out of ~/.cache/evm-mlir."""
    try:
        from evm.backends import register_backend
        from evm.compiler import MlirBackend

        register_backend("mlir", lambda: MlirBackend(disk_cache=False))
    except Exception:
        pass  # the mlir backend does not load: usable_backends() reports why
    return usable_backends(wanted)


def case_for(seed: int | str, index: int) -> dict:
    return gen_case(random.Random(f"{seed}:{index}"))


def programs_in(case: dict) -> int:
    n = sum(1 for acc in case["pre"].values() if acc.get("code"))
    return n + (1 if case["tx"].get("to") is None and case["tx"].get("data") else 0)


class Campaign:
    def __init__(self, backends: list[str], use_spec: bool, save_dir: Path | None, case_timeout: float) -> None:
        self.backends = backends
        self.use_spec = use_spec
        self.save_dir = save_dir
        self.case_timeout = case_timeout
        self.stats: Counter = Counter()
        self.per_backend: Counter = Counter()
        self.divergences: list[dict] = []
        self.crashes: list[dict] = []
        self.outcomes: Counter = Counter()

    def reproducer(self, seed, index: int, backend: str | None = None) -> str:
        """The command that runs case `index` of `seed` alone, on `backend` (and the interpreter)."""
        names = ["interpreter"] + ([backend] if backend in self.backends and backend != "interpreter" else [])
        no_spec = "" if self.use_spec else " --no-spec"
        return f"python -m tests.fuzz.harness --seed {seed} --start {index} --cases 1 --backends {','.join(names)}{no_spec}"

    def _save(self, kind: str, seed, index: int, case: dict, detail: dict) -> None:
        self.keep(
            {
                "kind": kind,
                "seed": seed,
                "index": index,
                "reproduce": self.reproducer(seed, index, detail.get("backend")),
                "case": case,
                **detail,
            }
        )

    def keep(self, record: dict) -> None:
        """Count a finding and save it under save_dir."""
        kind, seed, index = record["kind"], record["seed"], record["index"]
        (self.divergences if kind == "divergence" else self.crashes).append(record)
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            path = self.save_dir / f"{kind}-{seed}-{index}.json"
            path.write_text(json.dumps(record, indent=1))

    def _timed(self, fn, *args):
        if self.case_timeout:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, self.case_timeout)
        try:
            return fn(*args)
        finally:
            if self.case_timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def run_case(self, seed, index: int) -> None:
        case = case_for(seed, index)
        self.stats["cases"] += 1
        self.stats["programs"] += programs_in(case)
        self.stats[f"type{case['tx']['type']}"] += 1
        self.stats[f"fork_{case['fork']}"] += 1
        results = {}
        for name in self.backends:
            try:
                results[name] = self._timed(run_ours, case, name)
                self.per_backend[name] += 1
            except CaseTimeout:
                self._save("hang", seed, index, case, {"backend": name})
                self.stats["hangs"] += 1
            except Exception as exc:  # anything escaping our code is a crash
                self._save(
                    "crash",
                    seed,
                    index,
                    case,
                    {"backend": name, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()},
                )
                self.stats["crashes"] += 1
        reference_name, reference = None, None
        if self.use_spec:
            try:
                reference = self._timed(run_spec, case)
                reference_name = "spec"
                self.per_backend["spec"] += 1
            except CaseTimeout:
                self.stats["oracle_hangs"] += 1
            except Exception as exc:  # the oracle itself failed (e.g. an OverflowError in its modexp)
                self.stats["oracle_errors"] += 1
                self.stats[f"oracle_error_{type(exc).__name__}"] += 1
        if reference is None and "interpreter" in results:
            reference_name, reference = "interpreter", results["interpreter"]
        if reference is None:
            return
        self.outcomes[(reference.valid, reference.status)] += 1
        for name, outcome in results.items():
            if name == reference_name:
                continue
            fields = diff(outcome, reference)
            if fields:
                self.stats["divergences"] += 1
                self.stats[f"divergences_{name}"] += 1
                self._save(
                    "divergence",
                    seed,
                    index,
                    case,
                    {
                        "backend": name,
                        "against": reference_name,
                        "fields": fields,
                        "ours": outcome.describe(),
                        "ours_note": outcome.note,
                        "expected": reference.describe(),
                        "expected_note": reference.note,
                    },
                )

    def absorb(self, other: Campaign) -> None:
        """Add the counts and findings of `other` (a chunk run elsewhere); its findings are saved here."""
        self.stats.update(other.stats)
        self.per_backend.update(other.per_backend)
        self.outcomes.update(other.outcomes)
        for record in other.divergences + other.crashes:
            self.keep(record)

    def summary(self) -> dict:
        return {
            "cases": self.stats["cases"],
            "programs": self.stats["programs"],
            "runs_per_backend": dict(self.per_backend),
            "divergences": self.stats["divergences"],
            "crashes": self.stats["crashes"],
            "hangs": self.stats["hangs"],
            "oracle_errors": self.stats["oracle_errors"],
            "stats": {k: v for k, v in sorted(self.stats.items())},
            "reference_outcomes": {f"{'valid' if v else 'invalid'}:{s}": n for (v, s), n in self.outcomes.items()},
        }


def record_corpus(path: Path, seed, count: int) -> int:
    """Write `count` cases of `seed`, with the spec's outcome of each, as a replayable corpus
    (tests/test_fuzz_regressions.py runs it on every backend without needing the spec). Picks
    cases so that every fork, transaction type and outcome is represented."""
    seen: Counter = Counter()
    chosen = []
    i = 0
    while len(chosen) < count and i < count * 50:
        case = case_for(seed, i)
        i += 1
        try:
            expected = run_spec(case)
        except Exception:
            continue
        key = (case["fork"], case["tx"]["type"], expected.valid, expected.status)
        if seen[key] >= max(1, count // 40):
            continue
        seen[key] += 1
        chosen.append({"seed": seed, "index": i - 1, "case": case, "expected": expected.describe()})
    path.write_text(json.dumps(chosen, separators=(",", ":")))
    return len(chosen)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.harness", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=None, help="time budget (default: until --cases)")
    p.add_argument("--cases", type=int, default=None, help="number of cases (default: until --seconds)")
    p.add_argument("--seed", default="1", help="campaign seed (default 1)")
    p.add_argument("--start", type=int, default=0, help="first case index")
    p.add_argument("--backends", default=None, help="comma-separated (default: interpreter and mlir if they load)")
    p.add_argument("--no-spec", action="store_true", help="compare against the interpreter only")
    p.add_argument("--save-dir", default="tests/fuzz/findings", help="where divergent/crashing cases go")
    p.add_argument("--case-timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    p.add_argument("--json", dest="report", help="write the summary here")
    p.add_argument("--record-corpus", metavar="PATH", help="write a corpus of --cases cases with the spec's outcomes")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on the Ray cluster at ADDRESS (HOST:PORT or auto), one seed stream per worker",
    )
    p.add_argument(
        "--ray.workers",
        dest="ray_workers",
        type=int,
        default=None,
        metavar="N",
        help="Ray workers (default: every CPU of the cluster)",
    )
    p.add_argument(
        "--ray.chunk",
        dest="ray_chunk",
        type=int,
        default=25,
        metavar="N",
        help="cases per task (what a worker's death costs in reruns; default 25)",
    )
    p.add_argument(
        "--ray.attempts",
        dest="ray_attempts",
        type=int,
        default=3,
        metavar="N",
        help="times a chunk may be running when its worker dies before it is split, and a case "
        "before it is recorded as a worker crash (default 3)",
    )
    p.add_argument("--log-json", action="store_true", help="logs (stderr) as JSON lines")
    p.add_argument("--verbosity", default="info", choices=["debug", "info", "warning", "error"])
    args = p.parse_args(argv)
    from client.logs import configure

    configure(json=args.log_json, level=args.verbosity)
    if args.record_corpus:
        n = record_corpus(Path(args.record_corpus), args.seed, args.cases or 60)
        print(f"recorded {n} cases into {args.record_corpus}")
        return 0
    if args.seconds is None and args.cases is None:
        args.seconds = 60.0
    backends, skipped = prepare_backends(args.backends.split(",") if args.backends else None)
    use_spec = not args.no_spec and spec_available()
    campaign = Campaign(backends, use_spec, Path(args.save_dir) if args.save_dir else None, args.case_timeout)
    start = time.monotonic()
    extra: dict = {}
    if args.ray:
        from client.errors import UserError

        from .ray_campaign import run_on_ray

        try:
            extra = run_on_ray(campaign, args)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        i = args.start
        while True:
            if args.cases is not None and i - args.start >= args.cases:
                break
            if args.seconds is not None and time.monotonic() - start >= args.seconds:
                break
            campaign.run_case(args.seed, i)
            i += 1
    summary = campaign.summary()
    summary.update(extra)
    summary.update(
        seed=args.seed,
        seconds=round(time.monotonic() - start, 1),
        backends=backends,
        skipped_backends=skipped,
        oracle="ethereum-execution (spec)" if use_spec else "interpreter",
    )
    print(json.dumps(summary, indent=1))
    for d in campaign.divergences[:20]:
        print(
            f"DIVERGENCE seed={d['seed']} index={d['index']} {d['backend']} vs {d['against']}: {d['fields']}",
            file=sys.stderr,
        )
    for c in campaign.crashes[:20]:
        print(
            f"{c['kind'].upper()} seed={c['seed']} index={c['index']} {c['backend']}: {c.get('error', '')}",
            file=sys.stderr,
        )
    for record in (campaign.divergences + campaign.crashes)[:20]:
        print(f"  reproduce: {record['reproduce']}", file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(summary, indent=1))
    return 1 if summary["divergences"] or summary["crashes"] or summary["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
