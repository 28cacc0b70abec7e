"""Subcommands of `evm-mlir` (one module each) and what they share."""
from __future__ import annotations

from ..errors import UserError


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
