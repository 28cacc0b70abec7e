"""`evm-mlir import --datadir DIR FILE...`: import blocks from chain files (geth's format: concatenated block
RLP, gzip if the name ends in .gz). Every block is validated and executed; a block, its state and the new head
are written in one atomic batch, so an interrupted import (even SIGKILL) leaves the datadir at a block of the
chain and a new import carries on: blocks already known are skipped."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import UserError
from . import backend_name


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="chain files (concatenated block RLP, .gz allowed)")
    p.add_argument("--datadir", required=True, metavar="DIR", help="an initialised data directory")
    p.add_argument(
        "--evm", default=None, metavar="NAME", help="EVM backend (default: tiered when available, else interpreter)"
    )


def run(args: argparse.Namespace) -> int:
    from state.trie import MissingNodeError

    from ..chain.blockchain import Blockchain
    from ..chain.store import ChainStore
    from ..chain.validation import InvalidBlock, decode_block
    from ..chainfile import ChainFile
    from ..progress import Progress

    args.evm = backend_name(args.evm)
    files = [ChainFile(path) for path in args.files]  # every file's framing is checked before anything runs
    blobs = ((f.path, i, raw) for f in files for i, raw in enumerate(f))
    imported = known = gas = txs = 0
    start = time.perf_counter()
    with ChainStore.open(args.datadir) as store:
        blockchain = Blockchain(store, backend=args.evm)
        progress = Progress(sum(len(f) for f in files), "import")
        failure = None
        try:
            for path, i, raw in blobs:
                try:
                    block = decode_block(raw)
                except InvalidBlock as exc:
                    raise UserError(f"{path}: block #{i}: {exc}") from None
                if blockchain.has_block(block.hash):
                    known += 1
                    progress.advance()
                    continue
                if block.number == 0:
                    raise UserError(
                        f"{path}: block #{i} is a genesis block 0x{block.hash.hex()} that is not this "
                        f"datadir's (0x{(store.genesis_hash() or b'').hex()}): another chain"
                    )
                try:
                    result = blockchain.import_block(block, len(raw))
                except MissingNodeError as exc:
                    raise UserError(
                        f"datadir {args.datadir} misses state data ({exc}): the database is damaged"
                    ) from None
                except InvalidBlock as exc:
                    failure = (
                        f"error: {path}: block {block.number} (0x{block.hash.hex()}) is invalid: {exc.code}: {exc}"
                    )
                    break
                imported += 1
                gas += result.gas_used
                txs += result.tx_count
                progress.advance()
        finally:
            progress.close()
            for f in files:
                f.close()
        if failure:
            print(failure, file=sys.stderr)
        _summary(imported, known, gas, txs, time.perf_counter() - start, blockchain)
    return 1 if failure else 0


def _summary(imported: int, known: int, gas: int, txs: int, seconds: float, blockchain) -> None:
    head = blockchain.head()
    s = max(seconds, 1e-9)
    print(
        f"imported {imported} blocks ({txs} txs, {gas} gas), {known} already known, in {seconds:.2f}s: "
        f"{imported / s:.1f} blocks/s, {gas / s / 1e6:.2f} Mgas/s; head {head.number} 0x{head.hash.hex()}"
    )
    sys.stdout.flush()
