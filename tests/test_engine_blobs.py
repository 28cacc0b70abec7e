"""Blobs through the Engine API: blob transactions submitted with their sidecars land in the payloads built
for the consensus client, with a blobs bundle the KZG library (ckzg) verifies: one proof per blob (Cancun's
getPayloadV3, getBlobsV1), cell proofs from Osaka on (getPayloadV5, getBlobsV2)."""

from __future__ import annotations

import hashlib

import ckzg
import pytest
import rlp
from engine_driver import KEY0, BackgroundEngineServer, EngineNode, attributes, dev_genesis, forkchoice

from evm.transactions import Transaction


@pytest.fixture(scope="module")
def kzg():
    """The mainnet trusted setup, as eth-account ships it (a test dependency)."""
    import eth_account.typed_transactions.base as eth_account_blobs

    return ckzg.load_trusted_setup(eth_account_blobs.TRUSTED_SETUP, 0)


@pytest.fixture(scope="module")
def server():
    srv = BackgroundEngineServer()
    yield srv
    srv.close()


def _blob(seed: int) -> bytes:
    """A blob of field elements below the BLS modulus (first byte of each 32 zero)."""
    out = bytearray()
    for i in range(4096):
        out += b"\x00" + hashlib.sha256(bytes([seed]) + i.to_bytes(4, "big")).digest()[1:]
    return bytes(out)


def _blob_tx(kzg, nonce: int, blobs: list[bytes], cell_proofs: bool) -> tuple[str, list[bytes]]:
    """A type-3 transaction in its network form: sidecar version 0 (a proof per blob) or 1 (cell proofs)."""
    commitments = [ckzg.blob_to_kzg_commitment(b, kzg) for b in blobs]
    hashes = [b"\x01" + hashlib.sha256(c).digest()[1:] for c in commitments]
    tx = Transaction(
        type=3,
        chain_id=1337,
        nonce=nonce,
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=10**11,
        gas=21000,
        to=bytes.fromhex("ab" * 20),
        max_fee_per_blob_gas=10**10,
        blob_versioned_hashes=tuple(hashes),
    ).sign(bytes.fromhex(KEY0[2:]))
    if cell_proofs:
        proofs = [p for b in blobs for p in ckzg.compute_cells_and_kzg_proofs(b, kzg)[1]]
        wrapper = [tx._payload(True), 1, blobs, commitments, proofs]
    else:
        proofs = [ckzg.compute_blob_kzg_proof(b, c, kzg) for b, c in zip(blobs, commitments)]
        wrapper = [tx._payload(True), blobs, commitments, proofs]
    return "0x" + (b"\x03" + rlp.encode(wrapper)).hex(), hashes


def _h(b: bytes) -> str:
    return "0x" + b.hex()


def _b(s: str) -> bytes:
    return bytes.fromhex(s[2:])


def test_cancun_blobs_bundle_and_get_blobs_v1(server, kzg):
    node = EngineNode(dev_genesis(pragueTime=10**10, osakaTime=2 * 10**10), server)
    try:
        blobs = [_blob(1), _blob(2)]
        raw, hashes = _blob_tx(kzg, 0, blobs, cell_proofs=False)
        node.ok("eth_sendRawTransaction", raw)
        got = node.ok("engine_getBlobsV1", [_h(hashes[1]), "0x01" + "00" * 31, _h(hashes[0])])
        assert got[1] is None and _b(got[0]["blob"]) == blobs[1] and _b(got[2]["blob"]) == blobs[0]
        commitment = ckzg.blob_to_kzg_commitment(blobs[1], kzg)
        assert ckzg.verify_blob_kzg_proof(blobs[1], commitment, _b(got[0]["proof"]), kzg)
        assert node.ok("engine_getBlobsV2", [_h(hashes[0])]) is None  # no cell proofs for this sidecar
        head = node.head()
        pid = node.ok(
            "engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(int(head["timestamp"], 16) + 12)
        )["payloadId"]
        built = node.ok("engine_getPayloadV3", pid)
        bundle = built["blobsBundle"]
        assert [_b(b) for b in bundle["blobs"]] == blobs and len(bundle["proofs"]) == 2
        assert ckzg.verify_blob_kzg_proof_batch(
            b"".join(blobs),
            b"".join(_b(c) for c in bundle["commitments"]),
            b"".join(_b(p) for p in bundle["proofs"]),
            kzg,
        )
        p = built["executionPayload"]
        assert int(p["blobGasUsed"], 16) == 2 * 2**17
        status = node.ok("engine_newPayloadV3", p, [_h(h) for h in hashes], "0x" + "be" * 32)
        assert status["status"] == "VALID"
        # the versioned hashes the consensus client expects must be the transactions' (order included)
        node2 = EngineNode(dev_genesis(pragueTime=10**10, osakaTime=2 * 10**10), server)
        try:
            s = node2.ok("engine_newPayloadV3", p, [_h(h) for h in reversed(hashes)], "0x" + "be" * 32)
            assert s["status"] == "INVALID" and s["latestValidHash"] is None
        finally:
            node2.close()
    finally:
        node.close()


def test_osaka_cell_proofs_bundle_and_get_blobs_v2(server, kzg):
    node = EngineNode(dev_genesis(), server)
    try:
        blobs = [_blob(3)]
        # a version-0 sidecar cannot go into an Osaka payload: its blobs have no cell proofs to hand out
        old, _ = _blob_tx(kzg, 0, [_blob(4)], cell_proofs=False)
        node.ok("eth_sendRawTransaction", old)
        head = node.head()
        pid = node.ok(
            "engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(int(head["timestamp"], 16) + 12)
        )["payloadId"]
        assert node.ok("engine_getPayloadV5", pid)["executionPayload"]["transactions"] == []
    finally:
        node.close()
    node = EngineNode(dev_genesis(), server)
    try:
        raw, hashes = _blob_tx(kzg, 0, blobs, cell_proofs=True)
        node.ok("eth_sendRawTransaction", raw)
        got = node.ok("engine_getBlobsV2", [_h(hashes[0])])
        assert _b(got[0]["blob"]) == blobs[0] and len(got[0]["proofs"]) == 128
        assert node.ok("engine_getBlobsV2", [_h(hashes[0]), "0x01" + "00" * 31]) is None  # one missing: null
        assert node.ok("engine_getBlobsV1", [_h(hashes[0])]) == [None]
        head = node.head()
        pid = node.ok(
            "engine_forkchoiceUpdatedV3", forkchoice(head["hash"]), attributes(int(head["timestamp"], 16) + 12)
        )["payloadId"]
        built = node.ok("engine_getPayloadV5", pid)
        bundle = built["blobsBundle"]
        assert len(bundle["blobs"]) == 1 and len(bundle["proofs"]) == 128
        cells, _ = ckzg.compute_cells_and_kzg_proofs(blobs[0], kzg)
        commitment = _b(bundle["commitments"][0])
        assert ckzg.verify_cell_kzg_proof_batch(
            [commitment] * 128, list(range(128)), cells, [_b(p) for p in bundle["proofs"]], kzg
        )
        p = built["executionPayload"]
        assert node.ok("engine_newPayloadV4", p, [_h(hashes[0])], "0x" + "be" * 32, [])["status"] == "VALID"
        node.ok("engine_forkchoiceUpdatedV3", forkchoice(p["blockHash"]), None)
        # included: gone from the pool, so getBlobs no longer has it
        assert node.ok("engine_getBlobsV2", [_h(hashes[0])]) is None
    finally:
        node.close()
