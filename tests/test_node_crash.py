"""Crash safety of the node: SIGKILL while it mines, with transactions streaming in from a client.

A client thread sends signed transfers (to fresh accounts, from four dev accounts, in JSON-RPC batches) and polls
their receipts. The node is SIGKILLed at several moments (right after start, and at growing delays while blocks
are being sealed). After each kill, with the node down, the datadir is checked: the head is a block whose state
trie is complete and has its root, the canonical chain below it is whole and nothing is stored above it, and every
transaction whose receipt the client had seen is still in its block (nothing reported as committed is lost). Then
the node restarts on the same datadir and the chain continues. At the end the whole chain is exported and imported
into a fresh datadir with `evm-mlir import`, which re-executes and re-validates every block.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import requests
from state_checks import assert_state_complete
from test_node_rpc import GENESIS, ROOT, NodeProcess

from client.chain.store import ChainStore
from client.dev_accounts import DEV_KEYS
from evm.transactions import Transaction
from state.db import StateDB

KEYS = [bytes.fromhex(k) for k in DEV_KEYS[:4]]  # four funded dev accounts stream transactions
# When the node is killed: None = right after it printed its URL (start-up); a number = that many seconds after
# the client saw the first receipt of this run (blocks are being sealed one after another by then)
KILL_AFTER = (None, 0.0, 0.03, 0.1, 0.2, 0.35, 0.6)


class Streamer(threading.Thread):
    """Sends transfers in batches and polls receipts until the node goes away."""

    def __init__(self, url: str, nonces: list[int], seen: dict[bytes, tuple[bytes, int]], tag: int) -> None:
        super().__init__(daemon=True)
        self.url, self.nonces, self.seen, self.tag = url, nonces, seen, tag
        self.session = requests.Session()
        self.outstanding: list[bytes] = []
        self.sent = 0
        self.stop = False

    def post(self, body):
        return self.session.post(self.url, json=body, timeout=10).json()

    def run(self) -> None:
        k = 0
        try:
            while not self.stop:
                batch = []
                for i, key in enumerate(KEYS):
                    k += 1
                    to = (self.tag << 32 | k).to_bytes(20, "big")  # a fresh account each time
                    tx = Transaction(
                        type=2,
                        chain_id=1337,
                        nonce=self.nonces[i],
                        max_priority_fee_per_gas=10**9,
                        max_fee_per_gas=100 * 10**9,
                        gas=21_000,
                        to=to,
                        value=1 + k,
                    ).sign(key)
                    batch.append(
                        {
                            "jsonrpc": "2.0",
                            "id": len(batch),
                            "method": "eth_sendRawTransaction",
                            "params": ["0x" + tx.encode().hex()],
                        }
                    )
                    self.outstanding.append(tx.hash)
                for r in self.post(batch):
                    assert "result" in r, r
                for i in range(len(KEYS)):
                    self.nonces[i] += 1
                self.sent += len(batch)
                polls = [
                    {"jsonrpc": "2.0", "id": j, "method": "eth_getTransactionReceipt", "params": ["0x" + h.hex()]}
                    for j, h in enumerate(self.outstanding)
                ]
                still = []
                for h, r in zip(self.outstanding, sorted(self.post(polls), key=lambda r: r["id"])):
                    rec = r.get("result")
                    if rec is None:
                        still.append(h)
                    else:
                        assert rec["status"] == "0x1"
                        self.seen[h] = (bytes.fromhex(rec["blockHash"][2:]), int(rec["blockNumber"], 16))
                self.outstanding = still
                time.sleep(0.02)
        except (requests.ConnectionError, requests.Timeout, ValueError):
            pass  # the node was killed


def check_datadir(datadir: str, seen: dict[bytes, tuple[bytes, int]]) -> int:
    """With the node down: the head is a complete, consistent block and every seen receipt's transaction is in
    its canonical block. Returns the head's number."""
    with ChainStore.open(datadir) as store:
        head = store.head_header()
        # the canonical chain up to the head is whole and linked; nothing above it
        parent = None
        for n in range(head.number + 1):
            h = store.canonical_hash(n)
            assert h is not None, f"canonical block {n} missing below head {head.number}"
            header = store.get_header(h)
            assert header is not None and header.number == n
            assert store.get_body_rlp(h) is not None
            if n:
                assert header.parent_hash == parent
                assert store.get_receipts(h) is not None
            parent = h
        assert parent == head.hash
        assert store.canonical_hash(head.number + 1) is None
        # the head's state trie is complete and hashes to its root
        assert_state_complete(StateDB(store.kv, head.state_root), head.state_root)
        # nothing reported as committed is lost
        for tx_hash, (block_hash, number) in seen.items():
            assert number <= head.number, f"tx 0x{tx_hash.hex()} was reported in block {number} > head {head.number}"
            loc = store.tx_lookup(tx_hash)
            assert loc is not None and loc[0] == block_hash, f"tx 0x{tx_hash.hex()} lost"
            assert store.canonical_hash(number) == block_hash
        return head.number


def _nonces(url: str) -> list[int]:
    from coincurve import PrivateKey
    from eth_hash.auto import keccak

    out = []
    for key in KEYS:
        a = keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:]
        r = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount", "params": ["0x" + a.hex(), "latest"]},
            timeout=30,
        ).json()
        out.append(int(r["result"], 16))
    return out


def test_sigkill_while_mining(tmp_path):
    datadir = str(tmp_path / "data")
    seen: dict[bytes, tuple[bytes, int]] = {}
    heads, sent = [], 0
    for cycle, delay in enumerate(KILL_AFTER):
        node = NodeProcess(datadir, ["--evm", "interpreter"] if cycle % 2 else [])
        node.start()
        streamer = Streamer(node.url, _nonces(node.url), seen, cycle)
        before = len(seen)
        streamer.start()
        if delay is not None:
            deadline = time.time() + 30
            while len(seen) == before and time.time() < deadline:
                time.sleep(0.005)
            time.sleep(delay)
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=30)
        streamer.stop = True
        streamer.join(timeout=30)
        node.proc.stdout.close()
        node.stderr.close()
        sent += streamer.sent
        heads.append(check_datadir(datadir, seen))
    print(f"kills: {len(KILL_AFTER)}, heads after each: {heads}, txs sent {sent}, receipts seen {len(seen)}")
    assert heads == sorted(heads)
    assert len(set(heads)) >= len(KILL_AFTER) - 1, heads  # every kill but the start-up one came after new blocks
    assert len(seen) >= 20, len(seen)

    # the chain continues after the last kill: a new transaction is mined on top of the recovered head
    node = NodeProcess(datadir, ["--evm", "interpreter"])
    node.start()
    try:
        streamer = Streamer(node.url, _nonces(node.url), seen, 99)
        streamer.start()
        deadline = time.time() + 20
        while time.time() < deadline and not any(n > heads[-1] for _, n in seen.values()):
            time.sleep(0.1)
        streamer.stop = True
        streamer.join(timeout=30)
        assert any(n > heads[-1] for _, n in seen.values()), "no block mined after the restart"
    finally:
        assert node.stop() == 0
    final = check_datadir(datadir, seen)

    # every block is valid: a fresh datadir imports the exported chain (re-executing every block)
    chain = str(tmp_path / "chain.rlp")
    cli = [sys.executable, "-m", "client.cli"]
    p = subprocess.run(
        cli + ["export", "--datadir", datadir, chain, "--from", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    fresh = str(tmp_path / "fresh")
    assert (
        subprocess.run(
            cli + ["init", "--genesis", str(GENESIS), "--datadir", fresh], cwd=ROOT, capture_output=True, timeout=120
        ).returncode
        == 0
    )
    p = subprocess.run(
        cli + ["import", "--evm", "interpreter", "--datadir", fresh, chain],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"head {final} " in p.stdout
