"""`evm-mlir blocktest`: run blockchain-test fixtures (EEST `blockchain_tests`, ethereum/tests `BlockchainTests`)
and report per test: progress bar, failures named, per-network counts, last line `N passed, M failed, K skipped`,
exit status 1 when anything failed."""
from __future__ import annotations

import argparse

from . import add_runner_arguments, backend_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_runner_arguments(p, "blockchain-test")


def run(args: argparse.Namespace) -> int:
    from ..fixtures import fixture_files, report, run_files

    args.evm = backend_name(args.evm)
    files = fixture_files(args.paths)
    results = run_files("client.blocktest", files, (args.substring,), args.evm, args.jobs, "blocktest")
    return report(results, args.report, unit="test")
