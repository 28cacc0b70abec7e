"""A chain's forks as this client runs them: the rules of the fork a block is at (evm/rules.py, with the chain
config's blob schedule), and the chain configs of the networks fixtures name ("Cancun",
"PragueToOsakaAtTime15k", "BPO2ToBPO3AtTime15k", ...).

The client runs post-Merge chains, Paris through BPO5. Anything else is an `UnsupportedFork` whose message
says why in one line: a fork before the Merge, or one this client does not implement (Amsterdam).
"""

from __future__ import annotations

import re

from evm.blobs import BlobSchedule
from evm.rules import RULES, ForkRules
from evm.spec import Fork

from .genesis import BLOCK_FORKS, TIME_FORKS, ChainConfig, _Ctx, parse_config

TIME_KEYS = dict(TIME_FORKS)  # fork name -> its config key ("Shanghai" -> "shanghaiTime")
# Names fixtures and configs give forks before the Merge (besides BLOCK_FORKS' own).
_PRE_MERGE = {
    name.lower()
    for name in [name for name, _ in BLOCK_FORKS]
    + ["Frontier", "DAOFork", "EIP150", "EIP158", "ConstantinopleFix", "MuirGlacier", "ArrowGlacier", "GrayGlacier"]
}
_TRANSITION = re.compile(r"([A-Za-z0-9]+?)To([A-Za-z0-9]+)AtTime15k")
TRANSITION_TIME = 15_000  # execution-spec-tests' transition networks switch at this timestamp


class UnsupportedFork(ValueError):
    """A fork or network this client does not run (the message is one line saying why)."""


def fork_by_name(name: str) -> Fork:
    try:
        return Fork.from_name(name)
    except ValueError:
        pass
    if name.lower() in _PRE_MERGE:
        raise UnsupportedFork(
            f"fork {name} is before the Merge (this client runs post-Merge chains: Paris through BPO5)"
        )
    raise UnsupportedFork(f"fork {name} is not implemented by this client (it runs Paris through BPO5)")


def rules_for(config: ChainConfig, fork: Fork) -> ForkRules:
    """`fork`'s rules on this chain: its blob schedule from the config's `blobSchedule` entry for it, else
    the fork's default (the config parser refuses a scheduled fork that has neither)."""
    rules = config.rules_cache.get(fork)
    if rules is None:
        rules = RULES[fork]
        entry = config.blob_schedule.get(fork.title.lower())
        if entry is not None and rules.blob_schedule is not None:
            rules = rules.with_blob_schedule(
                BlobSchedule(entry["target"], entry["max"], entry["baseFeeUpdateFraction"])
            )
        config.rules_cache[fork] = rules
    return rules


def rules_at(config: ChainConfig, number: int, timestamp: int) -> ForkRules:
    """The rules of a block at (number, timestamp); UnsupportedFork before the Merge or past BPO5."""
    name = config.fork_name(number, timestamp)
    try:
        return rules_for(config, fork_by_name(name))
    except UnsupportedFork as exc:
        raise UnsupportedFork(f"block {number}: {exc}") from None


def network_config(network: str, chain_id: int = 1, blob_schedule: dict | None = None) -> ChainConfig:
    """The chain config of a fixture `network`: a fork active from genesis, or `XToYAtTime15k` (X from
    genesis, its successor Y from timestamp 15,000). `blob_schedule` is the fixture's `config.blobSchedule`."""
    m = _TRANSITION.fullmatch(network)
    first, second = (m[1], m[2]) if m else (network, None)
    if (
        m is None and network.split("To")[0].lower() in _PRE_MERGE
    ):  # a transition before the Merge ("BerlinToLondonAt5")
        first = network.split("To")[0]
    try:
        start = fork_by_name(first)
        switch = fork_by_name(second) if second is not None else None
    except UnsupportedFork as exc:
        raise UnsupportedFork(f"network {network}: {exc}") from None
    forks = list(Fork)
    if switch is not None and forks.index(switch) != forks.index(start) + 1:
        raise UnsupportedFork(f"network {network}: {second} is not the fork after {first}")
    raw: dict = {"chainId": chain_id, "terminalTotalDifficulty": 0}
    raw.update({key: 0 for _, key in BLOCK_FORKS})
    for fork in forks[1 : forks.index(start) + 1]:  # Paris has no key: merged at genesis (TTD 0)
        raw[TIME_KEYS[fork.title]] = 0
    if switch is not None:
        raw[TIME_KEYS[switch.title]] = TRANSITION_TIME
    if blob_schedule:
        raw["blobSchedule"] = {k.lower(): v for k, v in blob_schedule.items()}
    return parse_config(raw, _Ctx(f"network {network}"))
