"""`evm-mlir statetest`: run state-test fixtures and report per case."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="state-test JSON files or folders")
    p.add_argument("--evm", default="interpreter", help="EVM backend (interpreter, mlir, ...)")
    p.add_argument("--fork", help="run only this fork (Cancun, Prague, Osaka)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every case here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); results and reports are identical for any N")


def _run_file(path: str, fork: str | None, substring: str | None, backend: str) -> list:
    from ..statetest import iter_cases, run_one

    return [run_one(*case, backend=backend) for case in iter_cases([Path(path)], fork, substring)]


def run(args: argparse.Namespace) -> int:
    from evm.backends import available_backends

    from ..progress import Progress
    from ..statetest import fixture_files, iter_cases, run_one

    if args.evm not in available_backends():
        raise UserError(f"unknown EVM backend {args.evm!r} (available: {', '.join(available_backends())})")
    files = fixture_files(args.paths)
    results = []
    if args.jobs <= 1:
        cases = list(iter_cases(files, args.fork, args.substring))
        progress = Progress(len(cases), "statetest")
        for case in cases:
            r = run_one(*case, backend=args.evm)
            results.append(r)
            progress.advance(r.status == "failed")
        progress.close()
    else:
        for f in files:  # fail early and cleanly on a bad file, before forking workers
            from ..statetest import load_fixture

            load_fixture(f)
        progress = Progress(len(files), "statetest files")
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for chunk in pool.map(_run_file, [str(f) for f in files], [args.fork] * len(files),
                                  [args.substring] * len(files), [args.evm] * len(files)):
                results.extend(chunk)
                progress.advance(any(r.status == "failed" for r in chunk))
        progress.close()
    return report(results, args.report)


def report(results: list, report_path: str | None) -> int:
    per_fork: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        per_fork[r.fork][r.status] += 1
        if r.status == "failed":
            print(f"FAIL {r.test} [{r.fork} #{r.index}]: {r.reason}")
    for fork in sorted(per_fork):
        c = per_fork[fork]
        print(f"{fork}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    totals = Counter(r.status for r in results)
    if report_path:
        doc = {
            "summary": {"passed": totals["passed"], "failed": totals["failed"], "skipped": totals["skipped"],
                        "per_fork": {f: dict(c) for f, c in per_fork.items()}},
            "cases": [
                {"test": r.test, "file": r.file, "fork": r.fork, "index": r.index, "status": r.status,
                 "reason": r.reason, "seconds": round(r.seconds, 6), **({"stats": r.stats} if r.stats else {})}
                for r in results
            ],
        }
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        with open(report_path, "w") as fh:
            json.dump(doc, fh, indent=1)
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    sys.stdout.flush()
    return 1 if totals["failed"] else 0
