"""Signing with the dev keys (personal_sign, eth_sign, eth_signTypedData_v4, eth_signTransaction) and eth_getProof
(EIP-1186), on a real node with web3.py. Signatures are checked by recovering the signer; proofs are checked
against the blocks' state roots with py-trie's verifier (HexaryTrie.get_from_proof), not with our trie."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_hash.auto import keccak
from test_node_rpc import node_fixture
from trie import HexaryTrie
from web3 import Web3

ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
# runtime: SSTORE(calldata word 0 -> slot calldata word 1)... simpler: store CALLVALUE at slot CALLDATALOAD(0)
STORE = "0x" + "34600035" + "55" + "00"  # CALLVALUE PUSH1 0 CALLDATALOAD SSTORE STOP
TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person"},
            {"name": "contents", "type": "string"},
            {"name": "tags", "type": "string[]"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1337,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!",
        "tags": ["a", "b"],
    },
}


node = node_fixture()


@pytest.fixture(scope="module")
def w3(node):
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


def rpc(node, method, *params):
    return node.rpc(method, *params)


def test_personal_sign_and_eth_sign(node, w3):
    msg = b"hello evm-mlir"
    sig = rpc(node, "personal_sign", "0x" + msg.hex(), ALICE)["result"]
    assert len(bytes.fromhex(sig[2:])) == 65 and sig[-2:] in ("1b", "1c")
    assert Account.recover_message(encode_defunct(primitive=msg), signature=sig) == ALICE
    # text that is not hex is signed as its UTF-8 bytes (Hardhat, MetaMask)
    text = rpc(node, "personal_sign", "plain text", BOB)["result"]
    assert Account.recover_message(encode_defunct(text="plain text"), signature=text) == BOB
    # eth_sign (address first) signs the same EIP-191 message
    assert rpc(node, "eth_sign", ALICE, "0x" + msg.hex())["result"] == sig
    assert bytes(w3.eth.sign(ALICE, msg)).hex() == sig[2:]
    assert rpc(node, "personal_sign", "0x" + msg.hex(), "0x" + "12" * 20)["error"]["code"] == -32000


def test_sign_typed_data_v4(node):
    sig = rpc(node, "eth_signTypedData_v4", ALICE, TYPED)["result"]
    assert Account.recover_message(encode_typed_data(full_message=TYPED), signature=sig) == ALICE
    import json

    assert rpc(node, "eth_signTypedData_v4", ALICE, json.dumps(TYPED))["result"] == sig  # the JSON text form
    assert rpc(node, "eth_signTypedData_v4", ALICE, {"types": {}})["error"]["code"] == -32602
    bad = dict(TYPED, message={"from": {"name": "Cow"}})  # a field missing
    assert rpc(node, "eth_signTypedData_v4", ALICE, bad)["error"]["code"] == -32602


def test_sign_transaction_is_not_sent(node, w3):
    raw = rpc(node, "eth_signTransaction", {"from": ALICE, "to": BOB, "value": "0x2a"})["result"]
    assert Account.recover_transaction(raw) == ALICE
    tx = w3.eth.send_raw_transaction(raw)  # a valid transaction, sent by us, not by the node
    r = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    assert r.status == 1 and r["from"] == ALICE
    assert w3.eth.get_transaction(tx)["value"] == 42
    # an impersonated account without a key sends but cannot sign
    stranger = "0x" + "77" * 20
    rpc(node, "anvil_impersonateAccount", stranger)
    err = rpc(node, "eth_signTransaction", {"from": stranger, "to": BOB})["error"]
    assert err["code"] == -32000 and "impersonated" in err["message"]
    assert rpc(node, "personal_sign", "0x00", stranger)["error"]["code"] == -32000


def _verify_account(proof: dict, root: bytes, address: str) -> None:
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in proof["accountProof"]]
    value = HexaryTrie.get_from_proof(root, keccak(bytes.fromhex(address[2:])), nodes)
    if int(proof["nonce"], 16) == 0 and int(proof["balance"], 16) == 0 and value == b"":
        return  # proof of absence
    nonce, balance, storage_root, code_hash = rlp.decode(value)
    assert int.from_bytes(nonce, "big") == int(proof["nonce"], 16)
    assert int.from_bytes(balance, "big") == int(proof["balance"], 16)
    assert "0x" + storage_root.hex() == proof["storageHash"] and "0x" + code_hash.hex() == proof["codeHash"]
    for item in proof["storageProof"]:
        key = int(item["key"], 16).to_bytes(32, "big")
        slot_nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in item["proof"]]
        got = HexaryTrie.get_from_proof(storage_root, keccak(key), slot_nodes)
        assert (int.from_bytes(rlp.decode(got), "big") if got else 0) == int(item["value"], 16)


def test_get_proof_verified_against_state_roots(node, w3):
    deploy = "0x600a600c600039600a6000f3" + STORE[2:] + "00" * (10 - len(STORE[2:]) // 2)
    r = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": ALICE, "data": deploy}), timeout=30)
    contract = r.contractAddress
    blocks = []
    for slot, value in ((1, 11), (2, 22), (1, 33)):
        h = w3.eth.send_transaction(
            {
                "from": ALICE,
                "to": contract,
                "value": value,
                "gas": 100_000,
                "data": "0x" + slot.to_bytes(32, "big").hex(),
            }
        )
        blocks.append(w3.eth.wait_for_transaction_receipt(h, timeout=30).blockNumber)
    keys = ["0x1", "0x" + "00" * 31 + "02", "0x7"]  # a short key, a full one, an empty slot
    for n, want in zip(blocks, ({1: 11}, {1: 11, 2: 22}, {1: 33, 2: 22})):
        proof = rpc(node, "eth_getProof", contract, keys, hex(n))["result"]
        assert [int(p["value"], 16) for p in proof["storageProof"]] == [want.get(1, 0), want.get(2, 0), 0]
        assert [p["key"] for p in proof["storageProof"]] == keys
        _verify_account(proof, bytes(w3.eth.get_block(n)["stateRoot"]), contract)
    # accounts without storage, and one that does not exist, at the head and at genesis
    for address in (ALICE, BOB, "0x" + "99" * 20):
        for block in ("latest", "0x0"):
            proof = rpc(node, "eth_getProof", address, [], block)["result"]
            root = bytes(w3.eth.get_block(block if block == "latest" else 0)["stateRoot"])
            _verify_account(proof, root, address)
    absent = rpc(node, "eth_getProof", "0x" + "99" * 20, ["0x0"], "latest")["result"]
    assert absent["balance"] == "0x0" and absent["storageHash"] == "0x" + keccak(b"\x80").hex()
    assert absent["codeHash"] == "0x" + keccak(b"").hex() and absent["storageProof"][0]["proof"] == []
    # a proof that does not match the root fails py-trie's check
    proof = rpc(node, "eth_getProof", ALICE, [], "latest")["result"]
    with pytest.raises(Exception):  # noqa: B017  (py-trie raises several kinds for a bad proof)
        _verify_account(proof, bytes(w3.eth.get_block(0)["stateRoot"]), ALICE)
    assert rpc(node, "eth_getProof", ALICE, "0x1", "latest")["error"]["code"] == -32602
