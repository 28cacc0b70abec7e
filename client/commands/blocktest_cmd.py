"""`evm-mlir blocktest`: run blockchain-test fixtures (EEST `blockchain_tests`, ethereum/tests `BlockchainTests`)
and report per test: progress bar, failures named, per-network counts, last line `N passed, M failed, K skipped`,
exit status 1 when anything failed."""

from __future__ import annotations

import argparse

from . import add_ray_arguments, add_runner_arguments, backend_name, run_fixture_files


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_runner_arguments(p, "blockchain-test")
    add_ray_arguments(p, "test")


def run(args: argparse.Namespace) -> int:
    from ..fixtures import report

    args.evm = backend_name(args.evm)
    results = run_fixture_files(args, "client.blocktest", (args.substring,), "blocktest", "test")
    return report(results, args.report, unit="test")
