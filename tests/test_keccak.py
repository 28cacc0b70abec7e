"""The fast keccak256 agrees with eth_hash, for any input and from several threads at once."""

from __future__ import annotations

import threading

from eth_hash.auto import keccak as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from common.keccak import keccak256


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_matches_eth_hash(data):
    assert keccak256(data) == reference(data)
    assert keccak256(bytearray(data)) == reference(data)


def test_threads_do_not_share_state():
    errors = []

    def work(seed: int) -> None:
        for i in range(2000):
            d = bytes([seed, i % 256]) * (i % 50)
            if keccak256(d) != reference(d):
                errors.append((seed, i))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
