"""JSON-RPC under load, bounded (about 20 s, loopback only).

Against one real node: sender threads (each its own dev account and keep-alive connection) sign and send
transfers as fast as the node takes them, while reader threads hammer eth_call / eth_getBalance / eth_blockNumber
and a prober sends invalid params, oversize bodies and oversize batches. Then every transaction must have exactly
one receipt (none lost, none mined twice, nothing mined that was not sent), each sender's nonces must appear in
order in the chain, and every read must have been answered without error throughout. The figures (requests/s,
transactions/s) are printed (`pytest -s`) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import requests
from test_node_rpc import NodeProcess

from client.dev_accounts import DEV_KEYS
from evm.transactions import Transaction

KEYS = [bytes.fromhex(k) for k in DEV_KEYS[:6]]  # six funded dev accounts send at once
LOAD_SECONDS = float(os.environ.get("EVM_MLIR_LOAD_SECONDS", 4))
READERS = 3


def _address(key: bytes) -> str:
    from coincurve import PrivateKey
    from eth_hash.auto import keccak

    return "0x" + keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:].hex()


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.requests = 0
        self.errors: list = []
        self.max_latency = 0.0

    def call(self, method: str, *params, expect_error: bool = False):
        start = time.monotonic()
        r = self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
        )
        self.max_latency = max(self.max_latency, time.monotonic() - start)
        self.requests += 1
        assert r.status_code == 200, (method, r.status_code, r.text[:200])
        doc = r.json()
        if expect_error:
            return doc["error"]
        if "error" in doc:
            self.errors.append((method, doc["error"]))
            return None
        return doc["result"]


def test_rpc_under_load():
    tmp = tempfile.mkdtemp(prefix="evm-mlir-load-")
    node = NodeProcess(os.path.join(tmp, "data"))
    node.start()
    try:
        _run_load(node)
    finally:
        node.stop()
        log = open(os.path.join(tmp, "node.log")).read()
        shutil.rmtree(tmp, ignore_errors=True)
    assert "Traceback" not in log, log[-3000:]


def _run_load(node: NodeProcess) -> None:
    stop = threading.Event()
    sent: dict[str, tuple[str, int]] = {}  # tx hash -> (sender, nonce)
    lock = threading.Lock()
    clients: list[Client] = []
    failures: list = []

    def sender(key: bytes, index: int) -> None:
        c = Client(node.url)
        clients.append(c)
        me = _address(key)
        nonce = int(c.call("eth_getTransactionCount", me, "pending"), 16)
        try:
            while not stop.is_set():
                to = bytes([0xAA, index]) + nonce.to_bytes(18, "big")
                tx = Transaction(
                    type=2 if nonce % 3 else 0,
                    chain_id=1337,
                    nonce=nonce,
                    gas_price=100 * 10**9,
                    max_priority_fee_per_gas=10**9,
                    max_fee_per_gas=100 * 10**9,
                    gas=21_000,
                    to=to,
                    value=nonce + 1,
                ).sign(key)
                h = c.call("eth_sendRawTransaction", "0x" + tx.encode().hex())
                assert h == "0x" + tx.hash.hex(), (h, c.errors[-1:])
                with lock:
                    sent[h] = (me, nonce)
                nonce += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    def reader(i: int) -> None:
        c = Client(node.url)
        clients.append(c)
        who = _address(KEYS[i % len(KEYS)])
        try:
            while not stop.is_set():
                c.call(
                    "eth_call",
                    {"from": who, "to": "0x000000000000000000000000000000000000000" + "4", "data": "0x" + "ab" * 64},
                    "latest",
                )  # the identity precompile
                c.call("eth_getBalance", who, "latest")
                c.call("eth_blockNumber")
        except BaseException as exc:  # noqa: BLE001
            failures.append(repr(exc))

    def prober() -> None:
        c = Client(node.url)
        clients.append(c)
        big = "0x" + "00" * (3 * 1024 * 1024)  # 6 MiB of hex: over the default 5 MiB body limit
        try:
            r = requests.post(
                node.url,
                data=b'{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["' + big.encode() + b'"]}',
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            assert r.status_code == 413
            c.requests += 1
            while not stop.is_set():
                assert c.call("eth_getBalance", "0x1234", "latest", expect_error=True)["code"] == -32602
                assert c.call("eth_sendRawTransaction", "0xc0", expect_error=True)["code"] == -32000
                assert c.call("eth_getBlockByNumber", "0x-1", False, expect_error=True)["code"] == -32602
                r = c.session.post(
                    node.url,
                    json=[{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)],
                    timeout=30,
                )
                assert r.json()["error"]["code"] == -32600
                c.requests += 1
                time.sleep(0.2)
        except BaseException as exc:  # noqa: BLE001
            failures.append(repr(exc))

    threads = (
        [threading.Thread(target=sender, args=(k, i)) for i, k in enumerate(KEYS)]
        + [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
        + [threading.Thread(target=prober)]
    )
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    load_time = time.monotonic() - start
    assert not failures, failures
    for c in clients:
        assert not c.errors, c.errors[:5]
    total_requests = sum(c.requests for c in clients)
    max_latency = max(c.max_latency for c in clients)

    # every transaction gets exactly one receipt
    c = Client(node.url)
    pending = set(sent)
    receipts: dict[str, dict] = {}
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        hashes = sorted(pending)
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            out = c.session.post(
                node.url,
                json=[
                    {"jsonrpc": "2.0", "id": j, "method": "eth_getTransactionReceipt", "params": [h]}
                    for j, h in enumerate(chunk)
                ],
                timeout=60,
            ).json()
            for resp in out:
                if resp.get("result"):
                    receipts[chunk[resp["id"]]] = resp["result"]
                    pending.discard(chunk[resp["id"]])
        if pending:
            time.sleep(0.2)
    all_mined = time.monotonic() - start
    assert not pending, f"{len(pending)} of {len(sent)} transactions never mined"
    assert all(r["status"] == "0x1" for r in receipts.values())

    # the chain holds each sent transaction exactly once, nothing else, and each sender's nonces in order
    head = int(c.call("eth_blockNumber"), 16)
    seen: dict[str, int] = {}
    order: dict[str, list[int]] = {}
    for n in range(1, head + 1):
        block = c.call("eth_getBlockByNumber", hex(n), True)
        for tx in block["transactions"]:
            seen[tx["hash"]] = seen.get(tx["hash"], 0) + 1
            order.setdefault(tx["from"].lower(), []).append(int(tx["nonce"], 16))
    assert set(seen) == set(sent), "the chain holds transactions that were not sent, or misses some"
    assert all(v == 1 for v in seen.values()), "a transaction was mined twice"
    for who, nonces in order.items():
        assert nonces == list(range(nonces[0], nonces[0] + len(nonces))), f"nonces of {who} out of order"
    for h, (who, _nonce) in sent.items():
        assert receipts[h]["from"].lower() == who
    print(
        f"\nload: {len(threads)} client threads for {load_time:.1f} s: {total_requests} requests "
        f"({total_requests / load_time:.0f} requests/s), {len(sent)} transactions sent, all {len(sent)} mined in "
        f"{head} blocks within {all_mined:.1f} s ({len(sent) / all_mined:.0f} tx/s), 0 lost, 0 mined twice; "
        f"slowest answer {max_latency * 1000:.0f} ms"
    )
    assert len(sent) >= 50
