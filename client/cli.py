"""The one console script, `evm-mlir`. Each subcommand lives in client/commands/<name>.py with
`add_arguments(parser)` and `run(args) -> int`; modules load lazily so `init` never pays for MLIR."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError

COMMANDS = {
    "init": "write a genesis state and block into a datadir",
    "head": "print the canonical head of a datadir",
    "run": "run bytecode as the callee of one message call",
    "statetest": "run state-test fixtures",
    "blocktest": "run blockchain-test fixtures",
    "enginetest": "run blockchain engine test fixtures through the Engine API",
    "import": "import blocks from a chain file",
    "export": "export blocks to a chain file",
    "node": "run a local chain and serve JSON-RPC",
}


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are bad input too: one line on stderr and exit status 1."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(1)


def _module(name: str):
    return importlib.import_module(f"client.commands.{name}_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evm-mlir", description="EVM compiled to native code through MLIR")
    parser.add_argument("--log-json", action="store_true", help="structured logs as JSON lines")
    parser.add_argument("--verbosity", default="info", choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, help_text in COMMANDS.items():
        mod = _module(name)  # every command is built: a missing module is an error, never a hidden command
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--log-json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .logs import configure

    configure(json=getattr(args, "log_json", False), level=args.verbosity)
    try:
        code = args._run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
