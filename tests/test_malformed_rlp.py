"""Malformed transaction RLP (property tests): `evm.transactions.decode_transaction` raises only
ValueError, never another exception, and what it accepts is a well-formed Transaction (it
re-encodes, and its fields have the types the processor relies on)."""

from __future__ import annotations

import os

import rlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evm.transactions import Authorization, Transaction, decode_transaction

N = int(os.environ.get("HYP_N", 0))  # HYP_N=3000: more examples, not derandomized, to hunt
SETTINGS = settings(
    max_examples=N or 400, deadline=None, derandomize=not N, suppress_health_check=[HealthCheck.too_slow]
)

KEY = b"\x42" * 32


def _samples() -> list[bytes]:
    to = b"\x11" * 20
    al = ((b"\x22" * 20, (1, 2)),)
    txs = [
        Transaction(0, 1, 1, 10, 0, 0, 21000, to, 5, b"\x01\x02"),
        Transaction(0, None, 1, 10, 0, 0, 21000, None, 5, b"\x60\x00"),
        Transaction(1, 1, 2, 10, 0, 0, 30000, to, 0, b"", al),
        Transaction(2, 1, 3, 0, 1, 10, 30000, to, 0, b"\xff" * 40, al),
        Transaction(3, 1, 4, 0, 1, 10, 30000, to, 0, b"", al, 7, (b"\x01" + b"\x33" * 31,)),
        Transaction(
            4, 1, 5, 0, 1, 10, 30000, to, 0, b"", al, authorizations=(Authorization(1, b"\x44" * 20, 0, 1, 5, 6),)
        ),
    ]
    return [t.sign(KEY).encode() for t in txs]


SAMPLES = _samples()


def check(raw: bytes) -> None:
    try:
        tx = decode_transaction(raw)
    except ValueError:
        return
    # accepted: a well-formed transaction
    assert isinstance(tx, Transaction)
    assert tx.type in (0, 1, 2, 3, 4)
    for name in (
        "nonce",
        "gas_price",
        "max_priority_fee_per_gas",
        "max_fee_per_gas",
        "gas",
        "value",
        "max_fee_per_blob_gas",
        "v",
        "r",
        "s",
    ):
        assert isinstance(getattr(tx, name), int), name
    assert tx.to is None or (isinstance(tx.to, bytes) and len(tx.to) == 20)
    assert isinstance(tx.data, bytes)
    for addr, slots in tx.access_list:
        assert isinstance(addr, bytes) and len(addr) == 20 and all(isinstance(s, int) for s in slots)
    assert all(isinstance(h, bytes) for h in tx.blob_versioned_hashes)
    for a in tx.authorizations:
        assert isinstance(a.address, bytes) and len(a.address) == 20
        assert all(isinstance(x, int) for x in (a.chain_id, a.nonce, a.y_parity, a.r, a.s))
    assert decode_transaction(tx.encode()) == tx


def test_samples_roundtrip():
    for raw in SAMPLES:
        check(raw)
        assert decode_transaction(raw).encode() == raw


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw):
    check(raw)


@SETTINGS
@given(st.sampled_from(range(len(SAMPLES))), st.data())
def test_mutated_valid_encodings(i, data):
    raw = bytearray(SAMPLES[i])
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "type"]))
        if not raw:
            break
        pos = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "truncate":
            del raw[pos:]
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del raw[pos : pos + data.draw(st.integers(1, 8))]
        else:
            raw[0] = data.draw(st.integers(0, 255))
    check(bytes(raw))


# RLP structures of the right shape but with wrong element types (lists where bytes are
# expected and vice versa), wrong lengths and non-canonical integers.
_leaf = st.one_of(
    st.binary(max_size=40),
    st.just(b""),
    st.just(b"\x00"),
    st.just(b"\x00\x01"),
    st.just(b"\x11" * 20),
    st.just(b"\x01" + b"\x33" * 31),
)
_item = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=6), max_leaves=20)


@SETTINGS
@given(st.sampled_from([0, 1, 2, 3, 4, 7, 0x7F]), st.lists(_item, min_size=0, max_size=15))
def test_structured_garbage(ttype, fields):
    payload = rlp.encode(fields)
    check(payload if ttype == 0 else bytes([ttype]) + payload)


@SETTINGS
@given(st.sampled_from(range(len(SAMPLES))), st.data())
def test_one_field_replaced(i, data):
    raw = SAMPLES[i]
    typed = raw[0] < 0xC0
    fields = rlp.decode(raw[1:] if typed else raw)
    j = data.draw(st.integers(0, len(fields) - 1))
    fields[j] = data.draw(_item)
    payload = rlp.encode(fields)
    check(bytes([raw[0]]) + payload if typed else payload)


def test_deeply_nested_list_is_a_value_error():
    raw = b"\x02" + b"\xc1" * 5000 + b"\xc0"
    check(raw)


def test_regressions_lists_where_bytes_belong_are_rejected():
    """Found by test_one_field_replaced: decode_transaction used to accept a list as `data`, an
    empty list as an integer (0), non-32-byte blob hashes and authorizations with any address
    length -- transactions that then crashed the processor (e.g. TypeError in intrinsic gas)."""
    import pytest

    legacy = rlp.decode(SAMPLES[0])
    blob = rlp.decode(SAMPLES[4][1:])
    setcode = rlp.decode(SAMPLES[5][1:])
    bad = []
    f = list(legacy)
    f[5] = []
    bad.append(rlp.encode(f))  # data = []
    f = list(legacy)
    f[0] = []
    bad.append(rlp.encode(f))  # nonce = []
    f = list(blob)
    f[10] = [b"\x01" * 5]
    bad.append(b"\x03" + rlp.encode(f))  # 5-byte blob hash
    f = list(blob)
    f[10] = [[b"\x01" * 32]]
    bad.append(b"\x03" + rlp.encode(f))  # list as blob hash
    f = list(setcode)
    f[9] = [[f[9][0][0], b"\x44" * 19] + f[9][0][2:]]
    bad.append(b"\x04" + rlp.encode(f))
    f = list(setcode)
    f[9] = [f[9][0][:5]]
    bad.append(b"\x04" + rlp.encode(f))  # 5-field authorization
    f = list(setcode)
    f[8] = [[b"\x22" * 20, b"\x01" * 32]]
    bad.append(b"\x04" + rlp.encode(f))  # slots not a list
    for raw in bad:
        with pytest.raises(ValueError):
            decode_transaction(raw)
