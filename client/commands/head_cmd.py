"""`evm-mlir head --datadir DIR`: print the canonical head block of a datadir and the fork it is at."""

from __future__ import annotations

import argparse
import json

from ..chain.store import ChainStore
from ..genesis import _Ctx, parse_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datadir", required=True, metavar="DIR", help="an initialised data directory")
    parser.add_argument("--json", action="store_true", help="print one JSON line: number, hash, stateRoot, fork")


def run(args: argparse.Namespace) -> int:
    with ChainStore.open(args.datadir) as store:
        header = store.head_header()
        raw = store.config()
    config = parse_config(raw, _Ctx(f"datadir {args.datadir}: stored chain config"))
    print_header(header, "head", args.json, config.fork_name(header.number, header.timestamp))
    return 0


def print_header(header, label: str, as_json: bool, fork: str) -> None:
    """A block's number, hash, state root and fork (the latest active at it, as geth names forks): one JSON
    line, or three lines for people (`init`, `head`)."""
    if as_json:
        print(
            json.dumps(
                {
                    "number": header.number,
                    "hash": "0x" + header.hash.hex(),
                    "stateRoot": "0x" + header.state_root.hex(),
                    "fork": fork,
                }
            )
        )
    else:
        print(f"{label} block {header.number} hash 0x{header.hash.hex()}")
        print(f"state root 0x{header.state_root.hex()}")
        print(f"fork {fork}")
