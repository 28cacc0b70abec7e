"""Genesis conformance on the vendored blockchain fixtures (the full public set: tests/tools/check_genesis_fixtures.py)."""

from __future__ import annotations

import json
import os

from tests.tools import check_genesis_fixtures

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures", "blockchain")


def test_vendored_fixtures_cover_the_forks():
    networks = set()
    for dirpath, _d, files in os.walk(FIXTURES):
        for f in files:
            networks |= {t["network"] for t in json.load(open(os.path.join(dirpath, f))).values()}
    assert {"Cancun", "Prague", "Osaka"} <= networks
    assert os.path.isdir(os.path.join(FIXTURES, "ethereum-tests"))


def test_genesis_of_every_vendored_blockchain_test():
    stats = check_genesis_fixtures.check_paths([FIXTURES])
    assert stats["failures"] == []
    assert stats["tests"] >= 9 and stats["failed"] == 0


def test_checker_detects_a_wrong_root():
    path = os.path.join(
        FIXTURES, "ethereum-tests", "BlockchainTests", "ValidBlocks", "bcExample", "shanghaiExample.json"
    )
    name, test = next(iter(json.load(open(path)).items()))
    addr = next(iter(test["pre"]))
    test["pre"][addr]["balance"] = hex(int(test["pre"][addr]["balance"], 16) + 1)
    test["genesisBlockHeader"]["gasLimit"] = hex(int(test["genesisBlockHeader"]["gasLimit"], 16) + 1)
    errors = check_genesis_fixtures.check_test(name, test)
    assert any("state root" in e for e in errors) and any("header hash" in e for e in errors)
