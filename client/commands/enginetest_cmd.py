"""`evm-mlir enginetest`: run blockchain engine test fixtures (execution-spec-tests `blockchain_test_engine`)
against a node started for each test, over the JWT-authenticated Engine API; the same report as blocktest."""

from __future__ import annotations

import argparse

from . import add_runner_arguments, backend_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_runner_arguments(p, "blockchain engine test")
    p.add_argument(
        "--strict-exceptions",
        action="store_true",
        help="fail a test whose INVALID payload names another reason than the fixture's validationError",
    )


def run(args: argparse.Namespace) -> int:
    from ..fixtures import fixture_files, report, run_files

    args.evm = backend_name(args.evm)
    if args.verbosity == "info":  # the nodes' per-payload logs would drown the report; --verbosity debug shows them
        from ..logs import configure

        configure(json=getattr(args, "log_json", False), level="warning")
    files = fixture_files(args.paths)
    results = run_files(
        "client.enginetest", files, (args.substring, args.strict_exceptions), args.evm, args.jobs, "enginetest"
    )
    return report(results, args.report, unit="test")
