"""Transaction codec and sender recovery against the signed transactions of the vendored state tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evm.processor import InvalidTransaction, intrinsic_gas, validate_transaction
from evm.rules import RULES
from evm.spec import Fork
from evm.transactions import Authorization, Transaction, decode_transaction

FIXTURES = Path(__file__).parent / "fixtures" / "state_tests"


def _signed_cases():
    for path in sorted(FIXTURES.rglob("*.json")):
        for name, test in json.loads(path.read_text()).items():
            sender = bytes.fromhex(test["transaction"]["sender"][2:])
            for _fork, cases in test["post"].items():
                for case in cases:
                    yield name, bytes.fromhex(case["txbytes"][2:]), sender, case.get("expectException")


def test_decode_reencode_and_recover_every_vendored_transaction():
    seen_types = set()
    count = 0
    for name, raw, sender, expect in _signed_cases():
        try:
            tx = decode_transaction(raw)
        except ValueError:
            assert expect, f"{name}: a valid transaction failed to decode"
            continue
        assert tx.encode() == raw, name
        assert tx.recover_sender() == sender, name
        seen_types.add(tx.type)
        count += 1
    assert count > 100
    assert seen_types >= {0, 1, 2, 3, 4}


def test_sign_then_recover_roundtrip():
    key = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    for t in range(5):
        tx = Transaction(
            type=t,
            chain_id=1337,
            nonce=3,
            gas_price=10,
            max_fee_per_gas=10,
            gas=50000,
            to=b"\x11" * 20,
            value=5,
            data=b"\x01\x00",
            blob_versioned_hashes=(b"\x01" + b"\x00" * 31,) if t == 3 else (),
            authorizations=(Authorization(1337, b"\x22" * 20, 0, 0, 1, 1),) if t == 4 else (),
        )
        tx.sign(key)
        again = decode_transaction(tx.encode())
        assert again.recover_sender() == bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
        assert again.hash == tx.hash


def test_intrinsic_gas_and_calldata_floor():
    tx = Transaction(type=2, gas=100000, to=b"\x01" * 20, data=b"\x00\x01\x02", access_list=((b"\x02" * 20, (1, 2)),))
    gas, floor = intrinsic_gas(tx, RULES[Fork.PRAGUE])
    assert gas == 21000 + 4 + 16 * 2 + 2400 + 2 * 1900
    assert floor == 21000 + 10 * (1 + 4 * 2)
    create = Transaction(type=2, gas=100000, to=None, data=b"\x01" * 33)
    assert intrinsic_gas(create, RULES[Fork.SHANGHAI])[0] == 21000 + 32000 + 33 * 16 + 2 * 2
    assert intrinsic_gas(create, RULES[Fork.PARIS])[0] == 21000 + 32000 + 33 * 16


@pytest.mark.parametrize(
    "fork,gas,ok", [(Fork.PRAGUE, 2**24 + 1, True), (Fork.OSAKA, 2**24 + 1, False), (Fork.OSAKA, 2**24, True)]
)
def test_eip7825_gas_cap(fork, gas, ok):
    tx = Transaction(type=2, gas=gas, to=b"\x01" * 20)
    if ok:
        validate_transaction(tx, RULES[fork])
    else:
        with pytest.raises(InvalidTransaction) as err:
            validate_transaction(tx, RULES[fork])
        assert err.value.code == "GAS_LIMIT_EXCEEDS_MAXIMUM"


def test_simulated_call_may_come_from_a_contract():
    from evm.message import BlockEnv
    from evm.processor import BlockContext, process_transaction
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    contract = b"\xc0" * 20
    db = StateDB(MemoryStore())
    db.commit_alloc({contract: (1, 10**18, b"\x00", {})})
    tx = Transaction(type=2, chain_id=1, nonce=1, max_fee_per_gas=10, gas=30000, to=b"\x01" * 20, sender=contract)
    ctx = BlockContext(BlockEnv(Fork.OSAKA, base_fee=7))
    with pytest.raises(InvalidTransaction) as err:
        process_transaction(tx, JournaledState(db), ctx)
    assert err.value.code == "SENDER_NOT_EOA"
    result = process_transaction(tx, JournaledState(db), ctx, skip_account_checks=True)
    assert result.status == "success" and result.gas_used == 21000


@pytest.mark.parametrize("fork,ok", [(Fork.CANCUN, False), (Fork.PRAGUE, True), (Fork.OSAKA, True)])
def test_delegated_sender_is_an_eoa_only_from_prague(fork, ok):
    """EIP-3607 rejects a sender with code; EIP-7702 (Prague) exempts a delegation designator. Before
    Prague the designator is just code (found by the fuzzer against the executable spec: seed 20261125,
    case 772, InvalidSenderError at Cancun)."""
    from evm.message import BlockEnv
    from evm.processor import BlockContext, process_transaction
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    sender = b"\xd0" * 20
    db = StateDB(MemoryStore())
    db.commit_alloc({sender: (1, 10**18, b"\xef\x01\x00" + b"\x04" + b"\x00" * 18 + b"\x04", {})})
    tx = Transaction(type=2, chain_id=1, nonce=1, max_fee_per_gas=10, gas=30000, to=b"\x01" * 20, sender=sender)
    ctx = BlockContext(BlockEnv(fork, base_fee=7))
    if ok:
        assert process_transaction(tx, JournaledState(db), ctx).status == "success"
    else:
        with pytest.raises(InvalidTransaction) as err:
            process_transaction(tx, JournaledState(db), ctx)
        assert err.value.code == "SENDER_NOT_EOA"
