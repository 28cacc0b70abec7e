"""`evm-mlir blocktest`: run blockchain-test fixtures (EEST `blockchain_tests`, ethereum/tests `BlockchainTests`)
and report per test: progress bar, failures named, per-network counts, last line `N passed, M failed, K skipped`,
exit status 1 when anything failed."""
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
    p.add_argument("paths", nargs="+", metavar="PATH", help="blockchain-test JSON files or folders")
    p.add_argument("--evm", default=None, metavar="NAME",
                   help="EVM backend (default: mlir when available, else interpreter)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every test here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); results and reports are identical for any N")


def _run_file(path: str, substring: str | None, backend: str) -> list:
    from ..blocktest import iter_tests, run_one

    return [run_one(*t, backend=backend) for t in iter_tests([Path(path)], substring)]


def run(args: argparse.Namespace) -> int:
    from evm.backends import available_backends

    from ..blocktest import fixture_files, iter_tests, load_fixture, run_one
    from ..progress import Progress

    if args.evm is None:
        args.evm = "mlir" if "mlir" in available_backends() else "interpreter"
    if args.evm not in available_backends():
        raise UserError(f"unknown EVM backend {args.evm!r} (available: {', '.join(available_backends())})")
    files = fixture_files(args.paths)
    results = []
    if args.jobs <= 1 or len(files) <= 1:
        tests = list(iter_tests(files, args.substring))
        progress = Progress(len(tests), "blocktest")
        for t in tests:
            r = run_one(*t, backend=args.evm)
            results.append(r)
            progress.advance(r.status == "failed")
        progress.close()
    else:
        for f in files:  # fail early and cleanly on a bad file, before forking workers
            load_fixture(f)
        progress = Progress(len(files), "blocktest files")
        with ProcessPoolExecutor(max_workers=min(args.jobs, len(files))) as pool:
            for chunk in pool.map(_run_file, [str(f) for f in files], [args.substring] * len(files),
                                  [args.evm] * len(files)):
                results.extend(chunk)
                progress.advance(any(r.status == "failed" for r in chunk))
        progress.close()
    return report(results, args.report)


def report(results: list, report_path: str | None) -> int:
    per_network: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        per_network[r.fork][r.status] += 1
        if r.status == "failed":
            print(f"FAIL {r.test} [{r.fork}]: {r.reason}")
    for network in sorted(per_network):
        c = per_network[network]
        print(f"{network}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    totals = Counter(r.status for r in results)
    if report_path:
        doc = {
            "summary": {"passed": totals["passed"], "failed": totals["failed"], "skipped": totals["skipped"],
                        "per_network": {n: dict(c) for n, c in per_network.items()}},
            "tests": [
                {"test": r.test, "file": r.file, "network": r.fork, "status": r.status, "reason": r.reason,
                 "seconds": round(r.seconds, 6), **({"stats": r.stats} if r.stats else {})}
                for r in results
            ],
        }
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        with open(report_path, "w") as fh:
            json.dump(doc, fh, indent=1)
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    sys.stdout.flush()
    return 1 if totals["failed"] else 0
