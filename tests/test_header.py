"""Block header RLP: round trips for each fork's field set, strict decoding, fixture headers."""

from __future__ import annotations

import json
import os

import pytest
import rlp

from client.header import EMPTY_REQUESTS_HASH, Header, HeaderDecodeError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "blockchain")


def _headers():
    base = Header(number=5, gas_limit=30_000_000, timestamp=12, extra_data=b"x", difficulty=3)
    yield base
    yield base.copy(base_fee_per_gas=7)
    yield base.copy(base_fee_per_gas=7, withdrawals_root=b"\x01" * 32)
    yield base.copy(
        base_fee_per_gas=7,
        withdrawals_root=b"\x01" * 32,
        blob_gas_used=131072,
        excess_blob_gas=0,
        parent_beacon_block_root=b"\x02" * 32,
    )
    yield base.copy(
        base_fee_per_gas=7,
        withdrawals_root=b"\x01" * 32,
        blob_gas_used=0,
        excess_blob_gas=5,
        parent_beacon_block_root=b"\x02" * 32,
        requests_hash=EMPTY_REQUESTS_HASH,
    )


@pytest.mark.parametrize("header", list(_headers()))
def test_roundtrip(header):
    enc = header.encode()
    assert Header.decode(enc) == header
    assert len(rlp.decode(enc)) == 15 + sum(
        getattr(header, f) is not None
        for f in (
            "base_fee_per_gas",
            "withdrawals_root",
            "blob_gas_used",
            "excess_blob_gas",
            "parent_beacon_block_root",
            "requests_hash",
        )
    )
    assert Header.from_json(header.to_json()) == header
    assert Header.from_json(header.to_json(rpc=False)) == header


def test_hole_in_optional_fields_is_refused():
    with pytest.raises(ValueError):
        Header(withdrawals_root=b"\x00" * 32).encode()  # Shanghai field without London's base fee


def test_decode_is_strict():
    fields = Header(number=1).rlp_fields()
    fields[8] = b"\x00\x01"  # number with a leading zero byte
    with pytest.raises(HeaderDecodeError):
        Header.decode(rlp.encode(fields))
    fields = Header().rlp_fields()
    fields[2] = b"\x00" * 19  # 19-byte coinbase
    with pytest.raises(HeaderDecodeError):
        Header.decode(rlp.encode(fields))
    with pytest.raises(HeaderDecodeError):
        Header.decode(rlp.encode(fields[:14]))


def test_fixture_block_headers_hash():
    """Every valid block header in the vendored fixtures hashes to its `hash` and re-encodes to its RLP."""
    seen = 0
    for dirpath, _d, files in os.walk(FIXTURES):
        for f in files:
            for test in json.load(open(os.path.join(dirpath, f))).values():
                for block in test["blocks"]:
                    if "blockHeader" not in block:
                        continue
                    h = Header.from_json(block["blockHeader"])
                    assert "0x" + h.hash.hex() == block["blockHeader"]["hash"]
                    assert rlp.encode(rlp.decode(bytes.fromhex(block["rlp"][2:]))[0]) == h.encode()
                    assert Header.decode(h.encode()) == h
                    seen += 1
    assert seen >= 10


def test_header_integers_beyond_their_width_are_refused():
    import pytest

    from client.header import Header, HeaderDecodeError

    h = Header(number=1, gas_limit=30_000_000, timestamp=2**64 - 1, base_fee_per_gas=2**200, difficulty=2**255)
    assert Header.decode(h.encode()).timestamp == 2**64 - 1  # uint64 max and 256-bit fee/difficulty decode
    for field in ("timestamp", "number", "gas_limit", "gas_used"):
        bad = Header(number=1, gas_limit=30_000_000, base_fee_per_gas=7)
        setattr(bad, field, 2**64)
        with pytest.raises(HeaderDecodeError, match="64 bits"):
            Header.decode(bad.encode())
