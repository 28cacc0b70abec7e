#!/usr/bin/env python3
"""Time `evm-mlir init` on genesis/mainnet.json (whole process, fresh datadir each run) against a plain
script that fills py-trie's HexaryTrie (in-memory dict db) with the same 8,893 accounts.

usage: bench/init_mainnet.py [--runs N]   — prints both medians and their ratio; target ratio <= 1/3.
Both processes must report the mainnet state root, so neither side can win by doing less work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENESIS = os.path.join(REPO, "genesis", "mainnet.json")
MAINNET_ROOT = "0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544"

PY_TRIE_SCRIPT = r"""
import json, sys
import rlp
from common.keccak import keccak
from trie import HexaryTrie

EMPTY_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE_HASH = keccak(b"")
alloc = json.load(open(sys.argv[1]))["alloc"]
t = HexaryTrie({})
for addr, acc in alloc.items():
    balance = int(acc.get("balance", "0"), 0)
    nonce = int(acc.get("nonce", "0"), 0)
    t[keccak(bytes.fromhex(addr[2:]))] = rlp.encode([nonce, balance, EMPTY_ROOT, EMPTY_CODE_HASH])
print("0x" + t.root_hash.hex())
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return dt, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    exe = os.path.join(os.path.dirname(sys.executable), "evm-mlir")
    ours_cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "client.cli"]
    ours, theirs = [], []
    for _ in range(args.runs):
        tmp = tempfile.mkdtemp(prefix="bench-init-")
        try:
            dt, out = _timed(ours_cmd + ["init", "--genesis", GENESIS, "--datadir", os.path.join(tmp, "dd"), "--json"])
            assert json.loads(out)["stateRoot"] == MAINNET_ROOT, out
            ours.append(dt)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        dt, out = _timed([sys.executable, "-c", PY_TRIE_SCRIPT, GENESIS])
        assert out.strip() == MAINNET_ROOT, out
        theirs.append(dt)
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"evm-mlir init (LevelDB, fresh datadir): median {m_ours:.3f} s  runs {[round(x, 3) for x in ours]}")
    print(f"py-trie HexaryTrie script (in memory):  median {m_theirs:.3f} s  runs {[round(x, 3) for x in theirs]}")
    ratio = m_ours / m_theirs
    print(f"ratio {ratio:.3f} (target <= 0.333): {'OK' if ratio <= 1 / 3 else 'MISSED'}")
    return 0 if ratio <= 1 / 3 else 1


if __name__ == "__main__":
    sys.exit(main())
