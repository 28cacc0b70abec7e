"""`evm-mlir import` / `export`: geth chain files, resumability, rejection, and SIGKILL at several moments."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from state_checks import assert_state_complete

from client.blocks import Block
from client.chain.store import ChainStore
from client.forks import network_config
from state.db import StateDB
from tests.tools import make_chain

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "blockchain_tests")
ET = os.path.join(FIXTURES, "ethereum-tests", "BlockchainTests")
DEV_GENESIS = os.path.join(REPO, "genesis", "dev.json")


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def genesis_from_fixture(test: dict) -> dict:
    """A geth genesis file with the fixture's pre state, genesis header fields and network's fork schedule."""
    config = test.get("config") or {}
    raw = network_config(test["network"], int(config.get("chainid", "0x1"), 16), config.get("blobSchedule")).raw
    g = test["genesisBlockHeader"]
    out = {"config": raw, "alloc": test["pre"]}
    for key in (
        "nonce",
        "timestamp",
        "extraData",
        "gasLimit",
        "difficulty",
        "mixHash",
        "coinbase",
        "baseFeePerGas",
        "excessBlobGas",
        "blobGasUsed",
        "number",
        "gasUsed",
        "parentHash",
    ):
        if key in g:
            out[key] = g[key]
    return out


def _head(datadir: str) -> tuple[int, str]:
    proc = cli("head", "--datadir", datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return doc["number"], doc["hash"]


@pytest.fixture(scope="module")
def fixture_chain(tmp_path_factory):
    """A vendored multi-block fixture as (genesis file, chain file, test)."""
    path = os.path.join(ET, "ValidBlocks", "bcEIP1559", "besuBaseFeeBug.json")
    test = next(iter(json.load(open(path)).values()))
    d = tmp_path_factory.mktemp("fixture_chain")
    genesis = d / "genesis.json"
    genesis.write_text(json.dumps(genesis_from_fixture(test)))
    chain = d / "chain.rlp"
    chain.write_bytes(b"".join(bytes.fromhex(b["rlp"][2:]) for b in test["blocks"]))
    return str(genesis), str(chain), test


def test_import_export_round_trip(tmp_path, fixture_chain):
    genesis, chain, test = fixture_chain
    datadir = str(tmp_path / "dd")
    proc = cli("init", "--genesis", genesis, "--datadir", datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hash"] == test["genesisBlockHeader"]["hash"]
    proc = cli("import", "--datadir", datadir, chain)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = len(test["blocks"])
    last = proc.stdout.strip().splitlines()[-1]
    assert re.match(
        rf"imported {n} blocks \(\d+ txs, \d+ gas\), 0 already known, in [\d.]+s: [\d.]+ blocks/s, "
        rf"[\d.]+ Mgas/s; head {n} {test['lastblockhash']}$",
        last,
    ), last
    assert _head(datadir) == (n, test["lastblockhash"])
    # resumable: everything is known now
    proc = cli("import", "--datadir", datadir, chain)
    assert proc.returncode == 0 and f"imported 0 blocks (0 txs, 0 gas), {n} already known" in proc.stdout
    # export gives back the same bytes (from block 1), and from genesis a file that starts with the genesis block
    out = str(tmp_path / "out.rlp")
    proc = cli("export", "--datadir", datadir, out, "--from", "1")
    assert proc.returncode == 0, proc.stderr
    assert open(out, "rb").read() == open(chain, "rb").read()
    proc = cli("export", "--datadir", datadir, out + ".gz", "--to", "1")
    assert proc.returncode == 0, proc.stderr
    import gzip

    data = gzip.open(out + ".gz").read()
    assert data.startswith(bytes.fromhex(test["genesisRLP"][2:]))
    assert data.endswith(bytes.fromhex(test["blocks"][0]["rlp"][2:]))
    # the head state is the fixture's post state
    with ChainStore.open(datadir) as store:
        from state.db import alloc_from_fixture

        assert StateDB(store.kv, store.head_header().state_root).diff_alloc(alloc_from_fixture(test["postState"])) == []


EEST = os.path.join(FIXTURES, "eest", "blockchain_tests")


@pytest.mark.parametrize(
    "rel,network,fork",
    [
        ("paris/eip7610_create_collision/test_init_collision_create_tx.json", "Paris", "Paris"),
        ("shanghai/eip3855_push0/test_push0_contracts.json", "Shanghai", "Shanghai"),
        ("osaka/eip7918_blob_reserve_price/test_reserve_price_at_transition.json", "OsakaToBPO1AtTime15k", "BPO1"),
        ("osaka/eip7918_blob_reserve_price/test_reserve_price_at_transition.json", "BPO2ToBPO3AtTime15k", "BPO3"),
    ],
)
def test_import_follows_the_chains_fork_schedule(tmp_path, rel, network, fork):
    """A chain from a genesis file with the network's schedule (and blob parameters) imports across its forks,
    blob-parameter-only ones included, and head names the fork the head is at."""
    test = next(t for t in json.load(open(os.path.join(EEST, rel))).values() if t["network"] == network)
    genesis, chain, datadir = tmp_path / "genesis.json", tmp_path / "chain.rlp", str(tmp_path / "dd")
    genesis.write_text(json.dumps(genesis_from_fixture(test)))
    valid = [b for b in test["blocks"] if "expectException" not in b]
    chain.write_bytes(b"".join(bytes.fromhex(b["rlp"][2:]) for b in valid))
    assert cli("init", "--genesis", str(genesis), "--datadir", datadir).returncode == 0
    proc = cli("import", "--datadir", datadir, str(chain))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = json.loads(cli("head", "--datadir", datadir, "--json").stdout)
    assert (head["number"], head["hash"], head["fork"]) == (len(valid), test["lastblockhash"], fork)


def test_import_stops_at_an_invalid_block_and_keeps_the_head(tmp_path):
    path = os.path.join(ET, "InvalidBlocks", "bcInvalidHeaderTest", "wrongStateRoot.json")
    test = next(iter(json.load(open(path)).values()))
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(genesis_from_fixture(test)))
    datadir = str(tmp_path / "dd")
    assert cli("init", "--genesis", str(genesis), "--datadir", datadir).returncode == 0
    chain = tmp_path / "bad.rlp"
    chain.write_bytes(bytes.fromhex(test["blocks"][0]["rlp"][2:]))
    proc = cli("import", "--datadir", datadir, str(chain))
    assert proc.returncode == 1
    assert "INVALID_STATE_ROOT" in proc.stderr and "Traceback" not in proc.stderr
    assert _head(datadir) == (0, test["genesisBlockHeader"]["hash"])
    # garbage and missing files are clean errors
    (tmp_path / "junk.rlp").write_bytes(b"\x01\x02\x03")
    proc = cli("import", "--datadir", datadir, str(tmp_path / "junk.rlp"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    proc = cli("import", "--datadir", datadir, str(tmp_path / "nope.rlp"))
    assert proc.returncode == 1 and "not found" in proc.stderr
    proc = cli("import", "--datadir", str(tmp_path / "uninitialised"), str(chain))
    assert proc.returncode == 1 and "not initialised" in proc.stderr
    proc = cli("export", "--datadir", datadir, str(tmp_path / "x.rlp"), "--to", "5")
    assert proc.returncode == 1 and "beyond the head" in proc.stderr
    # another chain's genesis block
    dev = str(tmp_path / "dev")
    assert cli("init", "--genesis", DEV_GENESIS, "--datadir", dev).returncode == 0
    assert cli("export", "--datadir", dev, str(tmp_path / "g.rlp"), "--to", "0").returncode == 0
    proc = cli("import", "--datadir", datadir, str(tmp_path / "g.rlp"))
    assert proc.returncode == 1 and "another chain" in proc.stderr and "Traceback" not in proc.stderr


def _check_consistent(datadir: str, headers: dict[str, Block], order: list[str]) -> int:
    """The datadir opens, its head is a block of the chain, the state under the head's root is complete and has
    that root, and nothing of a later block is stored. Returns the head's number."""
    with ChainStore.open(datadir) as store:
        head = store.head_header()
        h = "0x" + head.hash.hex()
        assert h in headers, f"head {h} is not a block of the chain"
        assert headers[h].header.state_root == head.state_root
        assert_state_complete(StateDB(store.kv, head.state_root), head.state_root)
        for later in order[head.number + 1 :]:
            assert store.get_header(bytes.fromhex(later[2:])) is None
            assert store.get_receipts(bytes.fromhex(later[2:])) is None
        for n in range(head.number + 1):
            assert "0x" + store.canonical_hash(n).hex() == order[n]
        return head.number


def test_sigkill_during_import_leaves_a_consistent_datadir(tmp_path):
    # 1. a chain: built by executing blocks, imported into a datadir with the CLI, exported again
    maker = make_chain.ChainMaker()
    built = maker.make(60, 16)
    source = tmp_path / "built.rlp"
    source.write_bytes(b"".join(built))
    ref = str(tmp_path / "ref")
    assert cli("init", "--genesis", DEV_GENESIS, "--datadir", ref).returncode == 0
    start = time.monotonic()
    proc = cli("import", "--datadir", ref, str(source))
    total = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loop = float(re.search(r" in ([\d.]+)s:", proc.stdout).group(1))
    chain_file = str(tmp_path / "chain.rlp")
    assert cli("export", "--datadir", ref, chain_file, "--from", "1").returncode == 0
    assert open(chain_file, "rb").read() == source.read_bytes()
    final = _head(ref)
    blocks = {"0x" + maker.genesis_header.hash.hex(): Block(maker.genesis_header)}
    order = ["0x" + maker.genesis_header.hash.hex()]
    for raw in built:
        b = Block.decode(raw)
        blocks["0x" + b.hash.hex()] = b
        order.append("0x" + b.hash.hex())
    assert final == (len(built), order[-1])

    # 2. kill imports at several moments: during start-up, then ~a fifth of the work at a time, resuming each time
    datadir = str(tmp_path / "dd")
    assert cli("init", "--genesis", DEV_GENESIS, "--datadir", datadir).returncode == 0
    startup = max(total - loop, 0.2)

    def kill_after(delay: float) -> int:
        p = subprocess.Popen(
            [sys.executable, "-m", "client.cli", "import", "--datadir", datadir, chain_file],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        return _check_consistent(datadir, blocks, order)

    heads = [kill_after(0.05), kill_after(startup * 0.9)]  # during start-up
    # then about a fifth of the work at a time, resuming each time; wait longer when a kill came too early
    # (a loaded machine starts slower)
    mid, stretch = 0, 1.0
    for _ in range(15):
        h = kill_after(startup * stretch + loop * 0.15)
        if h == heads[-1]:
            stretch *= 1.5
        mid += 0 < h < len(built) and h != heads[-1]
        heads.append(h)
        if mid >= 3 or h == len(built):
            break
    print("heads after kills:", heads)
    assert heads == sorted(heads)
    # kills landed mid-import, between blocks or inside one (on a loaded machine the second "start-up" kill may be
    # the one: it counts the same)
    assert any(0 < h < len(built) for h in heads), heads

    # 3. a new import completes to the same head
    proc = cli("import", "--datadir", datadir, chain_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{heads[-1]} already known" in proc.stdout
    assert _head(datadir) == final
    assert _check_consistent(datadir, blocks, order) == len(built)
