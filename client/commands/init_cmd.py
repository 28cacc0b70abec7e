"""`evm-mlir init --genesis FILE --datadir DIR`: write the genesis state and block into a datadir.

Idempotent for the same genesis; a different genesis on an initialised datadir is refused. If anything
fails, a datadir this run created is removed again, so a failed init leaves nothing half-written.
Light on purpose: nothing from evm/ (nor MLIR) is imported.
"""

from __future__ import annotations

import argparse
import os

from ..chain.store import CHAINDATA, ChainStore, remove_datadir
from ..errors import UserError
from ..genesis import load_genesis
from .head_cmd import print_header


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genesis", required=True, metavar="FILE", help="genesis file (geth JSON format)")
    parser.add_argument("--datadir", required=True, metavar="DIR", help="data directory (created if missing)")
    parser.add_argument("--json", action="store_true", help="print one JSON line: number, hash, stateRoot, fork")


def _first_missing(path: str) -> str | None:
    """The outermost directory of `path` that does not exist yet (what makedirs will create), or None."""
    path = os.path.abspath(path)
    top = None
    while not os.path.exists(path):
        top = path
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return top


def run(args: argparse.Namespace) -> int:
    # parse and validate everything before the datadir is touched
    genesis, _ = load_genesis(args.genesis)
    datadir = args.datadir
    if os.path.exists(datadir) and not os.path.isdir(datadir):
        raise UserError(f"datadir {datadir} exists and is not a directory")
    created_top = _first_missing(datadir)  # removed again if this run fails
    chaindata_existed = os.path.isdir(os.path.join(datadir, CHAINDATA))
    try:
        try:
            os.makedirs(datadir, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create datadir {datadir}: {exc.strerror}") from None
        with ChainStore.open(datadir, create=True) as store:
            known = store.genesis_hash()
            if known is None:
                header = store.init_genesis(genesis)
            else:
                header = genesis.header(genesis.state_root())
                if header.hash != known:
                    raise UserError(
                        f"datadir {datadir} already holds a different genesis "
                        f"(0x{known.hex()}, this file gives 0x{header.hash.hex()})"
                    )
    except BaseException:
        if created_top is not None:
            remove_datadir(created_top)
        elif not chaindata_existed:
            remove_datadir(os.path.join(datadir, CHAINDATA))
        raise
    print_header(header, "genesis", args.json, genesis.config.fork_name(header.number, header.timestamp))
    return 0
