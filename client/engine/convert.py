"""Blockchain tests -> blockchain engine tests: each block of an execution-spec-tests / ethereum/tests
`blockchain_test` becomes an `engine_newPayloadVX` directive of a `blockchain_test_engine` fixture
(execution-spec-tests' format: `engineNewPayloads[]` with `params`, `newPayloadVersion`,
`forkchoiceUpdatedVersion`, `validationError`, `errorCode`), valid and invalid blocks alike; the expected status
comes from the block's `expectException`.

    python -m client.engine.convert SRC... --out DIR     # one engine fixture file per blockchain-test file

What a payload cannot carry, and how it is handled:
- a block whose RLP does not decode (an `RLP_*` negative test) has no payload: it is left out and listed in
  `_info.droppedBlocks` (invalid blocks only, so the chain, `lastblockhash` and `postState` are unchanged);
- header fields a payload has no room for (ommers, difficulty, nonce) make the rebuilt block hash differ from
  the block's: such a payload is INVALID for its block hash, as the block was invalid;
- a header whose fields do not match its fork's payload version (say a Cancun block without blob gas fields)
  gives a payload of the wrong structure: the expected answer is `errorCode` -32602, as the spec requires;
- a block whose parent is not in the test (neither the genesis nor an earlier block) cannot be validated
  through the Engine API: the spec's answer is SYNCING, not INVALID. Such a payload carries
  `"expectedStatus": "SYNCING"`, an extension of this converter's that `evm-mlir enginetest` checks;
- newPayloadV4's `executionRequests` are not in a blockchain test (only their hash is): they are the block's
  requests as executing the chain gives them, used only when their sha256 commitment equals the header's
  `requestsHash` (so they are the header's own). When they cannot be recovered (an invalid block whose header
  commits to other requests) the payload carries the executed ones and its hash cannot match: it is still
  INVALID, for its hash; `_info.requestsNotRecovered` lists those blocks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..blocks import BlockDecodeError, compute_requests_hash
from ..chain.validation import InvalidBlock, decode_block
from ..fixtures import fixture_config, hex_bytes, load_fixture
from ..forks import UnsupportedFork, rules_at
from ..header import EMPTY_REQUESTS_HASH
from .payload import block_payload_json, method_versions

INVALID_PARAMS = -32602


def _structure_error(block, rules, new_version: int) -> bool:
    """Whether the block's payload has the wrong structure for the method version of its fork."""
    h = block.header
    has_blob_fields = h.blob_gas_used is not None or h.excess_blob_gas is not None
    both_blob_fields = h.blob_gas_used is not None and h.excess_blob_gas is not None
    if new_version == 1:
        return block.withdrawals is not None or has_blob_fields
    if new_version == 2:
        return has_blob_fields or (block.withdrawals is not None) != rules.withdrawals
    return not both_blob_fields or block.withdrawals is None or h.parent_beacon_block_root is None


def _executed_requests(fixture: dict, backend: str) -> dict[int, list[bytes]]:
    """Block index -> the requests executing it gave (valid blocks only), replaying the test as blocktest does."""
    from ..blocktest import chain_for_fixture

    blockchain = chain_for_fixture(fixture, backend)
    out: dict[int, list[bytes]] = {}
    for i, b in enumerate(fixture["blocks"]):
        try:
            raw = hex_bytes(b["rlp"])
            result = blockchain.import_block(decode_block(raw), len(raw))
        except InvalidBlock:
            continue
        out[i] = result.requests
    return out


def convert_test(fixture: dict, backend: str = "interpreter") -> dict[str, Any]:
    """One blockchain test as a blockchain engine test."""
    config_json = fixture.get("config") or {}
    config = fixture_config(fixture)
    payloads: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    not_recovered: list[int] = []
    executed: dict[int, list[bytes]] | None = None
    known = {hex_bytes(fixture["genesisBlockHeader"]["hash"])}  # blocks a payload's parent can be
    for i, b in enumerate(fixture["blocks"]):
        expected = b.get("expectException")
        try:
            block = decode_block(hex_bytes(b["rlp"]))
        except (InvalidBlock, BlockDecodeError, ValueError) as exc:
            if not expected:
                raise ValueError(f"block #{i} is valid but does not decode: {exc}") from None
            dropped.append({"index": i, "expectException": expected, "reason": str(exc)})
            continue
        h = block.header
        rules = rules_at(config, h.number, h.timestamp)
        new_version, fcu_version = method_versions(rules.fork)
        params: list[Any] = [block_payload_json(block)]
        if new_version >= 3:
            params.append(
                ["0x" + vh.hex() for tx in block.transactions if tx.type == 3 for vh in tx.blob_versioned_hashes]
            )
            params.append(None if h.parent_beacon_block_root is None else "0x" + h.parent_beacon_block_root.hex())
        if new_version >= 4:
            requests: list[bytes] = []
            if h.requests_hash not in (None, EMPTY_REQUESTS_HASH):
                if executed is None:
                    executed = _executed_requests(fixture, backend)
                requests = executed.get(i, [])
                if compute_requests_hash(requests) != h.requests_hash:
                    not_recovered.append(i)
            params.append(["0x" + r.hex() for r in requests])
        entry: dict[str, Any] = {
            "params": params,
            "newPayloadVersion": str(new_version),
            "forkchoiceUpdatedVersion": str(fcu_version),
        }
        if expected:
            entry["validationError"] = expected
            if _structure_error(block, rules, new_version):
                entry["errorCode"] = str(INVALID_PARAMS)
            elif h.parent_hash not in known:
                entry["expectedStatus"] = "SYNCING"
        known.add(h.hash)
        payloads.append(entry)
    out: dict[str, Any] = {
        "network": fixture["network"],
        "genesisBlockHeader": fixture["genesisBlockHeader"],
        "pre": fixture["pre"],
        "lastblockhash": fixture["lastblockhash"],
        "config": {"network": fixture["network"], **config_json},
        "engineNewPayloads": payloads,
    }
    for key in ("postState", "postStateHash"):
        if key in fixture:
            out[key] = fixture[key]
    info = dict(fixture.get("_info") or {})
    info["fixture-format"] = "blockchain_test_engine"
    info["converted-by"] = "client/engine/convert.py from a blockchain_test"
    if dropped:
        info["droppedBlocks"] = dropped
    if not_recovered:
        info["requestsNotRecovered"] = not_recovered
    out["_info"] = info
    return out


def convert_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Every test of a blockchain-test file converted, and the names of those left out: a network this client
    does not run (pre-Merge ones have no payloads at all)."""
    out, left_out = {}, []
    for name, fixture in load_fixture(path).items():
        if not isinstance(fixture, dict) or "blocks" not in fixture:
            continue
        try:
            fixture_config(fixture)
        except UnsupportedFork:
            left_out.append(name)
            continue
        out[name] = convert_test(fixture)
    return out, left_out


def main(argv: list[str] | None = None) -> int:
    from ..fixtures import fixture_files

    p = argparse.ArgumentParser(prog="python -m client.engine.convert", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", metavar="SRC", help="blockchain-test JSON files or folders")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the engine fixtures (same relative paths)")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    tests = files_written = 0
    left_out: list[str] = []
    for src in args.paths:
        base = Path(src)
        for path in fixture_files([src]):
            converted, skipped = convert_file(path)
            left_out += skipped
            if not converted:
                continue
            rel = path.relative_to(base.parent) if base.is_dir() else Path(path.name)
            dest = out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(json.dumps(converted, indent=1) + "\n")
            tests += len(converted)
            files_written += 1
    print(
        f"{tests} tests converted into {files_written} files under {out_dir}; {len(left_out)} left out "
        f"(networks this client does not run)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
