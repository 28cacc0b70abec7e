"""Subcommands of `evm-mlir` (one module each) and what they share."""
from __future__ import annotations

import argparse
import os

from ..errors import UserError


def add_runner_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """The flags blocktest and enginetest share; `what` names the fixtures PATH holds."""
    p.add_argument("paths", nargs="+", metavar="PATH", help=f"{what} JSON files or folders")
    p.add_argument("--evm", default=None, metavar="NAME",
                   help="EVM backend (default: tiered when available, else interpreter)")
    p.add_argument("-k", dest="substring", help="run only tests whose name contains SUBSTRING")
    p.add_argument("--json", dest="report", metavar="REPORT", help="write a JSON report of every test here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: all cores); results and reports are identical for any N")


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
