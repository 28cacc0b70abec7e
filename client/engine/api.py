"""The engine_* methods, as execution-apis src/engine/{paris,shanghai,cancun,prague,osaka}.md define them.

Every method version accepts the structures and the forks its spec names and answers the spec's errors
otherwise: -32602 when the parameters or their fields do not match the version, -38005 when the payload's (or
the payload attributes') timestamp falls in a fork the version does not serve.

newPayload validates a block completely whenever its parent is known, on the canonical chain or not (a side
chain's state is there: the trie keeps every root), and stores it without moving the head. Only
forkchoiceUpdated moves the head, safe and finalized blocks (one write batch; a side-chain head is a reorg) and
starts payload builds. A payload whose parent is unknown is SYNCING: this node has no peers to fetch it from.
Blocks found INVALID are remembered, so the answer stays INVALID (with the same latestValidHash) and their
descendants are INVALID too.
"""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path
from typing import Any

import structlog

from common.constants import ZERO_HASH
from evm.rules import ForkRules

from ..blocks import Block
from ..chain.validation import InvalidBlock
from ..forks import UnsupportedFork, rules_at
from ..node.txpool import BlobSidecar
from ..rpc import types as T
from ..rpc.errors import InvalidParams
from .builder import PayloadAttributes, PayloadBuilder, blobs_bundle
from .errors import (
    INVALID_FORKCHOICE_STATE,
    INVALID_PAYLOAD_ATTRIBUTES,
    TOO_LARGE_REQUEST,
    UNKNOWN_PAYLOAD,
    UNSUPPORTED_FORK,
    EngineError,
)
from .payload import (
    SERVES,
    ExecutionPayload,
    block_from_payload,
    body_to_json,
    parse_payload,
    parse_requests,
    parse_withdrawals,
    payload_to_json,
)

log = structlog.get_logger("engine")

VALID, INVALID, SYNCING, ACCEPTED, INVALID_BLOCK_HASH = "VALID", "INVALID", "SYNCING", "ACCEPTED", "INVALID_BLOCK_HASH"
MAX_BODIES_REQUEST = 1024  # geth's limit for getPayloadBodiesByHash/ByRange (the spec asks at least 32)
MAX_BLOBS_REQUEST = 128  # execution-apis: getBlobs of more hashes is -38004
INVALID_CACHE = 4096
CLIENT_CODE = "EM"  # two letters, as the spec's ClientVersionV1.code; not one of the registered codes
CLIENT_NAME = "evm-mlir"


def payload_status(status: str, latest_valid: bytes | None = None, error: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "latestValidHash": None if latest_valid is None else T.hb(latest_valid),
        "validationError": error,
    }


def _client_commit() -> str:
    """First 4 bytes of the checkout's git commit, 0x00000000 when not run from a checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and len(out.stdout.strip()) >= 8:
            return "0x" + out.stdout.strip()[:8]
    except (OSError, subprocess.SubprocessError):
        pass
    return "0x00000000"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evm-mlir")
    except PackageNotFoundError:
        return "0.0.0"


class EngineApi:
    def __init__(self, node: Any) -> None:
        self.node = node  # client.node.node.Node
        self.blockchain = node.blockchain
        self.store = node.store
        self.config = node.config
        self.builder = PayloadBuilder(node)
        # hash -> (latestValidHash, validationError) of blocks found invalid
        self.invalid: collections.OrderedDict[bytes, tuple[bytes | None, str]] = collections.OrderedDict()
        self.client_version = {
            "code": CLIENT_CODE,
            "name": CLIENT_NAME,
            "version": _version(),
            "commit": _client_commit(),
        }

    def methods(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in dir(self) if name.startswith("engine_")}

    def capabilities(self) -> list[str]:
        return sorted(n for n in self.methods() if n != "engine_exchangeCapabilities")

    # -- forks -----------------------------------------------------------------------------------------------
    def _fork(self, timestamp: int) -> ForkRules:
        """The fork rules of a post-Merge block at `timestamp` (their forks are scheduled by time, not number)."""
        try:
            return rules_at(self.config, 2**63, timestamp)
        except UnsupportedFork as exc:
            raise EngineError(UNSUPPORTED_FORK, f"timestamp {timestamp}: {exc}") from None

    def _require_fork(self, rules: ForkRules, method: str) -> None:
        if rules.fork not in SERVES[method]:
            raise EngineError(UNSUPPORTED_FORK, f"{method} does not serve {rules.name} payloads")

    # -- engine_newPayload ------------------------------------------------------------------------------------
    def engine_newPayloadV1(self, payload: Any) -> dict[str, Any]:
        p = parse_payload(payload)
        if p.version != 1:
            raise InvalidParams("withdrawals and blob gas fields are not supported in ExecutionPayloadV1")
        self._require_fork(self._fork(p.timestamp), "engine_newPayloadV1")
        return self._new_payload(p, None, None, None, bad_hash_status=INVALID_BLOCK_HASH)

    def engine_newPayloadV2(self, payload: Any) -> dict[str, Any]:
        p = parse_payload(payload)
        rules = self._fork(p.timestamp)
        self._require_fork(rules, "engine_newPayloadV2")
        if p.version == 3:
            raise InvalidParams("blobGasUsed and excessBlobGas are not supported before ExecutionPayloadV3")
        if rules.withdrawals and p.withdrawals is None:
            raise InvalidParams("a Shanghai payload must be ExecutionPayloadV2 (withdrawals missing)")
        if not rules.withdrawals and p.withdrawals is not None:
            raise InvalidParams("a payload before Shanghai must be ExecutionPayloadV1 (withdrawals given)")
        return self._new_payload(p, None, None, None)

    def _v3_params(self, payload: Any, hashes: Any, beacon_root: Any) -> tuple[ExecutionPayload, list[bytes], bytes]:
        p = parse_payload(payload)
        if p.version != 3:
            raise InvalidParams("ExecutionPayloadV3 required (blobGasUsed, excessBlobGas, withdrawals)")
        if not isinstance(hashes, list):
            raise InvalidParams("expectedBlobVersionedHashes must be an array")
        if beacon_root is None:
            raise InvalidParams("parentBeaconBlockRoot is required")
        return p, [T.hash32(h, 1) for h in hashes], T.hash32(beacon_root, 2)

    def engine_newPayloadV3(
        self, payload: Any, expected_blob_versioned_hashes: Any, parent_beacon_block_root: Any
    ) -> dict[str, Any]:
        p, hashes, root = self._v3_params(payload, expected_blob_versioned_hashes, parent_beacon_block_root)
        self._require_fork(self._fork(p.timestamp), "engine_newPayloadV3")
        return self._new_payload(p, hashes, root, None)

    def engine_newPayloadV4(
        self, payload: Any, expected_blob_versioned_hashes: Any, parent_beacon_block_root: Any, execution_requests: Any
    ) -> dict[str, Any]:
        p, hashes, root = self._v3_params(payload, expected_blob_versioned_hashes, parent_beacon_block_root)
        if execution_requests is None:
            raise InvalidParams("executionRequests is required")
        requests = parse_requests(execution_requests)
        self._require_fork(self._fork(p.timestamp), "engine_newPayloadV4")
        return self._new_payload(p, hashes, root, requests)

    def _mark_invalid(self, block_hash: bytes, latest_valid: bytes | None, error: str) -> dict[str, Any]:
        self.invalid[block_hash] = (latest_valid, error)
        while len(self.invalid) > INVALID_CACHE:
            self.invalid.popitem(last=False)
        log.info("invalid payload", hash="0x" + block_hash.hex(), error=error)
        return payload_status(INVALID, latest_valid, error)

    def _new_payload(
        self,
        p: ExecutionPayload,
        hashes: list[bytes] | None,
        beacon_root: bytes | None,
        requests: list[bytes] | None,
        bad_hash_status: str = INVALID,
    ) -> dict[str, Any]:
        h = p.block_hash
        if self.store.block_number(h) is not None:
            return payload_status(VALID, h)  # every stored block was validated
        if h in self.invalid:
            return payload_status(INVALID, *self.invalid[h])
        block, why = block_from_payload(p, beacon_root, requests)
        if block is None:
            why = why or "invalid payload"
            if why.startswith("blockhash mismatch"):
                return payload_status(bad_hash_status, None, "BlockException.INVALID_BLOCK_HASH: " + why)
            parent_known = self.store.block_number(p.parent_hash) is not None
            return self._mark_invalid(h, p.parent_hash if parent_known else None, why)
        if hashes is not None:
            actual = [vh for tx in block.transactions if tx.type == 3 for vh in tx.blob_versioned_hashes]
            if actual != hashes:
                return payload_status(
                    INVALID,
                    None,
                    f"invalid blob versioned hashes: the payload's transactions "
                    f"carry {len(actual)}, {len(hashes)} expected, or in another order",
                )
        if p.parent_hash in self.invalid:
            return self._mark_invalid(h, self.invalid[p.parent_hash][0], "links to a previously rejected block")
        if self.blockchain.header(p.parent_hash) is None:
            return payload_status(SYNCING)
        try:
            self.blockchain.import_block(block, set_head=False)
        except InvalidBlock as exc:
            return self._mark_invalid(h, p.parent_hash, f"{exc.code}: {exc}")
        log.debug(
            "payload imported",
            number=block.number,
            hash="0x" + h.hex(),
            txs=len(block.transactions),
            gas_used=block.header.gas_used,
        )
        return payload_status(VALID, h)

    # -- engine_forkchoiceUpdated -----------------------------------------------------------------------------
    def engine_forkchoiceUpdatedV1(self, state: Any, attributes: Any = None) -> dict[str, Any]:
        return self._forkchoice_updated(1, state, attributes)

    def engine_forkchoiceUpdatedV2(self, state: Any, attributes: Any = None) -> dict[str, Any]:
        return self._forkchoice_updated(2, state, attributes)

    def engine_forkchoiceUpdatedV3(self, state: Any, attributes: Any = None) -> dict[str, Any]:
        return self._forkchoice_updated(3, state, attributes)

    def _parse_attributes(self, version: int, obj: Any) -> PayloadAttributes:
        """PayloadAttributesV1/V2/V3 as forkchoiceUpdatedV`version` takes them (-32602 / -38005 otherwise)."""
        if not isinstance(obj, dict):
            raise InvalidParams("payloadAttributes must be an object or null")
        for name in ("timestamp", "prevRandao", "suggestedFeeRecipient"):
            if obj.get(name) is None:
                raise InvalidParams(f"missing required field '{name}' for PayloadAttributes")
        attrs = PayloadAttributes(
            T.quantity(obj["timestamp"], None, 64), T.hash32(obj["prevRandao"]), T.address(obj["suggestedFeeRecipient"])
        )
        has_withdrawals = obj.get("withdrawals") is not None
        has_root = obj.get("parentBeaconBlockRoot") is not None
        rules = self._fork(attrs.timestamp)
        method = f"engine_forkchoiceUpdatedV{version}"
        if version == 1:
            if has_withdrawals or has_root:
                raise InvalidParams("withdrawals and parentBeaconBlockRoot are not supported in PayloadAttributesV1")
            self._require_fork(rules, method)
        elif version == 2:
            self._require_fork(rules, method)
            if has_root:
                raise InvalidParams("parentBeaconBlockRoot is not supported in PayloadAttributesV2")
            if has_withdrawals != rules.withdrawals:
                raise InvalidParams("PayloadAttributesV2 (withdrawals) from Shanghai on, V1 before")
        else:
            if not has_withdrawals or not has_root:
                raise InvalidParams("PayloadAttributesV3 requires withdrawals and parentBeaconBlockRoot")
            self._require_fork(rules, method)
        if has_withdrawals:
            attrs.withdrawals = parse_withdrawals(obj["withdrawals"], "payloadAttributes.withdrawals")
        if has_root:
            attrs.parent_beacon_block_root = T.hash32(obj["parentBeaconBlockRoot"])
        return attrs

    def _in_chain_of(self, head: Any, block_hash: bytes) -> bool:
        """Whether the stored block `block_hash` is `head` or one of its ancestors."""
        target = self.blockchain.header(block_hash)
        if target is None:
            return False
        cur = head
        while cur.number > target.number:
            if self.store.canonical_hash(cur.number) == cur.hash:  # below here the ancestry is the canonical chain
                return self.store.canonical_hash(target.number) == block_hash
            cur = self.blockchain.header(cur.parent_hash)
            if cur is None:
                return False
        return cur.hash == block_hash

    def _forkchoice_updated(self, version: int, state: Any, attributes: Any) -> dict[str, Any]:
        if not isinstance(state, dict):
            raise InvalidParams("forkchoiceState must be an object")
        for name in ("headBlockHash", "safeBlockHash", "finalizedBlockHash"):
            if state.get(name) is None:
                raise InvalidParams(f"missing required field '{name}' for ForkchoiceStateV1")
        head_hash, safe, finalized = (
            T.hash32(state[n], 0) for n in ("headBlockHash", "safeBlockHash", "finalizedBlockHash")
        )
        attrs = self._parse_attributes(version, attributes) if attributes is not None else None

        def answer(status: dict[str, Any], payload_id: bytes | None = None) -> dict[str, Any]:
            return {"payloadStatus": status, "payloadId": None if payload_id is None else T.hb(payload_id)}

        if head_hash == ZERO_HASH:
            return answer(payload_status(INVALID, None, "forkchoice head is the zero hash"))
        if head_hash in self.invalid:
            return answer(payload_status(INVALID, *self.invalid[head_hash]))
        head = self.blockchain.header(head_hash)
        if head is None:
            return answer(payload_status(SYNCING))
        for name, h in (("finalized", finalized), ("safe", safe)):
            if h != ZERO_HASH and not self._in_chain_of(head, h):
                raise EngineError(INVALID_FORKCHOICE_STATE, f"{name} block 0x{h.hex()} is not in the head's chain")

        def set_safe_finalized(batch) -> None:
            self.store.set_safe_finalized(
                batch, None if safe == ZERO_HASH else safe, None if finalized == ZERO_HASH else finalized
            )

        current = self.store.head_hash()
        if head_hash != current and self.store.canonical_hash(head.number) == head_hash:
            # an ancestor of the canonical head: the spec lets the head stay and forbids building on it
            self.blockchain.move_head(current, set_safe_finalized)
            return answer(payload_status(VALID, head_hash))
        reorg = current is not None and head_hash != current and head.parent_hash != current
        orphaned = self._orphaned_transactions(current, head) if reorg else []
        self.blockchain.move_head(head_hash, set_safe_finalized)
        if head_hash != current:
            self._reset_pool(orphaned)
            log.info(
                "forkchoice updated", head=head.number, hash="0x" + head_hash.hex(), reorg=reorg, requeued=len(orphaned)
            )
        if attrs is None:
            return answer(payload_status(VALID, head_hash))
        if attrs.timestamp <= head.timestamp:
            raise EngineError(
                INVALID_PAYLOAD_ATTRIBUTES, f"timestamp {attrs.timestamp} not after the head's {head.timestamp}"
            )
        return answer(payload_status(VALID, head_hash), self.builder.start(head_hash, attrs, version))

    def _orphaned_transactions(self, old_hash: bytes, new_head: Any) -> list:
        """Transactions of the blocks a reorg to `new_head` takes off the canonical chain that the new chain
        does not hold (geth puts them back into the pool; so do we)."""
        old, new = self.blockchain.header(old_hash), new_head
        leaving, arriving = [], []
        while old is not None and new is not None and old.hash != new.hash:
            if old.number >= new.number:
                leaving.append(old)
                old = self.blockchain.header(old.parent_hash)
            else:
                arriving.append(new)
                new = self.blockchain.header(new.parent_hash)

        def txs(header) -> list:
            body = self.store.get_body_rlp(header.hash)
            return [] if body is None else Block.from_body_rlp(header, body).transactions

        kept = {tx.hash for h in arriving for tx in txs(h)}
        return [tx for h in reversed(leaving) for tx in txs(h) if tx.hash not in kept and tx.type != 3]

    def _reset_pool(self, requeue: list) -> None:
        """After a new head: drop what it included, put the orphaned transactions back (blob transactions
        cannot come back: their blobs left with them)."""
        from ..node.txpool import TxPoolError

        node = self.node
        node.pool.reset(node.pool_state())
        for tx in requeue:
            try:
                node.pool.add(tx, node.pool_state(), node.next_block_rules())
            except TxPoolError:
                pass  # already known, or no longer valid on the new chain (nonce used there, ...)
        node.tx_seq += bool(requeue)  # payload builds see the pool changed

    # -- engine_getPayload ------------------------------------------------------------------------------------
    def _job(self, payload_id: Any, version: int):
        job = self.builder.get(T.data(payload_id, 0, 8))
        if job is None:
            raise EngineError(UNKNOWN_PAYLOAD, f"no payload build process {payload_id}")
        self._require_fork(job.rules, f"engine_getPayloadV{version}")
        return job

    def engine_getPayloadV1(self, payload_id: Any) -> dict[str, Any]:
        return payload_to_json(self._job(payload_id, 1).block, 1)

    def engine_getPayloadV2(self, payload_id: Any) -> dict[str, Any]:
        job = self._job(payload_id, 2)
        return {
            "executionPayload": payload_to_json(job.block, 2 if job.rules.withdrawals else 1),
            "blockValue": T.hx(job.value),
        }

    def _payload_v3(self, job) -> dict[str, Any]:
        return {
            "executionPayload": payload_to_json(job.block, 3),
            "blockValue": T.hx(job.value),
            "blobsBundle": blobs_bundle(job.sidecars),
            "shouldOverrideBuilder": False,
        }

    def engine_getPayloadV3(self, payload_id: Any) -> dict[str, Any]:
        return self._payload_v3(self._job(payload_id, 3))

    def engine_getPayloadV4(self, payload_id: Any) -> dict[str, Any]:
        job = self._job(payload_id, 4)
        return {**self._payload_v3(job), "executionRequests": [T.hb(r) for r in job.requests]}

    def engine_getPayloadV5(self, payload_id: Any) -> dict[str, Any]:
        job = self._job(payload_id, 5)
        return {**self._payload_v3(job), "executionRequests": [T.hb(r) for r in job.requests]}

    # -- bodies ------------------------------------------------------------------------------------------------
    def _body(self, block_hash: bytes | None) -> dict[str, Any] | None:
        if block_hash is None:
            return None
        header, body = self.blockchain.header(block_hash), self.store.get_body_rlp(block_hash)
        if header is None or body is None:
            return None
        return body_to_json(Block.from_body_rlp(header, body))

    def engine_getPayloadBodiesByHashV1(self, hashes: Any) -> list[dict[str, Any] | None]:
        if not isinstance(hashes, list):
            raise InvalidParams("invalid argument 0: expected an array of block hashes")
        if len(hashes) > MAX_BODIES_REQUEST:
            raise EngineError(TOO_LARGE_REQUEST, f"{len(hashes)} bodies requested, at most {MAX_BODIES_REQUEST}")
        return [self._body(T.hash32(h, 0)) for h in hashes]

    def engine_getPayloadBodiesByRangeV1(self, start: Any, count: Any) -> list[dict[str, Any] | None]:
        first, n = T.quantity(start, 0, 64), T.quantity(count, 1, 64)
        if first < 1 or n < 1:
            raise InvalidParams(f"invalid start ({first}) or count ({n}): both must be at least 1")
        if n > MAX_BODIES_REQUEST:
            raise EngineError(TOO_LARGE_REQUEST, f"{n} bodies requested, at most {MAX_BODIES_REQUEST}")
        last = min(first + n - 1, self.store.head_header().number)
        return [self._body(self.store.canonical_hash(k)) for k in range(first, last + 1)]

    # -- blobs from the pool -----------------------------------------------------------------------------------
    def _blob_lookup(self, hashes: Any, version: int) -> list[tuple[BlobSidecar, int] | None]:
        if not isinstance(hashes, list):
            raise InvalidParams("invalid argument 0: expected an array of blob versioned hashes")
        if len(hashes) > MAX_BLOBS_REQUEST:
            raise EngineError(TOO_LARGE_REQUEST, f"{len(hashes)} blobs requested, at most {MAX_BLOBS_REQUEST}")
        wanted = [T.hash32(h, 0) for h in hashes]
        index: dict[bytes, tuple[BlobSidecar, int]] = {}
        for tx, sidecar in self.node.pool.sidecars():
            if isinstance(sidecar, BlobSidecar) and sidecar.version == version:
                for i, vh in enumerate(tx.blob_versioned_hashes):
                    index.setdefault(vh, (sidecar, i))
        return [index.get(vh) for vh in wanted]

    def engine_getBlobsV1(self, hashes: Any) -> list[dict[str, str] | None]:
        """BlobAndProofV1 of each versioned hash the pool holds (sidecars with one proof per blob), else null."""
        return [
            None if hit is None else {"blob": T.hb(hit[0].blobs[hit[1]]), "proof": T.hb(hit[0].proofs[hit[1]])}
            for hit in self._blob_lookup(hashes, 0)
        ]

    def engine_getBlobsV2(self, hashes: Any) -> list[dict[str, Any]] | None:
        """BlobAndProofV2 (cell proofs) of every hash, or null when the pool lacks any of them."""
        from evm.blobs import CELLS_PER_EXT_BLOB

        hits = self._blob_lookup(hashes, 1)
        if any(hit is None for hit in hits):
            return None
        out = []
        for hit in hits:
            assert hit is not None  # none is missing (checked above)
            sidecar, i = hit
            proofs = sidecar.proofs[i * CELLS_PER_EXT_BLOB : (i + 1) * CELLS_PER_EXT_BLOB]
            out.append({"blob": T.hb(sidecar.blobs[i]), "proofs": [T.hb(p) for p in proofs]})
        return out

    # -- identification --------------------------------------------------------------------------------------
    def engine_exchangeCapabilities(self, capabilities: Any) -> list[str]:
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            raise InvalidParams("invalid argument 0: expected an array of method names")
        return self.capabilities()

    def engine_getClientVersionV1(self, client_version: Any) -> list[dict[str, str]]:
        if not isinstance(client_version, dict):
            raise InvalidParams("invalid argument 0: expected a ClientVersionV1 object")
        log.info(
            "consensus client",
            **{k: str(v) for k, v in client_version.items() if k in ("code", "name", "version", "commit")},
        )
        return [dict(self.client_version)]
