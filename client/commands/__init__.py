"""Subcommands of `evm-mlir` (one module each) and what they share."""

from __future__ import annotations

import argparse
import os

from ..errors import UserError


def add_runner_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """The flags blocktest and enginetest share; `what` names the fixtures PATH holds."""
    p.add_argument("paths", nargs="+", metavar="PATH", help=f"{what} JSON files or folders")
    p.add_argument(
        "--evm", default=None, metavar="NAME", help="EVM backend (default: tiered when available, else interpreter)"
    )
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every test here")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: all cores); results and reports are identical for any N",
    )


def backend_name(name: str | None) -> str:
    """The EVM backend to run: `name`, or by default tiered (the interpreter when tiered cannot be
    loaded); an unknown name is a usage error."""
    from evm.backends import available_backends

    names = available_backends()
    if name is None:
        name = "tiered" if "tiered" in names else "interpreter"
    if name not in names:
        raise UserError(f"unknown EVM backend {name!r} (available: {', '.join(names)})")
    return name


def add_ray_arguments(p: argparse.ArgumentParser, unit: str) -> None:
    """The --ray flags of statetest and blocktest (docs/cluster.md); `unit` names what they count."""
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on the Ray cluster whose head is at ADDRESS (HOST:PORT, or auto for the cluster "
        "running on this machine): same selection, results and report as a local run",
    )
    p.add_argument(
        "--ray.workers",
        dest="ray_workers",
        type=int,
        default=None,
        metavar="N",
        help="Ray workers (actors, one CPU each; default: every CPU of the cluster)",
    )
    p.add_argument(
        "--ray.paths",
        dest="ray_paths",
        action="store_true",
        help="send workers fixture paths instead of file contents (every node sees the files at the "
        "same paths, e.g. shared storage)",
    )
    p.add_argument(
        "--ray.attempts",
        dest="ray_attempts",
        type=int,
        default=None,
        metavar="N",
        help=f"times a {unit} may be running when its worker dies before it is reported as a crash (default 3)",
    )


def run_fixture_files(args, runner: str, filters: tuple, label: str, unit: str) -> list:
    """The results of every selected case of args.paths, run locally (--jobs) or on Ray (--ray)."""
    from ..fixtures import fixture_files, run_files

    files = fixture_files(args.paths)
    if not args.ray:
        return run_files(runner, files, filters, args.evm, args.jobs, label, unit)
    from ..fixtures_ray import run_files_on_ray
    from ..ray_pool import DEFAULT_ATTEMPTS

    if args.ray_workers is not None and args.ray_workers < 1:
        raise UserError("--ray.workers must be at least 1")
    attempts = DEFAULT_ATTEMPTS if args.ray_attempts is None else args.ray_attempts
    if attempts < 1:
        raise UserError("--ray.attempts must be at least 1")
    return run_files_on_ray(
        runner,
        files,
        filters,
        args.evm,
        label,
        unit,
        args.ray,
        args.ray_workers,
        ship=not args.ray_paths,
        attempts=attempts,
    )
