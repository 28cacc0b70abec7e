#!/usr/bin/env python3
"""Genesis conformance over blockchain fixtures (EEST `blockchain_tests` and ethereum/tests `BlockchainTests`).

For every test with a `genesisBlockHeader`: the state root of `pre` (built from scratch) must equal
`genesisBlockHeader.stateRoot`, the hash of the Header built from the fixture's fields must equal
`genesisBlockHeader.hash`, and its RLP must be the header inside `genesisRLP`.

usage: check_genesis_fixtures.py PATH...   (files or directories, searched recursively for *.json)
Exit status 0 when every checked test passes, 1 otherwise. State-test files are skipped (counted).
"""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import rlp  # noqa: E402

from client.header import Header  # noqa: E402
from state.db import alloc_from_fixture, state_root_of_alloc  # noqa: E402


def check_test(name: str, test: dict) -> list[str]:
    """Failures of one blockchain test (empty list: it passes)."""
    gh = test["genesisBlockHeader"]
    errors = []
    root = state_root_of_alloc(alloc_from_fixture(test["pre"]))
    if "0x" + root.hex() != gh["stateRoot"].lower():
        errors.append(f"{name}: state root of pre 0x{root.hex()} != {gh['stateRoot']}")
    header = Header.from_json(gh)
    if "0x" + header.hash.hex() != gh["hash"].lower():
        errors.append(f"{name}: header hash 0x{header.hash.hex()} != {gh['hash']}")
    if "genesisRLP" in test:
        block = rlp.decode(bytes.fromhex(test["genesisRLP"][2:]))
        if rlp.encode(block[0]) != header.encode():
            errors.append(f"{name}: header RLP differs from the one in genesisRLP")
    return errors


def iter_files(paths: list[str]):
    for p in paths:
        if os.path.isdir(p):
            for dirpath, _dirs, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith(".json"):
                        yield os.path.join(dirpath, f)
        else:
            yield p


def check_paths(paths: list[str]) -> dict:
    stats = {"files": 0, "skipped_files": 0, "tests": 0, "failed": 0, "failures": []}
    for path in iter_files(paths):
        with open(path) as f:
            data = json.load(f)
        tests = {k: v for k, v in data.items() if isinstance(v, dict) and "genesisBlockHeader" in v}
        if not tests:
            stats["skipped_files"] += 1
            continue
        stats["files"] += 1
        for name, test in tests.items():
            stats["tests"] += 1
            errs = check_test(name, test)
            if errs:
                stats["failed"] += 1
                stats["failures"].extend(f"{path}: {e}" for e in errs)
    return stats


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: check_genesis_fixtures.py PATH...", file=sys.stderr)
        return 2
    stats = check_paths(argv)
    for line in stats["failures"][:50]:
        print(line)
    print(
        f"blockchain fixture files: {stats['files']}, tests: {stats['tests']}, "
        f"passed: {stats['tests'] - stats['failed']}, failed: {stats['failed']} "
        f"(skipped {stats['skipped_files']} files without genesisBlockHeader)"
    )
    return 1 if stats["failed"] or not stats["tests"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
