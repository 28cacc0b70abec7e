"""State-test runner: every post[fork][i] case of execution-spec-tests state_test fixtures.

A case passes when the post-state root equals `hash` and the logs hash equals `logs`; a case
with `expectException` passes when the transaction is rejected (nothing is committed then).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evm.blobs import blob_base_fee
from evm.message import BlockEnv
from evm.processor import BlockContext, InvalidTransaction, logs_hash, process_transaction
from evm.rules import ForkRules
from evm.transactions import Authorization, Transaction
from state.db import StateDB, alloc_from_fixture
from state.journal import JournaledState
from state.kv import MemoryStore

from .errors import UserError
from .fixtures import CaseResult, hex_bytes, hex_int, run_timed, select_fixtures
from .forks import UnsupportedFork, fork_by_name, network_config, rules_for


def build_transaction(tx: dict, indexes: dict) -> Transaction:
    d, g, v = indexes["data"], indexes["gas"], indexes["value"]
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = ()
    if tx.get("accessLists") is not None:
        entries = tx["accessLists"][d] or []
        access_list = tuple((hex_bytes(e["address"]), tuple(hex_int(k) for k in e["storageKeys"])) for e in entries)
    authorizations = tuple(
        Authorization(
            hex_int(a["chainId"]),
            hex_bytes(a["address"]),
            hex_int(a["nonce"]),
            hex_int(a.get("yParity", a.get("v", "0x0"))),
            hex_int(a["r"]),
            hex_int(a["s"]),
        )
        for a in tx.get("authorizationList") or ()
    )
    if "authorizationList" in tx:
        ttype = 4
    elif "blobVersionedHashes" in tx or "maxFeePerBlobGas" in tx:
        ttype = 3
    elif "maxFeePerGas" in tx:
        ttype = 2
    elif tx.get("accessLists") is not None:
        ttype = 1
    else:
        ttype = 0
    to = tx.get("to") or ""
    return Transaction(
        type=ttype,
        chain_id=None,
        nonce=hex_int(tx["nonce"]),
        gas_price=hex_int(tx.get("gasPrice", "0x0")),
        max_priority_fee_per_gas=hex_int(tx.get("maxPriorityFeePerGas", "0x0")),
        max_fee_per_gas=hex_int(tx.get("maxFeePerGas", "0x0")),
        gas=hex_int(tx["gasLimit"][g]),
        to=hex_bytes(to) if to else None,
        value=hex_int(tx["value"][v]),
        data=hex_bytes(tx["data"][d]),
        access_list=access_list,
        max_fee_per_blob_gas=hex_int(tx.get("maxFeePerBlobGas", "0x0")),
        blob_versioned_hashes=tuple(hex_bytes(h) for h in tx.get("blobVersionedHashes") or ()),
        authorizations=authorizations,
        sender=hex_bytes(tx["sender"]),
    )


def fixture_rules(fixture: dict, fork_name: str) -> ForkRules:
    """The rules of post[`fork_name`] with the fixture's `config` (chain id, blob schedule);
    UnsupportedFork for a fork this client does not run."""
    config = fixture.get("config") or {}
    fork = fork_by_name(fork_name)
    chain = network_config(fork.title, hex_int(config.get("chainid", "0x1")), config.get("blobSchedule"))
    return rules_for(chain, fork)


def run_case(fixture: dict, rules: ForkRules, case: dict, backend: str) -> tuple[bool, str]:
    env_json = fixture["env"]
    chain_id = hex_int((fixture.get("config") or {}).get("chainid", "0x1"))
    schedule = rules.blob_schedule
    excess = hex_int(env_json.get("currentExcessBlobGas", "0x0"))
    env = BlockEnv(
        fork=rules.fork,
        rules=rules,
        chain_id=chain_id,
        coinbase=hex_bytes(env_json["currentCoinbase"]),
        number=hex_int(env_json["currentNumber"]),
        timestamp=hex_int(env_json["currentTimestamp"]),
        gas_limit=hex_int(env_json["currentGasLimit"]),
        prev_randao=hex_int(env_json.get("currentRandom", "0x0")).to_bytes(32, "big"),
        base_fee=hex_int(env_json.get("currentBaseFee", "0x0")),
        excess_blob_gas=excess,
        blob_base_fee=blob_base_fee(excess, schedule) if schedule else 0,
    )
    tx = build_transaction(fixture["transaction"], case["indexes"])
    tx.chain_id = chain_id
    db = StateDB(MemoryStore())
    db.commit_alloc(alloc_from_fixture(fixture["pre"]))
    state = JournaledState(db)
    expected_exception = case.get("expectException")
    try:
        result = process_transaction(tx, state, BlockContext(env), backend)
    except InvalidTransaction as exc:
        if expected_exception:
            return True, ""
        return False, f"transaction rejected: {exc.code}: {exc}"
    if expected_exception:
        return False, f"expected exception {expected_exception} but the transaction was accepted"
    root = state.commit()
    problems = []
    if root != hex_bytes(case["hash"]):
        problems.append(f"state root 0x{root.hex()} != expected {case['hash']}")
    lh = logs_hash(result.logs)
    if lh != hex_bytes(case["logs"]):
        problems.append(f"logs hash 0x{lh.hex()} != expected {case['logs']}")
    return not problems, "; ".join(problems)


def iter_cases(files: list[Path], fork_filter: str | None, substring: str | None) -> Iterator[tuple]:
    """(file, test name, fixture, fork name, index, case) of every selected case."""
    for path, name, fixture in select_fixtures(files, substring, ("post", "transaction"), "state test"):
        post = fixture["post"]
        if not isinstance(post, dict) or not all(
            isinstance(cases, list) and all(isinstance(c, dict) for c in cases) for cases in post.values()
        ):
            raise UserError(f"{path}: {name!r}: 'post' must map fork names to lists of cases")
        for fork_name, cases in post.items():
            if fork_filter and fork_name.lower() != fork_filter.lower():
                continue
            for index, case in enumerate(cases):
                yield path, name, fixture, fork_name, index, case


def run_one(path: Path, name: str, fixture: dict, fork_name: str, index: int, case: dict, backend: str) -> CaseResult:
    try:
        rules = fixture_rules(fixture, fork_name)
    except UnsupportedFork as exc:
        return CaseResult(name, str(path), fork_name, "skipped", str(exc), index=index)
    except UserError as exc:
        return CaseResult(name, str(path), fork_name, "failed", f"bad fixture config: {exc}", index=index)
    ok, reason, seconds, cpu, stats = run_timed(backend, lambda: (*run_case(fixture, rules, case, backend), {}))
    return CaseResult(
        name, str(path), fork_name, "passed" if ok else "failed", reason, seconds, index, stats, cpu_seconds=cpu
    )


def crashed(path: Path, name: str, fixture: dict, fork_name: str, index: int, case: dict, reason: str) -> CaseResult:
    """The result of a case whose worker process died each time it ran it (a run over Ray)."""
    return CaseResult(name, str(path), fork_name, "failed", reason, index=index)
