"""Integration tests: the real `evm-mlir node` process on a free loopback port, driven with web3.py and raw
HTTP. One node serves the whole module (tests run in file order and build on each other's chain); the last
test restarts it on the same datadir."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

ROOT = Path(__file__).resolve().parent.parent
GENESIS = ROOT / "genesis" / "dev.json"
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
# the node's default backend (tiered) unless EVM_MLIR_TEST_EVM names another
EVM = os.environ.get("EVM_MLIR_TEST_EVM")

CONTRACT = """
# pragma version ^0.4.0
event Stored:
    sender: indexed(address)
    value: uint256

value: public(uint256)
owner: public(address)

@deploy
def __init__(initial: uint256):
    self.value = initial
    self.owner = msg.sender

@external
def store(v: uint256):
    assert v != 13, "unlucky"
    self.value = v
    log Stored(sender=msg.sender, value=v)
"""


def _command() -> list[str]:
    script = Path(sys.executable).parent / "evm-mlir"
    return [str(script)] if script.exists() else [sys.executable, "-m", "client.cli"]


class NodeProcess:
    def __init__(self, datadir: str, extra: list[str] | None = None) -> None:
        self.datadir = datadir
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.banner = ""

    def start(self) -> None:
        self.stderr = open(os.path.join(os.path.dirname(self.datadir), "node.log"), "ab")
        self.proc = subprocess.Popen(
            _command()
            + [
                "node",
                "--genesis",
                str(GENESIS),
                "--datadir",
                self.datadir,
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                "0",
            ]
            + (["--evm", EVM] if EVM else [])
            + self.extra,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=ROOT,
        )
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(timeout=10)
                self.stderr.close()
                log = Path(self.stderr.name).read_text()[-3000:]
                raise RuntimeError(f"node exited early ({self.proc.poll()}): {''.join(lines)}\n{log}")
            lines.append(line)
            m = re.match(r"Listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                self.banner = "".join(lines)
                return
        raise RuntimeError("node did not start in time")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        return code

    def rpc(self, method: str, *params):
        r = requests.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
        )
        return r.json()


def node_fixture(extra: list[str] | None = None):
    """A module-scoped fixture: one node on a fresh datadir for the whole module, stopped at its end."""

    @pytest.fixture(scope="module")
    def node():
        tmp = tempfile.mkdtemp(prefix="evm-mlir-node-")
        n = NodeProcess(os.path.join(tmp, "data"), extra)
        n.start()
        yield n
        if n.proc is not None and n.proc.poll() is None:
            n.stop()
        if os.environ.get("EVM_MLIR_KEEP_NODE_LOG"):
            print(Path(tmp, "node.log").read_text()[-20000:])
        shutil.rmtree(tmp, ignore_errors=True)

    return node


node = node_fixture()


@pytest.fixture(scope="module")
def w3(node):
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def compiled():
    import vyper

    out = vyper.compile_code(CONTRACT, output_formats=["bytecode", "abi"])
    return out["abi"], out["bytecode"]


STATE: dict = {}


def _send(w3, acct, **tx):
    tx.setdefault("chainId", 1337)
    tx.setdefault("nonce", w3.eth.get_transaction_count(acct.address, "pending"))
    tx.setdefault("maxFeePerGas", 10 * 10**9)
    tx.setdefault("maxPriorityFeePerGas", 10**9)
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(
            {k: v for k, v in tx.items() if k in ("to", "value", "data")} | {"from": acct.address}
        )
    signed = acct.sign_transaction(tx)
    h = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(h, timeout=30)


def test_banner_and_basics(node, w3):
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in node.banner
    assert KEY0 in node.banner
    assert node.url.startswith("http://127.0.0.1:")
    assert w3.eth.chain_id == 1337
    assert w3.net.version == "1337"
    assert w3.net.listening is True
    assert w3.eth.syncing is False
    assert w3.client_version.startswith("evm-mlir/")
    assert w3.eth.block_number == 0
    accounts = w3.eth.accounts
    assert len(accounts) == 10 and accounts[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert w3.eth.get_balance(accounts[0]) == 10_000 * 10**18
    genesis = w3.eth.get_block(0)
    assert genesis["number"] == 0 and genesis["baseFeePerGas"] == 10**9
    assert w3.eth.get_block("earliest")["hash"] == genesis["hash"]
    for tag in ("latest", "pending", "safe", "finalized"):
        assert w3.eth.get_block(tag)["number"] == 0
    # system contract code from the dev genesis (EIP-4788)
    assert len(w3.eth.get_code("0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02")) > 0
    assert w3.eth.gas_price > 10**9 // 2
    assert w3.eth.max_priority_fee > 0
    assert w3.eth.blob_base_fee >= 1


def test_ether_transfer(node, w3):
    acct = Account.from_key(KEY0)
    to = Web3.to_checksum_address("0x" + "ab" * 20)
    before = w3.eth.get_balance(acct.address)
    receipt = _send(w3, acct, to=to, value=12345)
    assert receipt.status == 1 and receipt.gasUsed == 21000
    assert w3.eth.get_balance(to) == 12345
    assert w3.eth.get_balance(to, block_identifier=0) == 0
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(acct.address) == before - 12345 - fee
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block.transactions[0]["hash"] == receipt.transactionHash
    assert block["baseFeePerGas"] < 10**9  # 21000 gas of 30M: the base fee falls as on mainnet
    tx = w3.eth.get_transaction(receipt.transactionHash)
    assert tx["from"] == acct.address and tx["to"] == to and tx["value"] == 12345
    assert w3.eth.get_transaction_count(acct.address) == tx["nonce"] + 1
    assert w3.eth.get_block_transaction_count(receipt.blockNumber) == 1
    assert w3.eth.get_block_transaction_count(receipt.blockHash) == 1
    assert w3.eth.get_block_receipts(receipt.blockNumber)[0]["transactionHash"] == receipt.transactionHash
    # eth_sendTransaction: the node signs for its dev accounts
    h = w3.eth.send_transaction({"from": w3.eth.accounts[1], "to": to, "value": 5})
    assert w3.eth.wait_for_transaction_receipt(h, timeout=30).status == 1
    assert w3.eth.get_balance(to) == 12350
    STATE["to"] = to


def test_contract_deploy_call_and_logs(node, w3, compiled):
    abi, bytecode = compiled
    acct = Account.from_key(KEY0)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    deploy = factory.constructor(7).build_transaction(
        {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address), "chainId": 1337}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(acct.sign_transaction(deploy).raw_transaction), timeout=30
    )
    assert receipt.status == 1 and receipt.contractAddress
    c = w3.eth.contract(address=receipt.contractAddress, abi=abi)
    assert c.functions.value().call() == 7
    assert c.functions.owner().call() == acct.address
    assert w3.eth.get_storage_at(c.address, 0) == (7).to_bytes(32, "big")

    r1 = _send(w3, acct, to=c.address, data=c.functions.store(42)._encode_transaction_data())
    assert r1.status == 1
    assert c.functions.value().call() == 42
    assert c.functions.value().call(block_identifier=r1.blockNumber - 1) == 7  # old state
    events = c.events.Stored().process_receipt(r1)
    assert events[0].args.value == 42 and events[0].args.sender == acct.address

    other = Account.from_key(KEY1)
    r2 = _send(w3, other, to=c.address, data=c.functions.store(99)._encode_transaction_data())
    assert r2.status == 1
    topic = w3.keccak(text="Stored(address,uint256)")
    all_logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": c.address})
    assert [int(lg["data"].hex(), 16) for lg in all_logs] == [42, 99]
    by_sender = w3.eth.get_logs(
        {"fromBlock": 0, "address": c.address, "topics": [topic, "0x" + "00" * 12 + other.address[2:].lower()]}
    )
    assert len(by_sender) == 1 and by_sender[0]["blockNumber"] == r2.blockNumber
    either = w3.eth.get_logs(
        {"fromBlock": 0, "topics": [topic, ["0x" + "00" * 12 + a[2:].lower() for a in (acct.address, other.address)]]}
    )
    assert len(either) == 2
    assert (
        w3.eth.get_logs({"fromBlock": r2.blockNumber, "toBlock": r2.blockNumber})[0]["transactionHash"]
        == r2.transactionHash
    )
    assert w3.eth.get_logs({"blockHash": r1.blockHash})[0]["logIndex"] == 0
    assert w3.eth.get_logs({"fromBlock": 0, "address": Web3.to_checksum_address("0x" + "11" * 20)}) == []
    assert w3.eth.get_logs({"fromBlock": 0, "topics": [None, None, topic]}) == []
    STATE["contract"] = c
    STATE["store_receipt"] = r1


def test_node_signed_contract(node, w3, compiled):
    """The web3.py flow of the README: deploy and transact with node-signed transactions (eth_sendTransaction
    fills in nonce, gas by estimation, and fees)."""
    abi, bytecode = compiled
    sender = w3.eth.accounts[2]
    tx_hash = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(5).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    c = w3.eth.contract(address=receipt.contractAddress, abi=abi)
    assert c.functions.owner().call() == sender
    r = w3.eth.wait_for_transaction_receipt(c.functions.store(77).transact({"from": sender}), timeout=30)
    assert r.status == 1 and c.functions.value().call() == 77
    tx = w3.eth.get_transaction(r.transactionHash)
    assert tx["type"] == 2 and tx["gas"] >= r.gasUsed
    resp = node.rpc("eth_sendTransaction", {"from": "0x" + "12" * 20, "to": sender, "value": "0x1"})
    assert resp["error"] == {"code": -32000, "message": "unknown account"}


def test_filters(node, w3):
    c = STATE["contract"]
    acct = Account.from_key(KEY0)
    blocks = w3.eth.filter("latest")
    pending = w3.eth.filter("pending")
    events = c.events.Stored.create_filter(from_block="latest")
    r = _send(w3, acct, to=c.address, data=c.functions.store(8)._encode_transaction_data())
    assert r.blockHash in blocks.get_new_entries()
    assert r.transactionHash in pending.get_new_entries()
    assert [e.args.value for e in events.get_new_entries()] == [8]
    assert events.get_new_entries() == [] and blocks.get_new_entries() == []
    assert [e.args.value for e in events.get_all_entries()] == [8]
    assert w3.eth.uninstall_filter(blocks.filter_id) is True
    assert w3.eth.uninstall_filter(blocks.filter_id) is False
    assert node.rpc("eth_getFilterChanges", blocks.filter_id)["error"] == {
        "code": -32000,
        "message": "filter not found",
    }


def test_revert(node, w3):
    c = STATE["contract"]
    acct = Account.from_key(KEY0)
    data = c.functions.store(13)._encode_transaction_data()
    # eth_call: code 3 with the revert data (Error("unlucky"))
    resp = node.rpc("eth_call", {"from": acct.address, "to": c.address, "data": data}, "latest")
    assert resp["error"]["code"] == 3
    assert resp["error"]["message"] == "execution reverted: unlucky"
    assert resp["error"]["data"].startswith("0x08c379a0")
    with pytest.raises(ContractLogicError, match="unlucky"):
        c.functions.store(13).call()
    # eth_estimateGas reverts the same way
    resp = node.rpc("eth_estimateGas", {"from": acct.address, "to": c.address, "data": data})
    assert resp["error"]["code"] == 3 and resp["error"]["data"].startswith("0x08c379a0")
    # included anyway with explicit gas: status 0, state unchanged
    before = c.functions.value().call()
    receipt = _send(w3, acct, to=c.address, data=data, gas=100_000)
    assert receipt.status == 0 and receipt.logs == []
    assert c.functions.value().call() == before


def test_estimate_gas_and_access_list(node, w3):
    c = STATE["contract"]
    acct = Account.from_key(KEY0)
    data = c.functions.store(1234)._encode_transaction_data()
    est = w3.eth.estimate_gas({"from": acct.address, "to": c.address, "data": data})
    receipt = _send(w3, acct, to=c.address, data=data, gas=est)
    assert receipt.status == 1 and receipt.gasUsed <= est <= receipt.gasUsed * 1.1
    assert w3.eth.estimate_gas({"from": acct.address, "to": STATE["to"], "value": 1}) == 21000
    data2 = c.functions.store(4321)._encode_transaction_data()
    est2 = w3.eth.estimate_gas({"from": acct.address, "to": c.address, "data": data2})
    assert w3.eth.estimate_gas({"from": acct.address, "to": c.address, "data": data2, "gas": 500_000}) == est2
    resp = node.rpc("eth_estimateGas", {"from": acct.address, "to": c.address, "data": data2, "gas": hex(est2 - 1000)})
    assert resp["error"] == {"code": -32000, "message": f"gas required exceeds allowance ({est2 - 1000})"}
    # a legacy transaction signed by the node gets a gas price of base fee + tip
    h = node.rpc("eth_sendTransaction", {"from": acct.address, "to": STATE["to"], "value": "0x1", "type": "0x0"})[
        "result"
    ]
    legacy = w3.eth.wait_for_transaction_receipt(h, timeout=30)
    assert legacy.status == 1 and legacy.type == 0
    al = node.rpc(
        "eth_createAccessList",
        {"from": acct.address, "to": c.address, "data": c.functions.store(5)._encode_transaction_data()},
    )["result"]
    assert int(al["gasUsed"], 16) > 21000
    assert al["accessList"] == [{"address": c.address, "storageKeys": ["0x" + "00" * 32]}]


def test_fee_history_and_trace(node, w3):
    fh = w3.eth.fee_history(3, "latest", [25, 75])
    assert len(fh["baseFeePerGas"]) == 4 and len(fh["gasUsedRatio"]) == 3 and len(fh["reward"]) == 3
    r = STATE["store_receipt"]
    trace = node.rpc("debug_traceTransaction", "0x" + r.transactionHash.hex().removeprefix("0x"))["result"]
    assert trace["failed"] is False and trace["gas"] == r.gasUsed
    ops = [s["op"] for s in trace["structLogs"]]
    assert "SSTORE" in ops and "LOG2" in ops
    first = trace["structLogs"][0]
    assert first["pc"] == 0 and first["depth"] == 1 and first["stack"] == []
    block_traces = node.rpc("debug_traceBlockByNumber", hex(r.blockNumber))["result"]
    assert [t["txHash"] for t in block_traces][0] == "0x" + bytes(r.transactionHash).hex()
    assert block_traces[0]["result"] == trace
    assert node.rpc("debug_traceBlockByHash", "0x" + bytes(r.blockHash).hex())["result"] == block_traces
    c = STATE["contract"]
    call = node.rpc(
        "debug_traceCall",
        {"to": c.address, "data": c.functions.value()._encode_transaction_data()},
        "latest",
        {"disableStack": True},
    )["result"]
    assert call["failed"] is False and int(call["returnValue"], 16) == c.functions.value().call()
    assert any(s["op"] == "SLOAD" for s in call["structLogs"])
    assert (
        node.rpc("debug_traceCall", {"to": c.address}, "latest", {"tracer": "{step: function() {}}"})["error"]["code"]
        == -32602
    )


def test_more_queries(node, w3):
    r = STATE["store_receipt"]
    c = STATE["contract"]
    by_hash = node.rpc("eth_getBlockByHash", "0x" + bytes(r.blockHash).hex(), False)["result"]
    assert by_hash["number"] == hex(r.blockNumber)
    assert node.rpc("eth_getBlockByHash", "0x" + "00" * 32, False)["result"] is None
    assert node.rpc("eth_getBlockByNumber", "0x999999", False)["result"] is None
    tx = node.rpc("eth_getTransactionByBlockNumberAndIndex", hex(r.blockNumber), "0x0")["result"]
    assert tx["hash"] == "0x" + bytes(r.transactionHash).hex()
    assert node.rpc("eth_getTransactionReceipt", "0x" + "00" * 32)["result"] is None
    assert node.rpc("eth_getTransactionByHash", "0x" + "00" * 32)["result"] is None
    # EIP-1898 block parameter
    bal = node.rpc("eth_getBalance", STATE["to"], {"blockHash": "0x" + bytes(r.blockHash).hex()})["result"]
    assert int(bal, 16) == w3.eth.get_balance(STATE["to"], r.blockNumber)
    # eth_call with a state override: replace the contract's slot 0 (value)
    data = c.functions.value()._encode_transaction_data()
    out = node.rpc(
        "eth_call",
        {"to": c.address, "data": data},
        "latest",
        {c.address: {"stateDiff": {"0x" + "00" * 32: "0x" + (555).to_bytes(32, "big").hex()}}},
    )["result"]
    assert int(out, 16) == 555
    assert c.functions.value().call() != 555
    # a call to a contract's missing function reverts without data
    resp = node.rpc("eth_call", {"to": c.address, "data": "0xdeadbeef"})
    assert resp["error"]["code"] == 3 and resp["error"]["message"] == "execution reverted"
    # the trace of a reverted transaction
    acct = Account.from_key(KEY0)
    failed = _send(w3, acct, to=c.address, data=c.functions.store(13)._encode_transaction_data(), gas=80_000)
    trace = node.rpc(
        "debug_traceTransaction",
        "0x" + bytes(failed.transactionHash).hex(),
        {"enableMemory": True, "disableStack": True},
    )["result"]
    assert trace["failed"] is True and trace["structLogs"][-1]["op"] == "REVERT"
    assert trace["returnValue"].startswith("08c379a0")
    assert "stack" not in trace["structLogs"][0] and "memory" in trace["structLogs"][-1]
    assert node.rpc("debug_traceTransaction", "0x" + "00" * 32)["error"]["code"] == -32000


def test_txpool_rules(node, w3):
    poor = Account.create()
    acct = Account.from_key(KEY0)
    base = {
        "chainId": 1337,
        "to": STATE["to"],
        "value": 1,
        "gas": 21000,
        "maxFeePerGas": 10 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }

    def send(account, **tx):
        return node.rpc(
            "eth_sendRawTransaction",
            "0x" + account.sign_transaction({**base, **tx}).raw_transaction.hex().removeprefix("0x"),
        )

    nonce = w3.eth.get_transaction_count(acct.address)
    err = send(acct, nonce=nonce - 1)["error"]
    assert err["code"] == -32000 and err["message"].startswith("nonce too low")
    err = send(poor, nonce=0)["error"]
    assert err["message"].startswith("insufficient funds for gas * price + value")
    err = send(acct, nonce=nonce, gas=20000)["error"]
    assert err["message"].startswith("intrinsic gas too low")
    err = send(acct, nonce=nonce, maxFeePerGas=1, maxPriorityFeePerGas=1)["error"]
    assert err["message"].startswith("max fee per gas less than block base fee")
    # a future nonce waits in the pool (queued); replacing it needs a 10% bump
    future = send(acct, nonce=nonce + 1)
    assert "result" in future
    assert send(acct, nonce=nonce + 1)["error"]["message"] == "already known"
    err = send(acct, nonce=nonce + 1, maxFeePerGas=10 * 10**9 + 1, maxPriorityFeePerGas=10**9 + 1)["error"]
    assert err["message"] == "replacement transaction underpriced"
    replaced = send(acct, nonce=nonce + 1, maxFeePerGas=12 * 10**9, maxPriorityFeePerGas=2 * 10**9)["result"]
    assert node.rpc("txpool_status")["result"]["queued"] == "0x1"
    assert w3.eth.get_transaction(replaced)["blockNumber"] is None
    # filling the gap mines both, in nonce order
    first = send(acct, nonce=nonce)["result"]
    r1 = w3.eth.wait_for_transaction_receipt(first, timeout=30)
    r2 = w3.eth.wait_for_transaction_receipt(replaced, timeout=30)
    assert (r1.blockNumber, r1.transactionIndex) < (r2.blockNumber, r2.transactionIndex)
    assert node.rpc("eth_getTransactionByHash", future["result"])["result"] is None


def _blob_tx(key: str, nonce: int, count: int) -> str:
    """A type-3 transaction in its network form with `count` zero blobs (their KZG commitments and proofs are
    the point at infinity; the node checks commitments against the versioned hashes)."""
    import hashlib

    import rlp

    from evm.transactions import Transaction

    commitment = b"\xc0" + bytes(47)
    versioned = b"\x01" + hashlib.sha256(commitment).digest()[1:]
    tx = Transaction(
        type=3,
        chain_id=1337,
        nonce=nonce,
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=10 * 10**9,
        gas=21000,
        to=bytes.fromhex("ab" * 20),
        max_fee_per_blob_gas=10**9,
        blob_versioned_hashes=(versioned,) * count,
    ).sign(bytes.fromhex(key[2:]))
    wrapper = [tx._payload(True), [bytes(131072)] * count, [commitment] * count, [commitment] * count]
    return "0x" + (b"\x03" + rlp.encode(wrapper)).hex()


def test_blob_transactions(node, w3):
    a0, a1 = Account.from_key(KEY0), Account.from_key(KEY1)
    body = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
        for i, raw in enumerate(
            [
                _blob_tx(KEY0, w3.eth.get_transaction_count(a0.address), 6),
                _blob_tx(KEY1, w3.eth.get_transaction_count(a1.address), 1),
            ]
        )
    ]
    out = requests.post(node.url, json=body, timeout=60).json()
    hashes = [r["result"] for r in sorted(out, key=lambda r: r["id"])]
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
    assert receipts[0].blockNumber == receipts[1].blockNumber  # one batch, one block
    assert receipts[0]["blobGasUsed"] == 6 * 2**17 and receipts[0]["blobGasPrice"] >= 1
    block = w3.eth.get_block(receipts[0].blockNumber)
    assert block["blobGasUsed"] == 7 * 2**17 and block["excessBlobGas"] == 0
    # above the target of 6 blobs: the next block's excess blob gas grows
    nxt = _send(w3, a0, to=STATE["to"], value=1)
    child = w3.eth.get_block(nxt.blockNumber)
    assert child["excessBlobGas"] > 0
    fh = w3.eth.fee_history(2, nxt.blockNumber)
    assert len(fh["baseFeePerBlobGas"]) == 3 and fh["blobGasUsedRatio"][0] == pytest.approx(7 / 9)
    tx = w3.eth.get_transaction(hashes[1])
    assert tx["type"] == 3 and len(tx["blobVersionedHashes"]) == 1
    # a sidecar whose commitment does not match its versioned hash is refused
    bad = bytearray(bytes.fromhex(_blob_tx(KEY1, w3.eth.get_transaction_count(a1.address), 1)[2:]))
    bad[-48 * 2 - 1] ^= 1  # inside the commitment
    r = node.rpc("eth_sendRawTransaction", "0x" + bad.hex())
    assert r["error"]["code"] == -32000


def test_set_code_transaction(node, w3):
    """EIP-7702: an EOA delegates to the deployed contract's code and then runs it on its own storage."""
    c = STATE["contract"]
    eoa = Account.create()
    payer = Account.from_key(KEY1)
    auth = Account.sign_authorization({"chainId": 1337, "address": c.address, "nonce": 0}, eoa.key)
    receipt = _send(
        w3,
        payer,
        type=4,
        to=eoa.address,
        gas=200_000,
        authorizationList=[auth],
        data=c.functions.store(31)._encode_transaction_data(),
    )
    assert receipt.status == 1
    assert w3.eth.get_code(eoa.address) == b"\xef\x01\x00" + bytes.fromhex(c.address[2:])
    assert w3.eth.get_storage_at(eoa.address, 0) == (31).to_bytes(32, "big")
    assert w3.eth.get_transaction(receipt.transactionHash)["authorizationList"][0]["address"] == c.address
    assert w3.eth.get_transaction_count(eoa.address) == 1


def test_many_transactions_fill_blocks(node, w3):
    """A batch of transactions lands together; what does not fit the block gas limit goes in the next block."""
    key = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # dev account 2
    acct = Account.from_key(key)
    nonce = w3.eth.get_transaction_count(acct.address)
    big = [
        acct.sign_transaction(
            {
                "chainId": 1337,
                "nonce": nonce + i,
                "to": STATE["to"],
                "value": 1,
                "gas": 10_000_000,
                "maxFeePerGas": 10 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        for i in range(4)
    ]
    small = [
        Account.from_key(KEY1).sign_transaction(
            {
                "chainId": 1337,
                "nonce": w3.eth.get_transaction_count(Account.from_key(KEY1).address) + i,
                "to": STATE["to"],
                "value": 1,
                "gas": 21000,
                "maxFeePerGas": 10 * 10**9,
                "maxPriorityFeePerGas": 2 * 10**9,
            }
        )
        for i in range(20)
    ]
    body = [
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_sendRawTransaction",
            "params": ["0x" + t.raw_transaction.hex().removeprefix("0x")],
        }
        for i, t in enumerate(big + small)
    ]
    out = requests.post(node.url, json=body, timeout=60).json()
    assert all("result" in r for r in out), out
    receipts = [
        w3.eth.wait_for_transaction_receipt(r["result"], timeout=30) for r in sorted(out, key=lambda r: r["id"])
    ]
    assert all(r.status == 1 for r in receipts)
    first = receipts[0].blockNumber
    # the small ones pay a higher tip and go first; the block's gas limit (30M, counted by the transactions'
    # gas limits) then takes two of the 10M-gas ones, and the other two follow in the next block
    assert {r.blockNumber for r in receipts[4:]} == {first}
    assert [r.blockNumber for r in receipts[:4]] == [first, first, first + 1, first + 1]
    block = w3.eth.get_block(first)
    assert block.gasUsed == 22 * 21000 and len(block.transactions) == 22


def test_batch_request(node, w3):
    body = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_nope", "params": []},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_getBalance", "params": [STATE["to"], "latest"]},
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # a notification: no answer
    ]
    out = requests.post(node.url, json=body, timeout=30).json()
    by_id = {r["id"]: r for r in out}
    assert len(out) == 4
    assert by_id[1]["result"] == "0x539"
    assert int(by_id["two"]["result"], 16) == w3.eth.block_number
    assert by_id[3]["error"]["code"] == -32601
    assert int(by_id[4]["result"], 16) == w3.eth.get_balance(STATE["to"])


def test_malformed_requests(node):
    def post(raw: str | bytes):
        return requests.post(node.url, data=raw, headers={"Content-Type": "application/json"}, timeout=30)

    assert post("{not json").json()["error"]["code"] == -32700
    assert post('{"jsonrpc":"2.0","id":1}').json()["error"]["code"] == -32600
    assert post('{"jsonrpc":"2.0","id":1,"method":5}').json()["error"]["code"] == -32600
    assert post('"hello"').json()["error"]["code"] == -32600
    assert post("[]").json()["error"]["code"] == -32600
    assert post("[1]").json()[0]["error"]["code"] == -32600
    r = post('{"jsonrpc":"2.0","id":7,"method":"eth_unknownThing","params":[]}').json()
    assert r["id"] == 7 and r["error"]["code"] == -32601
    assert r["error"]["message"] == "the method eth_unknownThing does not exist/is not available"
    r = node.rpc("eth_getBalance", "0x1234", "latest")
    assert r["error"]["code"] == -32602
    r = node.rpc("eth_getBalance", "0x" + "00" * 20, "0xzz")
    assert r["error"]["code"] == -32602
    r = node.rpc("eth_getBalance")
    assert r["error"]["code"] == -32602
    r = node.rpc("eth_getBlockByNumber", "latest", "yes")
    assert r["error"]["code"] == -32602
    r = post('{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}').json()
    assert r["error"]["code"] == -32602
    r = node.rpc("eth_chainId", 1)
    assert r["error"] == {"code": -32602, "message": "too many arguments, want at most 0"}
    r = node.rpc("eth_getBalance", "0x" + "00" * 20, "0x10000")
    assert r["error"] == {"code": -32000, "message": "header not found"}
    r = node.rpc("eth_sendRawTransaction", "0x1234")
    assert r["error"]["code"] == -32000
    big = post(b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["' + b"a" * (6 * 1024 * 1024) + b'"]}')
    assert big.status_code == 413
    # like geth: bodies must be declared JSON, Host names are checked (DNS rebinding), no CORS by default
    ok_body = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
    r = requests.post(node.url, data=ok_body, headers={"Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 415
    r = requests.post(
        node.url, data=ok_body, headers={"Content-Type": "application/json", "Host": "evil.example"}, timeout=30
    )
    assert r.status_code == 403
    port = node.url.rsplit(":", 1)[1]
    r = requests.post(
        node.url, data=ok_body, headers={"Content-Type": "application/json", "Host": f"localhost:{port}"}, timeout=30
    )
    assert r.json()["result"] == "0x539"
    assert requests.options(node.url, headers={"Origin": "http://evil.example"}, timeout=30).status_code == 403
    # anvil's evm_mine seals a block on demand
    n = int(node.rpc("eth_blockNumber")["result"], 16)
    assert node.rpc("evm_mine")["result"] == "0x0"
    assert int(node.rpc("eth_blockNumber")["result"], 16) == n + 1
    # the node still answers after all that
    assert node.rpc("eth_chainId")["result"] == "0x539"


def test_restart_keeps_head_state_and_balances(node, w3):
    head = w3.eth.get_block("latest")
    balances = {a: w3.eth.get_balance(a) for a in w3.eth.accounts[:3] + [STATE["to"]]}
    value = STATE["contract"].functions.value().call()
    assert node.stop() == 0
    node.start()
    w3b = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    head2 = w3b.eth.get_block("latest")
    assert head2["number"] == head["number"] and head2["hash"] == head["hash"]
    assert head2["stateRoot"] == head["stateRoot"]
    for a, b in balances.items():
        assert w3b.eth.get_balance(a) == b
    c = w3b.eth.contract(address=STATE["contract"].address, abi=STATE["contract"].abi)
    assert c.functions.value().call() == value
    # and the chain goes on from there
    receipt = _send(w3b, Account.from_key(KEY0), to=STATE["to"], value=1)
    assert receipt.blockNumber == head["number"] + 1
    assert w3b.eth.get_block(receipt.blockNumber)["parentHash"] == head["hash"]
