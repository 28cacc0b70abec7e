"""`evm-mlir head --datadir DIR`: print the canonical head block of a datadir."""
from __future__ import annotations

import argparse
import json

from ..chainstore import ChainStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datadir", required=True, metavar="DIR", help="an initialised data directory")
    parser.add_argument("--json", action="store_true", help="print one JSON line: number, hash, stateRoot")


def run(args: argparse.Namespace) -> int:
    with ChainStore.open(args.datadir) as store:
        header = store.head_header()
    print_header(header, "head", args.json)
    return 0


def print_header(header, label: str, as_json: bool) -> None:
    """A block's number, hash and state root: one JSON line, or two lines for people (`init`, `head`)."""
    if as_json:
        print(json.dumps({"number": header.number, "hash": "0x" + header.hash.hex(), "stateRoot": "0x" + header.state_root.hex()}))
    else:
        print(f"{label} block {header.number} hash 0x{header.hash.hex()}")
        print(f"state root 0x{header.state_root.hex()}")
