"""`evm-mlir init` / `head`: known genesis hashes, reopening, idempotence, and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from eth_hash.auto import keccak

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENESIS = os.path.join(REPO, "genesis")

# the networks' published genesis block hashes and state roots
KNOWN = {
    "mainnet": (
        "0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3",
        "0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544",
    ),
    "sepolia": (
        "0x25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9",
        "0x5eb6e371a698b8d68f665192350ffcecbbbf322916f4b51bd79bb6887da3f494",
    ),
    "holesky": (
        "0xb5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4",
        "0x69d8c9d72f6fa4ad42d4702b433707212f90db395eb54dc20bc85de253788783",
    ),
    "hoodi": (
        "0xbbe312868b376a3001692a646dd2d7d1e4406380dfd86b98aa8a34d1557c971b",
        "0xda87d7f5f91c51508791bbcbd4aa5baf04917830b86985eeb9ad3d5bfb657576",
    ),
}


# the fork each genesis block is at: mainnet began before Homestead, Sepolia merged at block 1,735,371 (its
# genesis is London), Holesky was merged from genesis and got Shanghai later, Hoodi began at Cancun
GENESIS_FORK = {"mainnet": "Frontier", "sepolia": "London", "holesky": "Paris", "hoodi": "Cancun"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""
    return lines[0]


@pytest.mark.parametrize("network", sorted(KNOWN))
def test_init_known_networks_and_reopen(network, tmp_path):
    datadir = str(tmp_path / "dd")
    proc = cli("init", "--genesis", os.path.join(GENESIS, f"{network}.json"), "--datadir", datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()
    assert len(out) == 1
    want_hash, want_root = KNOWN[network]
    want = {"number": 0, "hash": want_hash, "stateRoot": want_root, "fork": GENESIS_FORK[network]}
    assert json.loads(out[0]) == want
    head = cli("head", "--datadir", datadir, "--json")
    assert head.returncode == 0, head.stderr
    assert json.loads(head.stdout) == want
    text = cli("head", "--datadir", datadir).stdout.splitlines()
    assert text == [f"head block 0 hash {want_hash}", f"state root {want_root}", f"fork {GENESIS_FORK[network]}"]


def test_reopened_store_has_block_state_and_config(tmp_path):
    from client.chain.store import ChainStore
    from client.header import Header

    datadir = str(tmp_path / "dd")
    assert cli("init", "--genesis", os.path.join(GENESIS, "sepolia.json"), "--datadir", datadir).returncode == 0
    with ChainStore.open(datadir) as store:
        head = store.head_header()
        assert "0x" + head.hash.hex() == KNOWN["sepolia"][0]
        assert store.canonical_hash(0) == head.hash == store.genesis_hash()
        assert store.block_number(head.hash) == 0
        import rlp

        block = rlp.decode(store.get_block_rlp(head.hash))
        assert Header.from_rlp_list(block[0]) == head and block[1:] == [[], []]
        assert store.config()["chainId"] == 11155111
        state = store.state()
        alloc = json.load(open(os.path.join(GENESIS, "sepolia.json")))["alloc"]
        addr, acc = next(iter(alloc.items()))
        assert state.get_account(bytes.fromhex(addr[2:])).balance == int(acc["balance"], 0)


def test_dev_genesis(tmp_path):
    from client.chain.store import ChainStore

    datadir = str(tmp_path / "dd")
    proc = cli("init", "--genesis", os.path.join(GENESIS, "dev.json"), "--datadir", datadir, "--json")
    assert proc.returncode == 0, proc.stderr
    dev = json.load(open(os.path.join(GENESIS, "dev.json")))
    assert dev["config"]["chainId"] == 1337
    with ChainStore.open(datadir) as store:
        head = store.head_header()
        # every fork through Osaka at genesis: all header fields through Prague's requests hash
        assert head.base_fee_per_gas == 10**9 and head.withdrawals_root is not None
        assert head.blob_gas_used == 0 and head.excess_blob_gas == 0 and head.parent_beacon_block_root == b"\x00" * 32
        assert head.requests_hash == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        state = store.state()
        acc = state.get_account(bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))
        assert acc.balance == 10_000 * 10**18 and acc.nonce == 0
        # the system contracts carry the same code as in the EEST Prague fixtures' pre-state
        fixture = os.path.join(
            REPO,
            "tests",
            "fixtures",
            "blockchain",
            "eest",
            "blockchain_tests",
            "prague",
            "eip7251_consolidations",
            "test_eip_7251.json",
        )
        pre = {k.lower(): v for k, v in next(iter(json.load(open(fixture)).values()))["pre"].items()}
        for addr in (
            "0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02",
            "0x0000F90827F1C53a10cb7A02335B175320002935",
            "0x00000961Ef480Eb55e80D19ad83579A64c007002",
            "0x0000BBdDc7CE488642fb579F8B00f3a590007251",
        ):
            acc = state.get_account(bytes.fromhex(addr[2:]))
            code = bytes.fromhex(pre[addr.lower()]["code"][2:])
            assert acc.nonce == 1 and acc.code_hash == keccak(code)
            assert state.get_code(acc.code_hash) == code


def test_init_is_idempotent_and_refuses_another_genesis(tmp_path):
    datadir = str(tmp_path / "dd")
    first = cli("init", "--genesis", os.path.join(GENESIS, "holesky.json"), "--datadir", datadir, "--json")
    again = cli("init", "--genesis", os.path.join(GENESIS, "holesky.json"), "--datadir", datadir, "--json")
    assert first.returncode == again.returncode == 0
    assert first.stdout == again.stdout
    other = cli("init", "--genesis", os.path.join(GENESIS, "sepolia.json"), "--datadir", datadir)
    line = _one_error_line(other)
    assert "different genesis" in line
    head = cli("head", "--datadir", datadir, "--json")
    assert json.loads(head.stdout)["hash"] == KNOWN["holesky"][0]


def _write(tmp_path, text: str) -> str:
    p = tmp_path / "g.json"
    p.write_text(text)
    return str(p)


def _genesis(**alloc_entry) -> str:
    g = json.load(open(os.path.join(GENESIS, "sepolia.json")))
    g["alloc"] = {"0x" + "11" * 20: {"balance": "0x1"}}
    g["alloc"].update(alloc_entry)
    return json.dumps(g)


BAD = {
    "invalid_json": ("{not json", "invalid JSON"),
    "bad_hex_code": (_genesis(**{"0x" + "22" * 20: {"balance": "1", "code": "0x60zz"}}), "hex"),
    "odd_hex_code": (_genesis(**{"0x" + "22" * 20: {"balance": "1", "code": "0x600"}}), "hex"),
    "bad_address": (_genesis(**{"0x1234": {"balance": "1"}}), "address"),
    "non_hex_address": (_genesis(**{"0x" + "zz" * 20: {"balance": "1"}}), "address"),
    "negative_balance": (_genesis(**{"0x" + "22" * 20: {"balance": "-5"}}), "negative"),
    "oversized_balance": (_genesis(**{"0x" + "22" * 20: {"balance": hex(2**256)}}), "256 bits"),
    "bad_balance": (_genesis(**{"0x" + "22" * 20: {"balance": "lots"}}), "not a number"),
    "bad_mixhash": (json.dumps({**json.loads(_genesis()), "mixhash": "0x1234"}), "32 bytes"),
    "no_config": (json.dumps({"alloc": {}}), "config"),
    "not_object": ("[1, 2]", "not a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_genesis_fails_cleanly(case, tmp_path):
    text, needle = BAD[case]
    datadir = tmp_path / "dd"
    line = _one_error_line(cli("init", "--genesis", _write(tmp_path, text), "--datadir", str(datadir)))
    assert needle in line
    assert not datadir.exists()


def test_missing_genesis_file(tmp_path):
    datadir = tmp_path / "dd"
    line = _one_error_line(cli("init", "--genesis", str(tmp_path / "nope.json"), "--datadir", str(datadir)))
    assert "not found" in line
    assert not datadir.exists()


def test_head_of_uninitialised_datadir(tmp_path):
    line = _one_error_line(cli("head", "--datadir", str(tmp_path / "nothing")))
    assert "not initialised" in line
    assert not (tmp_path / "nothing").exists()


def test_failure_while_writing_removes_the_new_datadir(tmp_path, monkeypatch, capsys):
    from client import cli as cli_mod
    from client.chain.store import ChainStore

    def boom(self, genesis):
        with self.kv.write_batch() as batch:
            batch.put(b"partial", b"x")
            raise OSError("disk full")

    monkeypatch.setattr(ChainStore, "init_genesis", boom)
    datadir = tmp_path / "dd"
    with pytest.raises(OSError):
        cli_mod.main(["init", "--genesis", os.path.join(GENESIS, "sepolia.json"), "--datadir", str(datadir)])
    assert not datadir.exists()


def test_failed_init_removes_created_parent_directories(tmp_path):
    datadir = tmp_path / "a" / "b" / "dd"
    _one_error_line(cli("init", "--genesis", _write(tmp_path, "{oops"), "--datadir", str(datadir)))
    assert not (tmp_path / "a").exists()


def test_failed_write_into_existing_directory_keeps_it(tmp_path, monkeypatch):
    from client import cli as cli_mod
    from client.chain.store import ChainStore

    def boom(self, genesis):
        raise OSError("disk full")

    monkeypatch.setattr(ChainStore, "init_genesis", boom)
    datadir = tmp_path / "dd"
    datadir.mkdir()
    (datadir / "keep.txt").write_text("mine")
    with pytest.raises(OSError):
        cli_mod.main(["init", "--genesis", os.path.join(GENESIS, "sepolia.json"), "--datadir", str(datadir)])
    assert (datadir / "keep.txt").read_text() == "mine"
    assert not (datadir / "chaindata").exists()


def test_head_of_chaindata_without_head(tmp_path):
    from state.kv import LevelDBStore

    kv = LevelDBStore(tmp_path / "dd" / "chaindata")
    kv.put(b"unrelated", b"x")
    kv.close()
    line = _one_error_line(cli("head", "--datadir", str(tmp_path / "dd")))
    assert "no head block" in line
