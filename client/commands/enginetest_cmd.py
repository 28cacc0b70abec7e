"""`evm-mlir enginetest`: run blockchain engine test fixtures (execution-spec-tests `blockchain_test_engine`)
against a node started for each test, over the JWT-authenticated Engine API; the same report as blocktest."""
from __future__ import annotations

import argparse
import os

from . import backend_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="blockchain engine test JSON files or folders")
    p.add_argument("--evm", default=None, metavar="NAME",
                   help="EVM backend (default: tiered when available, else interpreter)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every test here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); results and reports are identical for any N")
    p.add_argument("--strict-exceptions", action="store_true",
                   help="fail a test whose INVALID payload names another reason than the fixture's validationError")


def run(args: argparse.Namespace) -> int:
    from ..fixtures import fixture_files, report, run_files

    args.evm = backend_name(args.evm)
    if args.verbosity == "info":  # the nodes' per-payload logs would drown the report; --verbosity debug shows them
        from ..logs import configure

        configure(json=getattr(args, "log_json", False), level="warning")
    files = fixture_files(args.paths)
    results = run_files("client.enginetest", files, (args.substring, args.strict_exceptions), args.evm, args.jobs,
                        "enginetest")
    return report(results, args.report, unit="test")
