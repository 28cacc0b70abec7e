"""`evm-mlir blocktest`: run blockchain-test fixtures (EEST `blockchain_tests`, ethereum/tests `BlockchainTests`)
and report per test: progress bar, failures named, per-network counts, last line `N passed, M failed, K skipped`,
exit status 1 when anything failed."""
from __future__ import annotations

import argparse
import os

from . import backend_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="blockchain-test JSON files or folders")
    p.add_argument("--evm", default=None, metavar="NAME",
                   help="EVM backend (default: tiered when available, else interpreter)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every test here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); results and reports are identical for any N")


def run(args: argparse.Namespace) -> int:
    from ..fixtures import fixture_files, report, run_files

    args.evm = backend_name(args.evm)
    files = fixture_files(args.paths)
    results = run_files("client.blocktest", files, (args.substring,), args.evm, args.jobs, "blocktest")
    return report(results, args.report, unit="test")
