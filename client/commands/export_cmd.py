"""`evm-mlir export --datadir DIR FILE [--from N] [--to M]`: write canonical blocks N..M (default: genesis to
head) as a chain file in geth's format (concatenated block RLP; gzip if FILE ends in .gz). The file appears
under its name only when complete."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="chain file to write (.gz to compress)")
    p.add_argument("--datadir", required=True, metavar="DIR", help="an initialised data directory")
    p.add_argument("--from", dest="first", type=int, default=0, metavar="N", help="first block (default 0)")
    p.add_argument("--to", dest="last", type=int, default=None, metavar="M", help="last block (default: the head)")


def run(args: argparse.Namespace) -> int:
    from ..chain.store import ChainStore
    from ..chainfile import iter_canonical_rlp, open_for_writing
    from ..progress import Progress

    with ChainStore.open(args.datadir) as store:
        head = store.head_header().number
        first = args.first
        last = head if args.last is None else args.last
        if first < 0 or last < first:
            raise UserError(f"bad block range {first}..{last}")
        if last > head:
            raise UserError(f"--to {last} is beyond the head ({head})")
        tmp = args.file + ".tmp"
        progress = Progress(last - first + 1, "export")
        size = 0
        try:
            with open_for_writing(tmp, compress=args.file.endswith(".gz")) as fh:
                for _, raw in iter_canonical_rlp(store, first, last):
                    fh.write(raw)
                    size += len(raw)
                    progress.advance()
            os.replace(tmp, args.file)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            progress.close()
    print(f"exported blocks {first}..{last} ({last - first + 1} blocks, {size} bytes) to {args.file}")
    sys.stdout.flush()
    return 0
