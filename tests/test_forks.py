"""Fork rules as data (evm/rules.py), the fork a block is at on real and fixture networks (client/forks.py,
client/genesis.py), and that no fork decision in client/ or evm/ compares fork ids."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from client.errors import UserError
from client.forks import UnsupportedFork, fork_by_name, network_config, rules_at
from client.genesis import _Ctx, load_genesis, parse_config
from evm.blobs import BlobSchedule
from evm.message import BlockEnv
from evm.rules import BEACON_ROOTS_ADDRESS, HISTORY_STORAGE_ADDRESS, RULES
from evm.spec import Fork

ROOT = Path(__file__).resolve().parent.parent
# the EIPs' blob parameters: Cancun (EIP-4844), Prague and Osaka (EIP-7691), mainnet's BPO1 and BPO2 (EIP-7892)
CANCUN_BLOBS, PRAGUE_BLOBS = BlobSchedule(3, 6, 3338477), BlobSchedule(6, 9, 5007716)
BPO1_BLOBS, BPO2_BLOBS = BlobSchedule(10, 15, 8346193), BlobSchedule(14, 21, 11684671)


def test_each_fork_changes_only_what_it_introduced():
    changed = {}
    forks = list(Fork)
    for prev, fork in zip(forks, forks[1:]):
        a, b = RULES[prev], RULES[fork]
        changed[fork] = {f.name for f in fields(b) if getattr(a, f.name) != getattr(b, f.name)} - {"fork"}
    assert changed[Fork.SHANGHAI] == {
        "evm",
        "initcode_word_cost",
        "max_initcode_size",
        "warm_coinbase",
        "withdrawals",
        "header_fields",
    }
    assert changed[Fork.CANCUN] == {
        "evm",
        "tx_types",
        "selfdestruct_only_new",
        "header_fields",
        "pre_block_calls",
        "blob_schedule",
    }
    assert changed[Fork.PRAGUE] == {
        "evm",
        "tx_types",
        "calldata_floor_cost",
        "delegation",
        "header_fields",
        "pre_block_calls",
        "requests",
        "request_calls",
        "blob_schedule",
    }
    assert changed[Fork.OSAKA] == {
        "evm",
        "tx_gas_cap",
        "max_block_rlp_size",
        "max_blobs_per_tx",
        "blob_sidecar_version",
        "blob_base_cost",
    }
    # the blob-parameter-only forks change the blob schedule and nothing else (BPO3.. only from a chain config)
    assert changed[Fork.BPO1] == changed[Fork.BPO2] == {"blob_schedule"}
    assert changed[Fork.BPO3] == changed[Fork.BPO4] == changed[Fork.BPO5] == set()
    assert all(RULES[f].evm is Fork.OSAKA for f in (Fork.BPO1, Fork.BPO2, Fork.BPO5))


def test_the_values_of_the_eips():
    assert RULES[Fork.PARIS].tx_types == {0, 1, 2} and RULES[Fork.PRAGUE].tx_types == {0, 1, 2, 3, 4}
    assert RULES[Fork.PARIS].max_initcode_size is None and RULES[Fork.SHANGHAI].max_initcode_size == 49152
    assert RULES[Fork.SHANGHAI].initcode_word_cost == 2 and RULES[Fork.PRAGUE].calldata_floor_cost == 10
    assert RULES[Fork.PRAGUE].tx_gas_cap is None and RULES[Fork.OSAKA].tx_gas_cap == 2**24
    assert RULES[Fork.OSAKA].max_block_rlp_size == 8_388_608
    assert RULES[Fork.CANCUN].pre_block_calls == ((BEACON_ROOTS_ADDRESS, "parent_beacon_block_root"),)
    assert RULES[Fork.PRAGUE].pre_block_calls[1] == (HISTORY_STORAGE_ADDRESS, "parent_hash")
    assert RULES[Fork.SHANGHAI].blob_schedule is None and RULES[Fork.SHANGHAI].blob_limit_per_tx == 0
    assert RULES[Fork.CANCUN].blob_schedule == CANCUN_BLOBS
    assert RULES[Fork.PRAGUE].blob_schedule == RULES[Fork.OSAKA].blob_schedule == PRAGUE_BLOBS
    assert RULES[Fork.BPO1].blob_schedule == BPO1_BLOBS and RULES[Fork.BPO2].blob_schedule == BPO2_BLOBS
    # EIP-7594 caps a transaction at 6 blobs even where a block takes 21
    assert RULES[Fork.PRAGUE].blob_limit_per_tx == 9 and RULES[Fork.BPO2].blob_limit_per_tx == 6


def test_env_carries_its_forks_rules():
    assert BlockEnv(Fork.BPO1).rules is RULES[Fork.BPO1]
    with pytest.raises(ValueError):
        BlockEnv(Fork.PRAGUE, rules=RULES[Fork.OSAKA])


# (network, timestamp, fork, blob schedule) at the activation times geth and reth hold
SCHEDULES = [
    ("mainnet", 1681338455, "Shanghai", None),
    ("mainnet", 1710338135, "Cancun", CANCUN_BLOBS),
    ("mainnet", 1746612311, "Prague", PRAGUE_BLOBS),
    ("mainnet", 1764798551, "Osaka", PRAGUE_BLOBS),
    ("mainnet", 1765290070, "Osaka", PRAGUE_BLOBS),
    ("mainnet", 1765290071, "BPO1", BPO1_BLOBS),
    ("mainnet", 1767747671, "BPO2", BPO2_BLOBS),
    ("sepolia", 1741159776, "Prague", PRAGUE_BLOBS),
    ("sepolia", 1760427360, "Osaka", PRAGUE_BLOBS),
    ("sepolia", 1761017184, "BPO1", BPO1_BLOBS),
    ("sepolia", 1761607008, "BPO2", BPO2_BLOBS),
    ("holesky", 1695902101, "Paris", None),
    ("holesky", 1759308480, "Osaka", PRAGUE_BLOBS),
    ("holesky", 1759800000, "BPO1", BPO1_BLOBS),
    ("holesky", 1760389824, "BPO2", BPO2_BLOBS),
    ("hoodi", 1742999831, "Cancun", CANCUN_BLOBS),
    ("hoodi", 1742999832, "Prague", PRAGUE_BLOBS),
    ("hoodi", 1761677592, "Osaka", PRAGUE_BLOBS),
    ("hoodi", 1762365720, "BPO1", BPO1_BLOBS),
    ("hoodi", 1762955544, "BPO2", BPO2_BLOBS),
]
_GENESIS: dict = {}


def _config(network: str):
    if network not in _GENESIS:
        _GENESIS[network] = load_genesis(ROOT / "genesis" / f"{network}.json")[0].config
    return _GENESIS[network]


@pytest.mark.parametrize("network,timestamp,fork,blobs", SCHEDULES)
def test_real_networks_follow_their_fork_schedules(network, timestamp, fork, blobs):
    config = _config(network)
    number = 20_000_000  # past every block-numbered fork (and Sepolia's merge block)
    assert config.fork_name(number, timestamp) == fork
    rules = rules_at(config, number, timestamp)
    assert rules.name == fork and rules.blob_schedule == blobs


def test_before_the_merge_is_refused_in_one_line():
    with pytest.raises(UnsupportedFork, match=r"^fork london is before the Merge"):
        fork_by_name("london")  # any case, as Fork.from_name takes names
    with pytest.raises(UnsupportedFork, match=r"^block 1: fork Frontier is before the Merge"):
        rules_at(_config("mainnet"), 1, 1)
    with pytest.raises(UnsupportedFork, match=r"^block 1735370: fork London is before the Merge"):
        rules_at(_config("sepolia"), 1_735_370, 1_655_000_000)  # Sepolia before its merge block
    assert rules_at(_config("sepolia"), 1_735_371, 1_655_000_000).name == "Paris"
    # mainnet merged on reaching its terminal total difficulty, which no config holds: as geth's IsPostMerge,
    # its config knows the chain is post-Merge from Shanghai on only (blocks before that are not executable here)
    assert _config("mainnet").fork_name(17_000_000, 1681338454) == "London"


@pytest.mark.parametrize(
    "network,first,second",
    [
        ("Paris", "Paris", "Paris"),
        ("ParisToShanghaiAtTime15k", "Paris", "Shanghai"),
        ("PragueToOsakaAtTime15k", "Prague", "Osaka"),
        ("OsakaToBPO1AtTime15k", "Osaka", "BPO1"),
        ("BPO1ToBPO2AtTime15k", "BPO1", "BPO2"),
        ("BPO3ToBPO4AtTime15k", "BPO3", "BPO4"),
    ],
)
def test_fixture_networks(network, first, second):
    schedule = {
        "BPO3": {"target": "0x15", "max": "0x20", "baseFeeUpdateFraction": "0x013a7aa1"},
        "BPO4": {"target": "0x0e", "max": "0x15", "baseFeeUpdateFraction": "0xd1a66e"},
    }
    config = network_config(network, 1, schedule)
    assert config.fork_name(1, 14_999) == first and config.fork_name(1, 15_000) == second
    if second == "BPO4":  # a fixture's own blob parameters replace the defaults
        assert rules_at(config, 1, 15_000).blob_schedule == BlobSchedule(14, 21, 13739630)
        assert rules_at(config, 1, 0).blob_schedule == BlobSchedule(21, 32, 20609697)


@pytest.mark.parametrize(
    "network,reason",
    [
        ("London", "network London: fork London is before the Merge"),
        ("BerlinToLondonAt5", "network BerlinToLondonAt5: fork Berlin is before the Merge"),
        ("Amsterdam", "network Amsterdam: fork Amsterdam is not implemented by this client"),
        ("CancunToOsakaAtTime15k", "network CancunToOsakaAtTime15k: Osaka is not the fork after Cancun"),
    ],
)
def test_networks_this_client_does_not_run(network, reason):
    with pytest.raises(UnsupportedFork, match="^" + re.escape(reason)):
        network_config(network)


def _raw(**extra) -> dict:
    raw = {
        "chainId": 1,
        "londonBlock": 0,
        "terminalTotalDifficulty": 0,
        "shanghaiTime": 0,
        "cancunTime": 0,
        "pragueTime": 0,
        "osakaTime": 0,
    }
    raw.update(extra)
    return raw


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"bpo2Time": 10}, "config.bpo2Time: BPO1 (bpo1Time) is not enabled, but BPO2 is"),
        ({"bpo1Time": 20, "bpo2Time": 10}, "config.bpo2Time: BPO2 at 10 comes before BPO1 at 20"),
        (
            {"bpo1Time": 1, "bpo2Time": 2, "bpo3Time": 3},
            "config.bpo3Time: BPO3 is scheduled but config.blobSchedule has no bpo3 entry",
        ),
        (
            {"blobSchedule": {"bpo1": {"target": 9, "max": 6, "baseFeeUpdateFraction": 1}}},
            "config.blobSchedule.bpo1: target 9 above max 6",
        ),
        (
            {"blobSchedule": {"osaka": {"target": 1, "max": 2, "baseFeeUpdateFraction": 0}}},
            "config.blobSchedule.osaka.baseFeeUpdateFraction: must not be 0",
        ),
    ],
)
def test_bad_fork_schedules_are_one_line(extra, message):
    with pytest.raises(UserError) as err:
        parse_config(_raw(**extra), _Ctx("g.json"))
    assert str(err.value) == f"g.json: {message}"


def test_a_scheduled_fork_this_client_lacks_is_refused_when_reached():
    config = parse_config(_raw(amsterdamTime=100), _Ctx("g.json"))
    assert rules_at(config, 1, 99).name == "Osaka"
    with pytest.raises(UnsupportedFork, match="^block 1: fork Amsterdam is not implemented by this client"):
        rules_at(config, 1, 100)


def test_rules_keep_the_chains_blob_schedule():
    config = parse_config(
        _raw(bpo1Time=5, blobSchedule={"bpo1": {"target": 1, "max": 2, "baseFeeUpdateFraction": 3}}), _Ctx("g")
    )
    assert rules_at(config, 1, 5).blob_schedule == BlobSchedule(1, 2, 3)
    assert rules_at(config, 1, 5) is rules_at(config, 2, 6)  # built once per chain and fork
    assert rules_at(config, 1, 4).blob_schedule == PRAGUE_BLOBS  # Osaka's default (as Prague's)


def test_no_fork_decision_compares_fork_ids():
    """Every fork decision reads the rules: the only comparisons of forks left in client/ and evm/ are the
    opcode and precompile tables' `since` lookups, which are those tables' construction."""
    pattern = re.compile(r"[<>]=?\s*Fork\.[A-Z]|Fork\.[A-Z0-9_]+\s*[<>]|\bfork\s*[<>]=?|[<>]=?\s*fork\b")
    found = []
    for path in sorted([*ROOT.glob("client/**/*.py"), *ROOT.glob("evm/**/*.py")]):
        in_docstring = False
        for n, line in enumerate(path.read_text().splitlines(), 1):
            quotes = line.count('"""')
            code = line.split("#")[0]
            if not in_docstring and not quotes and pattern.search(code) and "since" not in code:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
            in_docstring ^= quotes % 2 == 1
    assert found == []
