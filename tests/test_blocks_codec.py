"""Blocks, withdrawals, receipts, blooms, ordered tries and the requests hash (client/blocks.py)."""

from __future__ import annotations

import glob
import json
import os
from hashlib import sha256

import pytest
import rlp
from eth_hash.auto import keccak
from trie import HexaryTrie

from client.blocks import (
    Block,
    BlockDecodeError,
    Receipt,
    Withdrawal,
    compute_requests_hash,
    logs_bloom,
    ordered_trie_root,
)
from client.header import EMPTY_REQUESTS_HASH
from common.constants import EMPTY_ROOT

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures", "blockchain_tests")


def _fixture_blocks():
    """(test name, block json) of every block in the vendored blockchain tests."""
    out = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "**", "*.json"), recursive=True)):
        for name, test in json.load(open(path)).items():
            for b in test["blocks"]:
                out.append((name, b))
    return out


def _bytes(s: str) -> bytes:
    return bytes.fromhex(s[2:])


def test_valid_fixture_blocks_round_trip():
    n = 0
    for name, b in _fixture_blocks():
        if "expectException" in b:
            continue
        raw = _bytes(b["rlp"])
        block = Block.decode(raw)
        assert block.encode() == raw, name
        assert "0x" + block.hash.hex() == b["blockHeader"]["hash"], name
        assert block.transactions_root() == block.header.transactions_root, name
        if block.withdrawals is not None:
            assert block.withdrawals_root() == block.header.withdrawals_root, name
        assert Block.from_body_rlp(block.header, block.body_rlp()).encode() == raw
        n += 1
    assert n >= 30


def test_decoded_transactions_and_withdrawals_match_the_fixture():
    seen_types = set()
    for name, b in _fixture_blocks():
        if "expectException" in b:
            continue
        block = Block.decode(_bytes(b["rlp"]))
        assert len(block.transactions) == len(b["transactions"])
        for tx, tj in zip(block.transactions, b["transactions"]):
            seen_types.add(tx.type)
            assert tx.nonce == int(tj["nonce"], 16)
            assert tx.recover_sender() == _bytes(tj["sender"]), name
        for w, wj in zip(block.withdrawals or [], b.get("withdrawals") or []):
            assert w == Withdrawal.from_json(wj)
    assert {0, 1, 2, 3} <= seen_types


def test_malformed_blocks_raise_block_decode_error():
    good = None
    for _, b in _fixture_blocks():
        if "expectException" not in b:
            good = _bytes(b["rlp"])
            break
    for bad in (b"", b"\x80", good[:-1], good + b"\x00", b"\xc0", rlp.encode([b"", [], []])):
        with pytest.raises(BlockDecodeError):
            Block.decode(bad)


def test_withdrawal_index_overflow_is_named():
    item = [(2**64).to_bytes(9, "big"), b"\x01", b"\x11" * 20, b"\x05"]
    with pytest.raises(BlockDecodeError) as exc:
        Withdrawal.from_rlp_list(item)
    assert exc.value.code == "RLP_INVALID_FIELD_OVERFLOW_64"
    w = Withdrawal(2**64 - 1, 3, b"\x11" * 20, 7)
    assert Withdrawal.from_rlp_list(rlp.decode(w.encode())) == w
    assert w.encode() == rlp.encode([2**64 - 1, 3, b"\x11" * 20, 7])


def _reference_bloom(logs) -> bytes:
    """execution-specs' bytearray algorithm."""
    bloom = bytearray(256)
    for address, topics, _ in logs:
        for entry in (address, *topics):
            h = keccak(entry)
            for idx in (0, 2, 4):
                bit = int.from_bytes(h[idx : idx + 2], "big") & 0x7FF
                bit_index = 0x7FF - bit
                bloom[bit_index // 8] |= 1 << (7 - bit_index % 8)
    return bytes(bloom)


def test_logs_bloom_matches_the_spec_algorithm():
    logs = [(keccak(bytes([i]))[:20], tuple(keccak(bytes([i, j])) for j in range(i % 5)), b"x" * i) for i in range(30)]
    assert logs_bloom(logs) == _reference_bloom(logs)
    assert logs_bloom([]) == b"\x00" * 256


def test_receipt_encoding_typed_and_legacy():
    logs = [(b"\x01" * 20, (b"\x02" * 32,), b"data")]
    r0 = Receipt.make(0, True, 21000, logs)
    assert r0.encode() == rlp.encode([1, 21000, logs_bloom(logs), [[b"\x01" * 20, [b"\x02" * 32], b"data"]]])
    r2 = Receipt.make(2, False, 50000, [])
    assert r2.encode() == b"\x02" + rlp.encode([b"", 50000, b"\x00" * 256, []])
    for r in (r0, r2):
        assert Receipt.decode(r.encode()) == r


def test_ordered_trie_root_matches_py_trie():
    for n in (0, 1, 2, 16, 17, 130, 300):
        values = [keccak(bytes([i % 256, i // 256])) * (1 + i % 3) for i in range(n)]
        t = HexaryTrie(db={})
        for i, v in enumerate(values):
            t[rlp.encode(i)] = v
        assert ordered_trie_root(values) == t.root_hash
    assert ordered_trie_root([]) == EMPTY_ROOT


def test_requests_hash():
    assert compute_requests_hash([]) == EMPTY_REQUESTS_HASH
    reqs = [b"\x00" + b"a" * 192, b"\x02" + b"b" * 116]
    assert compute_requests_hash(reqs) == sha256(b"".join(sha256(r).digest() for r in reqs)).digest()
