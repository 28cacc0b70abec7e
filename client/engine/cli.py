"""The node's `--authrpc.*` flags (geth's names and defaults) and starting the Engine API server with them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from .server import DEFAULT_PORT

AUTHRPC_FLAGS = ("authrpc_addr", "authrpc_port", "authrpc_jwtsecret", "authrpc_vhosts")


def add_authrpc_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "Engine API (served when any --authrpc.* flag is given; the node then builds "
        "no blocks of its own: a consensus client drives it)"
    )
    g.add_argument(
        "--authrpc.addr",
        dest="authrpc_addr",
        default=None,
        metavar="ADDR",
        help="interface of the authenticated Engine API (default 127.0.0.1)",
    )
    g.add_argument(
        "--authrpc.port",
        dest="authrpc_port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"Engine API port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    g.add_argument(
        "--authrpc.jwtsecret",
        dest="authrpc_jwtsecret",
        default=None,
        metavar="FILE",
        help="file holding the 32-byte hex JWT secret (default: DATADIR/jwtsecret, created if missing)",
    )
    g.add_argument(
        "--authrpc.vhosts",
        dest="authrpc_vhosts",
        default=None,
        metavar="NAMES",
        help="host names accepted by the Engine API (default localhost; '*' for any)",
    )


def check_authrpc_arguments(args: argparse.Namespace) -> None:
    """Sets args.authrpc (whether to serve the Engine API) and the defaults; bad values are a UserError."""
    args.authrpc = any(getattr(args, f) is not None for f in AUTHRPC_FLAGS)
    if not args.authrpc:
        return
    if args.authrpc_addr is None:
        args.authrpc_addr = "127.0.0.1"
    if args.authrpc_port is None:
        args.authrpc_port = DEFAULT_PORT
    if not 0 <= args.authrpc_port <= 65535:
        raise UserError(f"--authrpc.port {args.authrpc_port} is not a port number")
    if args.authrpc_vhosts is None:
        args.authrpc_vhosts = "localhost"
    if getattr(args, "block_time", 0):
        raise UserError(
            "--block-time seals blocks of the node's own; under a consensus client (--authrpc.*) "
            "the blocks come through the Engine API"
        )
    if args.authrpc_jwtsecret is not None:
        from .auth import read_secret

        read_secret(args.authrpc_jwtsecret)  # a bad file fails before the datadir is opened


@dataclass
class RunningEngine:
    runner: Any
    url: str
    secret_file: str
    api: Any


async def start_authrpc(args: argparse.Namespace, node: Any, executor: Any) -> RunningEngine:
    from .auth import load_or_create_secret
    from .server import engine_dispatcher, start_engine_server

    secret, secret_file = load_or_create_secret(args.authrpc_jwtsecret, args.datadir)
    dispatcher, api = engine_dispatcher(node, executor)
    vhosts = tuple(v.strip().lower() for v in args.authrpc_vhosts.split(",") if v.strip())
    try:
        runner, url = await start_engine_server(dispatcher, secret, args.authrpc_addr, args.authrpc_port, vhosts)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.authrpc_addr}:{args.authrpc_port}: {exc.strerror or exc}") from None
    return RunningEngine(runner, url, secret_file, api)
