"""`evm-mlir statetest`: run state-test fixtures and report per case."""

from __future__ import annotations

import argparse
import os

from . import add_ray_arguments, backend_name, run_fixture_files


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="state-test JSON files or folders")
    p.add_argument("--evm", default="tiered", help="EVM backend (tiered (default), interpreter, mlir, ...)")
    p.add_argument("--fork", help="run only this fork (Paris, Shanghai, Cancun, Prague, Osaka, BPO1..BPO5)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every case here")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: all cores); results and reports are identical for any N",
    )
    add_ray_arguments(p, "case")


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..fixtures import report
    from ..forks import UnsupportedFork, fork_by_name

    args.evm = backend_name(args.evm)
    if args.fork:
        try:
            args.fork = fork_by_name(args.fork).title
        except UnsupportedFork as exc:
            raise UserError(f"--fork: {exc}") from None
    results = run_fixture_files(args, "client.statetest", (args.fork, args.substring), "statetest", "case")
    return report(results, args.report, unit="case")
