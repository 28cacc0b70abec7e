"""anvil's and Hardhat's test methods on a real `evm-mlir node`, driven with web3.py: snapshots and reverts, time
travel, mining modes, state edits, impersonation, reset, state dumps, node info. One node serves the module;
each test leaves the chain as it found it (a snapshot and a revert around it) unless it says otherwise."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from test_node_rpc import NodeProcess, node_fixture
from web3 import Web3

ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
STRANGER = Web3.to_checksum_address("0x" + "5a" * 20)
# runtime code: return calldata's first word + 1 from storage slot 0 ... kept tiny: SLOAD(0) MSTORE RETURN
READ_SLOT0 = "0x60005460005260206000f3"


node = node_fixture(["--evm", "interpreter"])


@pytest.fixture(scope="module")
def w3(node):
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


def rpc(node, method, *params):
    return node.rpc(method, *params)


def ok(node, method, *params):
    r = rpc(node, method, *params)
    assert "error" not in r, (method, r)
    return r["result"]


@pytest.fixture()
def fresh(node):
    """Each test runs between a snapshot and a revert: the chain is as before afterwards."""
    sid = ok(node, "evm_snapshot")
    yield
    assert ok(node, "evm_revert", sid) is True


def test_snapshot_revert_drops_blocks_and_restores_state(node, w3):
    start = w3.eth.block_number
    balance = w3.eth.get_balance(STRANGER)
    s1 = ok(node, "evm_snapshot")
    h1 = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 1000})
    r1 = w3.eth.get_transaction_receipt(h1)  # automine: the block is sealed before the answer
    assert r1.blockNumber == start + 1
    s2 = ok(node, "anvil_snapshot")  # anvil's name, same ids
    assert int(s2, 16) == int(s1, 16) + 1
    w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 2000})
    assert w3.eth.get_balance(STRANGER) == balance + 3000
    # revert to the inner snapshot: one block goes
    assert ok(node, "evm_revert", s2) is True
    assert w3.eth.block_number == start + 1 and w3.eth.get_balance(STRANGER) == balance + 1000
    assert ok(node, "evm_revert", s2) is False  # an id is used once
    # the outer one: the first block goes too, with its transaction lookup and receipt
    assert ok(node, "evm_revert", s1) is True
    assert w3.eth.block_number == start and w3.eth.get_balance(STRANGER) == balance
    assert rpc(node, "eth_getBlockByNumber", hex(start + 1), False)["result"] is None
    assert rpc(node, "eth_getTransactionReceipt", "0x" + bytes(h1).hex())["result"] is None
    assert ok(node, "evm_revert", "0x999") is False
    # the chain goes on from the reverted head
    h = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 7})
    assert w3.eth.get_transaction_receipt(h).blockNumber == start + 1
    assert w3.eth.get_block(start + 1)["parentHash"] == w3.eth.get_block(start)["hash"]


def test_revert_restores_pool_time_and_mining_mode(node, w3):
    sid = ok(node, "evm_snapshot")
    assert ok(node, "evm_setAutomine", False) is True
    assert ok(node, "anvil_getAutomine") is False and ok(node, "hardhat_getAutomine") is False
    ok(node, "evm_increaseTime", 1000)
    h = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 1})
    assert ok(node, "txpool_status") == {"pending": "0x1", "queued": "0x0"}
    inner = ok(node, "evm_snapshot")
    assert ok(node, "evm_mine") == "0x0"
    assert w3.eth.get_transaction_receipt(h).status == 1
    assert ok(node, "evm_revert", inner) is True  # the transaction is pending again
    assert ok(node, "txpool_status") == {"pending": "0x1", "queued": "0x0"}
    assert ok(node, "evm_revert", sid) is True  # automine back on, pool empty
    assert ok(node, "anvil_getAutomine") is True
    assert ok(node, "txpool_status") == {"pending": "0x0", "queued": "0x0"}
    t0 = w3.eth.get_block("latest")["timestamp"]
    ok(node, "evm_mine")
    assert w3.eth.get_block("latest")["timestamp"] < t0 + 500  # the 1000 s offset went with the revert


def test_time_travel(node, w3, fresh):
    before = int(time.time())
    offset = ok(node, "evm_increaseTime", 3600)
    assert isinstance(offset, int) and offset >= 3600
    ok(node, "evm_mine")
    t1 = w3.eth.get_block("latest")["timestamp"]
    assert before + 3600 <= t1 <= int(time.time()) + offset + 1  # the clock moved, not just the next block
    # the exact next timestamp (number, hex and decimal string all taken, as anvil does)
    assert ok(node, "evm_setNextBlockTimestamp", t1 + 100) is None
    ok(node, "evm_mine")
    assert w3.eth.get_block("latest")["timestamp"] == t1 + 100
    ok(node, "anvil_setNextBlockTimestamp", hex(t1 + 200))
    h = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 1})
    assert w3.eth.get_block(w3.eth.get_transaction_receipt(h).blockNumber)["timestamp"] == t1 + 200
    # later blocks go on from there, not from the wall clock
    ok(node, "evm_mine")
    assert t1 + 200 < w3.eth.get_block("latest")["timestamp"] < t1 + 260
    err = rpc(node, "evm_setNextBlockTimestamp", str(t1))["error"]
    assert err["code"] == -32000 and "lower than or equal to previous block's timestamp" in err["message"]
    # evm_mine with a timestamp, in both shapes
    head = w3.eth.get_block("latest")["timestamp"]
    ok(node, "evm_mine", head + 50)
    assert w3.eth.get_block("latest")["timestamp"] == head + 50
    ok(node, "evm_mine", {"timestamp": head + 60, "blocks": 3})
    blocks = [w3.eth.get_block(w3.eth.block_number - i)["timestamp"] for i in (2, 1, 0)]
    assert blocks[0] == head + 60 and blocks[1] > blocks[0] and blocks[2] > blocks[1]
    # a fixed interval between blocks
    ok(node, "anvil_setBlockTimestampInterval", 7)
    ok(node, "evm_mine")
    ok(node, "evm_mine")
    assert w3.eth.get_block("latest")["timestamp"] - w3.eth.get_block(w3.eth.block_number - 1)["timestamp"] == 7
    assert ok(node, "anvil_removeBlockTimestampInterval") is True
    # calls on "pending" (eth_estimateGas's default, as in Hardhat and anvil) see the next block's time
    clock = Web3.to_checksum_address("0x" + "71" * 20)
    ok(node, "anvil_setCode", clock, "0x4260005260206000f3")  # returns TIMESTAMP
    offset = ok(node, "evm_increaseTime", 5000)
    latest = w3.eth.get_block("latest")["timestamp"]
    assert int(ok(node, "eth_call", {"to": clock}, "latest"), 16) == latest
    pending = int(ok(node, "eth_call", {"to": clock}, "pending"), 16)
    assert pending > latest and pending >= int(time.time()) + offset - 1
    # evm_setTime: now is the given time
    target = w3.eth.get_block("latest")["timestamp"] + 10_000
    ok(node, "evm_setTime", target)
    ok(node, "evm_mine")
    assert abs(w3.eth.get_block("latest")["timestamp"] - target) <= 3


def test_mine_many_blocks(node, w3, fresh):
    start = w3.eth.block_number
    t0 = w3.eth.get_block("latest")["timestamp"]
    assert ok(node, "anvil_mine", 5, 10) is None
    assert w3.eth.block_number == start + 5
    ts = [w3.eth.get_block(start + i)["timestamp"] for i in range(1, 6)]
    assert ts[0] > t0 and all(b - a == 10 for a, b in zip(ts, ts[1:]))
    assert ok(node, "hardhat_mine", "0x3") is True  # Hardhat's hex, interval 1 s by default
    assert w3.eth.block_number == start + 8
    assert w3.eth.get_block(start + 8)["timestamp"] - w3.eth.get_block(start + 7)["timestamp"] == 1
    assert ok(node, "anvil_mine") is None  # one block
    assert w3.eth.block_number == start + 9
    detailed = ok(node, "evm_mine_detailed", {"blocks": 2})
    assert [int(b["number"], 16) for b in detailed] == [start + 10, start + 11]
    assert rpc(node, "anvil_mine", 0)["error"]["code"] == -32602


def test_automine_off_then_evm_mine(node, w3, fresh):
    assert ok(node, "evm_setAutomine", False) is True
    start = w3.eth.block_number
    h1 = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 1})
    h2 = w3.eth.send_transaction({"from": BOB, "to": STRANGER, "value": 2})
    assert w3.eth.block_number == start and w3.eth.get_transaction_receipt is not None
    assert rpc(node, "eth_getTransactionReceipt", "0x" + bytes(h1).hex())["result"] is None
    inspect = ok(node, "txpool_inspect")
    assert inspect["pending"][ALICE][str(w3.eth.get_transaction_count(ALICE))].startswith(f"{STRANGER}: 1 wei + ")
    ok(node, "evm_mine")
    assert w3.eth.block_number == start + 1
    block = w3.eth.get_block(start + 1)
    assert set(block["transactions"]) == {h1, h2}
    assert ok(node, "evm_setAutomine", True) is True


def test_interval_mining_at_run_time(node, w3, fresh):
    ok(node, "evm_setAutomine", False)
    start = w3.eth.block_number
    assert ok(node, "evm_setIntervalMining", 300) is True  # Hardhat: milliseconds
    assert ok(node, "anvil_getIntervalMining") == 0.3
    deadline = time.time() + 20
    while w3.eth.block_number < start + 2 and time.time() < deadline:
        time.sleep(0.1)
    assert w3.eth.block_number >= start + 2  # empty blocks at the interval
    assert ok(node, "evm_setIntervalMining", 0) is True
    time.sleep(0.5)
    stopped = w3.eth.block_number
    time.sleep(1.0)
    assert w3.eth.block_number == stopped
    assert ok(node, "anvil_setIntervalMining", 1) is None  # anvil: seconds
    assert ok(node, "anvil_getIntervalMining") == 1
    ok(node, "anvil_setIntervalMining", 0)
    assert ok(node, "anvil_getIntervalMining") is None
    ok(node, "evm_setAutomine", True)


def test_block_gas_limit_base_fee_and_coinbase(node, w3, fresh):
    assert ok(node, "evm_setBlockGasLimit", hex(45_000_000)) is True
    assert ok(node, "anvil_setNextBlockBaseFeePerGas", hex(7 * 10**9)) is None
    coinbase = Web3.to_checksum_address("0x" + "c0" * 20)
    assert ok(node, "anvil_setCoinbase", coinbase) is None
    assert ok(node, "eth_coinbase") == coinbase
    h = w3.eth.send_transaction(
        {"from": ALICE, "to": STRANGER, "value": 1, "maxFeePerGas": 20 * 10**9, "maxPriorityFeePerGas": 10**9}
    )
    r = w3.eth.get_transaction_receipt(h)
    block = w3.eth.get_block(r.blockNumber)
    assert block["gasLimit"] == 45_000_000
    assert block["baseFeePerGas"] == 7 * 10**9
    assert block["miner"] == coinbase
    assert w3.eth.get_balance(coinbase) == 21000 * 10**9  # the tip went to the coinbase
    ok(node, "evm_mine")  # the base fee override was for one block
    assert w3.eth.get_block("latest")["baseFeePerGas"] < 7 * 10**9
    assert w3.eth.get_block("latest")["gasLimit"] == 45_000_000  # the gas limit stays
    assert ok(node, "hardhat_setNextBlockBaseFeePerGas", hex(3 * 10**9)) is True
    assert ok(node, "hardhat_setCoinbase", ALICE) is True
    assert rpc(node, "evm_setBlockGasLimit", 100)["error"]["code"] == -32602


@pytest.mark.parametrize("family", ["anvil", "hardhat"])
def test_state_edits(node, w3, fresh, family):
    yes = None if family == "anvil" else True
    target = Web3.to_checksum_address("0x" + ("a1" if family == "anvil" else "b2") * 20)
    head = w3.eth.block_number
    assert ok(node, f"{family}_setBalance", target, hex(123 * 10**18)) is yes
    assert w3.eth.get_balance(target) == 123 * 10**18
    assert w3.eth.block_number == head  # no block: the head's state is edited, as anvil does
    assert ok(node, f"{family}_setNonce", target, hex(42)) is yes
    assert w3.eth.get_transaction_count(target) == 42
    assert ok(node, f"{family}_setCode", target, READ_SLOT0) is yes
    assert w3.eth.get_code(target).hex().removeprefix("0x") == READ_SLOT0[2:]
    slot_value = "0x" + "00" * 31 + "2a"
    assert ok(node, f"{family}_setStorageAt", target, "0x0", slot_value) is True
    assert w3.eth.get_storage_at(target, 0).hex().removeprefix("0x") == slot_value[2:]
    assert int(ok(node, "eth_call", {"to": target}, "latest"), 16) == 42  # the code sees the slot
    # the next block is built on the edited state and commits to it
    ok(node, "evm_mine")
    assert w3.eth.get_balance(target, "latest") == 123 * 10**18
    assert w3.eth.get_balance(target, head) == 0  # the older block's state is untouched
    assert ok(node, "anvil_setBalance", target, 5) is None  # a JSON number is taken too
    assert w3.eth.get_balance(target) == 5


def test_impersonation(node, w3, fresh):
    whale = STRANGER
    ok(node, "anvil_setBalance", whale, hex(10**20))
    err = rpc(node, "eth_sendTransaction", {"from": whale, "to": BOB, "value": "0x1"})["error"]
    assert err["code"] == -32000
    assert ok(node, "anvil_impersonateAccount", whale) is None
    assert whale in ok(node, "eth_accounts")  # as anvil lists them (ethers' getSigner looks there)
    before = w3.eth.get_balance(BOB)
    h = w3.eth.send_transaction({"from": whale, "to": BOB, "value": 10**18})
    r = w3.eth.get_transaction_receipt(h)
    assert r.status == 1 and r["from"] == whale
    assert w3.eth.get_transaction(h)["from"] == whale
    assert w3.eth.get_balance(BOB) == before + 10**18
    assert ok(node, "anvil_stopImpersonatingAccount", whale) is None
    assert whale not in ok(node, "eth_accounts")
    assert rpc(node, "eth_sendTransaction", {"from": whale, "to": BOB, "value": "0x1"})["error"]["code"] == -32000
    # Hardhat's names; a contract's address can be impersonated too (no EIP-3607 check for it)
    contract = Web3.to_checksum_address("0x" + "c7" * 20)
    ok(node, "anvil_setCode", contract, READ_SLOT0)
    ok(node, "anvil_setBalance", contract, hex(10**18))
    assert ok(node, "hardhat_impersonateAccount", contract) is True
    h = w3.eth.send_transaction({"from": contract, "to": BOB, "value": 1})
    assert w3.eth.get_transaction_receipt(h).status == 1
    assert ok(node, "hardhat_stopImpersonatingAccount", contract) is True
    # auto-impersonation: any sender
    assert ok(node, "anvil_autoImpersonateAccount", True) is None
    other = Web3.to_checksum_address("0x" + "d8" * 20)
    ok(node, "hardhat_setBalance", other, hex(10**18))
    h = w3.eth.send_transaction({"from": other, "to": BOB, "value": 3})
    assert w3.eth.get_transaction(h)["from"] == other
    assert ok(node, "hardhat_autoImpersonateAccount", False) is True
    # two impersonated senders with the same nonce and fields never share a hash
    ok(node, "anvil_impersonateAccount", whale)
    ok(node, "anvil_impersonateAccount", other)
    ok(node, "evm_setAutomine", False)
    ok(node, "anvil_setNonce", whale, "0x9")
    ok(node, "anvil_setNonce", other, "0x9")
    tx = {"to": BOB, "value": 1, "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
    assert w3.eth.send_transaction({**tx, "from": whale}) != w3.eth.send_transaction({**tx, "from": other})
    ok(node, "evm_setAutomine", True)


def test_drop_transactions(node, w3, fresh):
    ok(node, "evm_setAutomine", False)
    h = "0x" + bytes(w3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})).hex()
    assert ok(node, "anvil_dropTransaction", h) == h
    assert ok(node, "anvil_dropTransaction", h) is None
    h = "0x" + bytes(w3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 2})).hex()
    assert ok(node, "hardhat_dropTransaction", h) is True
    w3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 3})
    assert ok(node, "anvil_dropAllTransactions") is None
    assert ok(node, "txpool_status")["pending"] == "0x0"
    ok(node, "evm_setAutomine", True)


def test_dump_and_load_state(node, w3, fresh):
    target = Web3.to_checksum_address("0x" + "e5" * 20)
    ok(node, "anvil_setBalance", target, hex(77))
    ok(node, "anvil_setCode", target, READ_SLOT0)
    ok(node, "anvil_setStorageAt", target, "0x5", "0x" + "00" * 31 + "09")
    w3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    blob = ok(node, "anvil_dumpState")
    state = json.loads(gzip.decompress(bytes.fromhex(blob[2:])))
    acc = state["accounts"][target]
    assert acc["balance"] == "0x4d" and acc["code"] == READ_SLOT0 and acc["nonce"] == 0
    assert acc["storage"] == {"0x" + "00" * 31 + "05": "0x" + "00" * 31 + "09"}
    assert int(state["best_block_number"], 16) == w3.eth.block_number
    assert ALICE in state["accounts"]
    # change things, load the dump back: the dumped values return
    ok(node, "anvil_setBalance", target, hex(1))
    ok(node, "anvil_setStorageAt", target, "0x5", "0x" + "00" * 32)
    assert ok(node, "anvil_loadState", blob) is True
    assert w3.eth.get_balance(target) == 77
    assert w3.eth.get_storage_at(target, 5)[-1] == 9
    # plain JSON is taken too (as --load-state files hold it); garbage is a -32602
    small = {"accounts": {target: {"nonce": 3, "balance": "0x10", "code": "0x", "storage": {}}}}
    assert ok(node, "hardhat_loadState", "0x" + json.dumps(small).encode().hex()) is True
    assert w3.eth.get_transaction_count(target) == 3 and w3.eth.get_balance(target) == 16
    assert rpc(node, "anvil_loadState", "0x1234")["error"]["code"] == -32602


def test_node_info_metadata_modules(node, w3):
    info = ok(node, "anvil_nodeInfo")
    head = w3.eth.get_block("latest")
    assert int(info["currentBlockNumber"], 16) == head["number"]
    assert info["currentBlockHash"] == "0x" + bytes(head["hash"]).hex()
    assert info["currentBlockTimestamp"] == head["timestamp"]
    assert info["hardFork"] == "osaka" and info["environment"]["chainId"] == 1337
    assert info["forkConfig"]["forkUrl"] is None
    meta = ok(node, "anvil_metadata")
    assert meta["chainId"] == 1337 and meta["latestBlockNumber"] == head["number"]
    assert ok(node, "hardhat_metadata")["clientVersion"].startswith("evm-mlir/")
    modules = ok(node, "rpc_modules")
    for name in ("eth", "net", "web3", "debug", "txpool", "evm", "anvil", "hardhat"):
        assert modules[name] == "1.0"


def test_reset_goes_back_to_genesis(node, w3):
    w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 5})
    ok(node, "anvil_setBalance", BOB, hex(1))
    sid = ok(node, "evm_snapshot")
    assert w3.eth.block_number > 0
    assert ok(node, "anvil_reset") is None
    assert w3.eth.block_number == 0
    assert w3.eth.get_balance(STRANGER) == 0 and w3.eth.get_balance(BOB) == 10_000 * 10**18
    assert ok(node, "evm_revert", sid) is False  # snapshots went with the reset
    assert ok(node, "hardhat_reset", {}) is True
    err = rpc(node, "hardhat_reset", {"forking": {"jsonRpcUrl": "http://127.0.0.1:1"}})["error"]
    assert err["code"] == -32602 and "forking" in err["message"]
    h = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 5})
    assert w3.eth.get_transaction_receipt(h).blockNumber == 1


def test_dump_state_and_load_state_flags_round_trip(tmp_path):
    """--dump-state at exit, --load-state at start on a new datadir: the same accounts, code and storage."""
    dump = tmp_path / "state.json"
    a = NodeProcess(str(tmp_path / "a"), ["--evm", "interpreter", "--dump-state", str(dump)])
    a.start()
    try:
        w3a = Web3(Web3.HTTPProvider(a.url))
        w3a.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 99})
        a.rpc("anvil_setCode", BOB, READ_SLOT0)
        a.rpc("anvil_setStorageAt", BOB, "0x0", "0x" + "00" * 31 + "11")
        want = {
            addr: (w3a.eth.get_balance(addr), w3a.eth.get_transaction_count(addr), w3a.eth.get_code(addr))
            for addr in (ALICE, BOB, STRANGER)
        }
    finally:
        assert a.stop() == 0
    data = json.loads(dump.read_text())
    assert data["accounts"][STRANGER]["balance"] == hex(99)
    b = NodeProcess(str(tmp_path / "b"), ["--evm", "interpreter", "--load-state", str(dump)])
    b.start()
    try:
        w3b = Web3(Web3.HTTPProvider(b.url))
        for addr, (balance, nonce, code) in want.items():
            assert (w3b.eth.get_balance(addr), w3b.eth.get_transaction_count(addr), w3b.eth.get_code(addr)) == (
                balance,
                nonce,
                code,
            )
        assert w3b.eth.get_storage_at(BOB, 0)[-1] == 0x11
        assert w3b.eth.block_number == 0
        # the whole state is the same: b's dump (genesis + the load) is a's, account by account
        again = json.loads(gzip.decompress(bytes.fromhex(b.rpc("anvil_dumpState")["result"][2:])))
        assert again["accounts"] == data["accounts"]
        b.rpc("evm_mine")  # and the next block is built on it
        assert w3b.eth.get_balance(STRANGER) == 99
    finally:
        assert b.stop() == 0


def test_anvil_extras(node, w3, fresh):
    """anvil_rollback, anvil_removePoolTransactions, eth_sendUnsignedTransaction, eth_getAccount and the
    raw-transaction and uncle lookups by block."""
    start = w3.eth.block_number
    h = w3.eth.send_transaction({"from": ALICE, "to": STRANGER, "value": 9})
    ok(node, "evm_mine")
    assert w3.eth.block_number == start + 2
    raw = ok(node, "eth_getRawTransactionByBlockNumberAndIndex", hex(start + 1), "0x0")
    assert (
        raw
        == ok(node, "eth_getRawTransactionByHash", "0x" + bytes(h).hex())
        == ok(node, "debug_getRawTransaction", "0x" + bytes(h).hex())
    )
    block_hash = "0x" + bytes(w3.eth.get_block(start + 1)["hash"]).hex()
    assert ok(node, "eth_getRawTransactionByBlockHashAndIndex", block_hash, "0x0") == raw
    assert ok(node, "eth_getRawTransactionByBlockHashAndIndex", block_hash, "0x5") is None
    assert ok(node, "eth_getUncleByBlockNumberAndIndex", hex(start + 1), "0x0") is None
    acc = ok(node, "eth_getAccount", ALICE, "latest")
    assert int(acc["nonce"], 16) == w3.eth.get_transaction_count(ALICE)
    assert int(acc["balance"], 16) == w3.eth.get_balance(ALICE)
    assert ok(node, "anvil_rollback", 2) is None
    assert w3.eth.block_number == start
    assert rpc(node, "eth_getTransactionReceipt", "0x" + bytes(h).hex())["result"] is None
    assert rpc(node, "anvil_rollback", start + 1)["error"]["code"] == -32000
    ok(node, "evm_setAutomine", False)
    w3.eth.send_transaction({"from": BOB, "to": STRANGER, "value": 1})
    w3.eth.send_transaction({"from": BOB, "to": STRANGER, "value": 2})
    assert ok(node, "txpool_status")["pending"] == "0x2"
    assert ok(node, "anvil_removePoolTransactions", BOB) is None
    assert ok(node, "txpool_status")["pending"] == "0x0"
    ok(node, "evm_setAutomine", True)
    nobody = Web3.to_checksum_address("0x" + "e1" * 20)
    ok(node, "anvil_setBalance", nobody, hex(10**18))
    h = ok(node, "eth_sendUnsignedTransaction", {"from": nobody, "to": BOB, "value": "0x5"})
    assert w3.eth.get_transaction(h)["from"] == nobody
    assert ok(node, "eth_networkId") == "1337" and ok(node, "eth_requestAccounts")[0] == ALICE
