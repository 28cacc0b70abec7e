"""The transaction pool on its own: admission rules with geth's messages, replacement, ordering."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from eth_hash.auto import keccak

from client.node.txpool import PoolRules, TxPool, TxPoolError
from evm.rules import RULES as FORK_RULES
from evm.spec import Fork
from evm.transactions import Transaction

KEYS = [bytes([i + 1]) * 32 for i in range(3)]
ADDRS = [keccak(PrivateKey(k).public_key.format(compressed=False)[1:])[12:] for k in KEYS]
RULES = PoolRules(chain_id=1337, fork_rules=FORK_RULES[Fork.OSAKA], base_fee=10, gas_limit=30_000_000)
TO = b"\xab" * 20


class View:
    def __init__(self, nonces=None, balances=None):
        self.nonces = nonces or {}
        self.balances = balances or {}

    def nonce(self, a):
        return self.nonces.get(a, 0)

    def balance(self, a):
        return self.balances.get(a, 10**18)


def tx(key=0, nonce=0, fee=100, tip=5, gas=21000, value=0, **kw) -> Transaction:
    return Transaction(
        type=2,
        chain_id=kw.pop("chain_id", 1337),
        nonce=nonce,
        max_fee_per_gas=fee,
        max_priority_fee_per_gas=tip,
        gas=gas,
        to=TO,
        value=value,
        **kw,
    ).sign(KEYS[key])


def refused(pool, t, view=None, rules=RULES) -> str:
    with pytest.raises(TxPoolError) as exc:
        pool.add(t, view or View(), rules)
    return str(exc.value)


def test_admission_messages():
    pool = TxPool()
    view = View(nonces={ADDRS[0]: 3}, balances={ADDRS[1]: 1000})
    assert refused(pool, tx(nonce=2), view).startswith("nonce too low")
    assert refused(pool, tx(key=1), view).startswith("insufficient funds for gas * price + value")
    assert refused(pool, tx(gas=20999)).startswith("intrinsic gas too low")
    assert refused(pool, tx(fee=9, tip=1)).startswith("max fee per gas less than block base fee")
    assert refused(pool, tx(fee=10, tip=11)) == "max priority fee per gas higher than max fee per gas"
    assert refused(pool, tx(chain_id=1)).startswith("invalid chain id for signer")
    assert refused(pool, tx(gas=2**24 + 1)).startswith("transaction gas limit too high")
    assert refused(pool, tx(gas=30_000_001)) == "exceeds block gas limit"
    legacy = Transaction(type=0, chain_id=1337, nonce=0, gas_price=5, gas=21000, to=TO).sign(KEYS[0])
    assert refused(pool, legacy).startswith("gas price less than block base fee")
    t = tx()
    pool.add(t, View(), RULES)
    assert refused(pool, t) == "already known"
    assert len(pool) == 1 and pool.get(t.hash) is t


def test_cumulative_balance_of_a_senders_run():
    pool = TxPool()
    cost = 21000 * 100 + 10
    view = View(balances={ADDRS[0]: 2 * cost})
    pool.add(tx(nonce=0, value=10), view, RULES)
    pool.add(tx(nonce=1, value=10), view, RULES)
    assert refused(pool, tx(nonce=2, value=10), view).startswith("insufficient funds")


def test_replacement_needs_ten_percent_on_fee_cap_and_tip():
    pool = TxPool()
    old = tx(fee=100, tip=10)
    pool.add(old, View(), RULES)
    assert refused(pool, tx(fee=109, tip=20)) == "replacement transaction underpriced"
    assert refused(pool, tx(fee=200, tip=10)) == "replacement transaction underpriced"
    new = tx(fee=110, tip=11)
    pool.add(new, View(), RULES)
    assert len(pool) == 1 and pool.get(old.hash) is None and pool.get(new.hash) is new


def test_pending_and_queued_and_order():
    pool = TxPool()
    view = View()
    a0 = tx(key=0, nonce=0, tip=1)
    a1 = tx(key=0, nonce=1, tip=50)
    a3 = tx(key=0, nonce=3, tip=50)  # gap at 2: queued
    b0 = tx(key=1, nonce=0, tip=5)
    c0 = tx(key=2, nonce=0, tip=5)
    for t in (a0, a1, a3, b0, c0):
        pool.add(t, view, RULES)
    assert pool.next_nonce(ADDRS[0], 0) == 2
    assert pool.queued_count(view) == 1
    order = [t for _, t in pool.ordered(view, RULES.base_fee)]
    # by effective tip, ties by arrival, each sender in nonce order; the queued one is not offered
    assert order == [b0, c0, a0, a1]
    # after a block included a0 and a1 (state nonce 2), a3 still waits for nonce 2
    view.nonces[ADDRS[0]] = 2
    pool.remove(a0.hash)
    pool.remove(a1.hash)
    pool.reset(view)
    assert [t for _, t in pool.ordered(view, RULES.base_fee) if t.sender == ADDRS[0]] == []
    filler = tx(key=0, nonce=2)
    pool.add(filler, view, RULES)
    assert [t for _, t in pool.ordered(view, RULES.base_fee) if t.sender == ADDRS[0]] == [filler, a3]
    # a new head past a sender's nonces drops them
    view.nonces[ADDRS[0]] = 4
    pool.reset(view)
    assert pool.get(filler.hash) is None and pool.get(a3.hash) is None
    pending, queued = pool.content(view)
    assert set(pending) == {ADDRS[1], ADDRS[2]} and queued == {}
