"""Our RLP codec gives the rlp package's bytes and decodings, and refuses non-canonical input."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from common import rlp as rlpcodec

items = st.recursive(st.binary(max_size=70) | st.integers(0, 2**300), lambda c: st.lists(c, max_size=6), max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(items)
def test_same_as_rlp_package(x):
    enc = rlpcodec.encode(x)
    assert enc == rlp.encode(x)
    assert rlpcodec.decode(enc) == rlp.decode(enc)


@pytest.mark.parametrize(
    "bad", [b"\x81\x01", b"\xb8\x01a", b"\x82a", b"\xc2\x01", b"\x01\x02", b"", b"\xb9\x00\x40" + b"a" * 64]
)
def test_rejects_malformed(bad):
    with pytest.raises(rlpcodec.DecodingError):
        rlpcodec.decode(bad)
