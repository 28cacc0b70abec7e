"""Transaction intake under concurrency (issue 17).

Against one real node: several senders' pre-signed raw transactions all in flight at once (each sender's nonces
arriving in any order), some sent twice, reads interleaved. Afterwards nothing is lost, nothing is mined twice,
nothing is mined that was not sent, each sender's nonces follow one another through the chain, and every
receipt agrees with its block. And, without a node: the dispatcher answers reads and admits transactions on the
event loop while the chain thread is busy (a read never waits for a block being sealed).
"""

from __future__ import annotations

import asyncio
import random
import threading

import aiohttp
import pytest
from test_node_rpc import node_fixture

from client.dev_accounts import DEV_KEYS
from client.rpc.server import Dispatcher
from evm.transactions import Transaction

node = node_fixture()

SENDERS = [bytes.fromhex(k) for k in DEV_KEYS[1:9]]  # eight funded dev accounts
PER_SENDER = 12
CHAIN_ID = 1337
IDENTITY = "0x0000000000000000000000000000000000000004"


def _address(key: bytes) -> str:
    from coincurve import PrivateKey
    from eth_hash.auto import keccak

    return "0x" + keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:].hex()


class Rpc:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def call(self, method: str, *params):
        async with self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        ) as r:
            assert r.status == 200, (method, r.status)
            return await r.json()

    async def result(self, method: str, *params):
        doc = await self.call(method, *params)
        assert "error" not in doc, (method, doc)
        return doc["result"]


def _transactions(nonces: dict[str, int]) -> list[tuple[str, int, Transaction]]:
    """PER_SENDER transfers per sender (legacy and EIP-1559 mixed), each to its own recipient."""
    out = []
    for i, key in enumerate(SENDERS):
        who = _address(key)
        for k in range(PER_SENDER):
            nonce = nonces[who] + k
            to = bytes([0xCC, i]) + nonce.to_bytes(18, "big")
            tx = Transaction(
                type=0 if k % 4 == 0 else 2,
                chain_id=CHAIN_ID,
                nonce=nonce,
                gas_price=50 * 10**9,
                max_priority_fee_per_gas=10**9,
                max_fee_per_gas=50 * 10**9,
                gas=21_000,
                to=to,
                value=1000 + k,
            ).sign(key)
            out.append((who, nonce, tx))
    return out


async def _burst(url: str) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        rpc = Rpc(session, url)
        first_block = int(await rpc.result("eth_blockNumber"), 16)
        nonces = {}
        for key in SENDERS:
            who = _address(key)
            nonces[who] = int(await rpc.result("eth_getTransactionCount", who, "pending"), 16)
        txs = _transactions(nonces)
        raws = [("0x" + tx.encode().hex(), tx) for _, _, tx in txs]
        rng = random.Random(17)
        sends = raws + rng.sample(raws, 16)  # sixteen of them twice
        rng.shuffle(sends)  # each sender's nonces arrive in any order

        answers: dict[bytes, list] = {}

        async def send(raw: str, tx: Transaction) -> None:
            doc = await rpc.call("eth_sendRawTransaction", raw)
            answers.setdefault(tx.hash, []).append(doc)

        seen_heads: list[int] = []

        async def reader() -> None:
            who = _address(SENDERS[0])
            for _ in range(15):
                seen_heads.append(int(await rpc.result("eth_blockNumber"), 16))
                await rpc.result("eth_getBalance", who, "latest")
                out = await rpc.result("eth_call", {"to": IDENTITY, "data": "0x" + "ab" * 40}, "latest")
                assert out == "0x" + "ab" * 40

        await asyncio.gather(*(send(raw, tx) for raw, tx in sends), reader(), reader())

        # every transaction was accepted once (its duplicate: "already known", or "nonce too low" once mined)
        for _, _, tx in txs:
            docs = answers[tx.hash]
            accepted = [d for d in docs if d.get("result") == "0x" + tx.hash.hex()]
            assert accepted, docs
            for d in docs:
                if "error" in d:
                    assert d["error"]["message"] == "already known" or "nonce too low" in d["error"]["message"], d
        assert seen_heads == sorted(seen_heads), "a reader saw the head go back"

        # automine seals them all (the answers came before their blocks: poll, as a client of anvil does)
        receipts: dict[str, dict] = {}
        deadline = asyncio.get_running_loop().time() + 60
        while len(receipts) < len(txs):
            assert asyncio.get_running_loop().time() < deadline, f"{len(txs) - len(receipts)} never mined"
            for _, _, tx in txs:
                h = "0x" + tx.hash.hex()
                if h not in receipts:
                    r = await rpc.result("eth_getTransactionReceipt", h)
                    if r is not None:
                        receipts[h] = r
            await asyncio.sleep(0.05)

        # the chain holds each exactly once, nothing else; nonces consecutive per sender; receipts match blocks
        head = int(await rpc.result("eth_blockNumber"), 16)
        sent = {"0x" + tx.hash.hex(): (who, nonce) for who, nonce, tx in txs}
        seen: dict[str, int] = {}
        order: dict[str, list[int]] = {}
        for n in range(first_block + 1, head + 1):
            block = await rpc.result("eth_getBlockByNumber", hex(n), True)
            cumulative = 0
            for i, tx in enumerate(block["transactions"]):
                h = tx["hash"]
                seen[h] = seen.get(h, 0) + 1
                order.setdefault(tx["from"].lower(), []).append(int(tx["nonce"], 16))
                r = receipts.get(h)
                assert r is not None, f"block {n} holds 0x{h} that was not sent"
                assert (r["blockNumber"], r["blockHash"], int(r["transactionIndex"], 16)) == (
                    block["number"],
                    block["hash"],
                    i,
                )
                assert r["status"] == "0x1" and r["from"].lower() == sent[h][0]
                cumulative += int(r["gasUsed"], 16)
                assert int(r["cumulativeGasUsed"], 16) == cumulative
            assert cumulative == int(block["gasUsed"], 16)
        assert set(seen) == set(sent), "transactions missing from the chain"
        assert all(v == 1 for v in seen.values()), "a transaction was mined twice"
        for key in SENDERS:
            who = _address(key)
            assert order[who] == list(range(nonces[who], nonces[who] + PER_SENDER)), f"nonces of {who}"
            assert int(await rpc.result("eth_getTransactionCount", who, "latest"), 16) == nonces[who] + PER_SENDER
            assert int(await rpc.result("eth_getTransactionCount", who, "pending"), 16) == nonces[who] + PER_SENDER
        for _who, _nonce, tx in txs:
            balance = int(await rpc.result("eth_getBalance", "0x" + tx.to.hex(), "latest"), 16)
            assert balance == tx.value
        status = await rpc.result("txpool_status")
        assert status == {"pending": "0x0", "queued": "0x0"}
        print(
            f"\n{len(txs)} transactions ({len(sends)} sends) from {len(SENDERS)} senders in flight at once: "
            f"sealed in {head - first_block} blocks"
        )


def test_concurrent_raw_transactions_from_several_senders(node):
    asyncio.run(_burst(node.url))


async def _own_writes(url: str) -> None:
    # one keep-alive connection: each send is answered at once, and the next request on the connection sees
    # the transaction sealed (read-your-writes), whatever it asks
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        rpc = Rpc(session, url)
        key = SENDERS[0]
        who = _address(key)
        nonce = int(await rpc.result("eth_getTransactionCount", who, "pending"), 16)
        for k in range(12):
            to = b"\xdd" * 19 + bytes([k])
            before = int(await rpc.result("eth_getBalance", "0x" + to.hex(), "latest"), 16)
            tx = Transaction(
                type=2,
                chain_id=CHAIN_ID,
                nonce=nonce + k,
                max_priority_fee_per_gas=10**9,
                max_fee_per_gas=50 * 10**9,
                gas=21_000,
                to=to,
                value=5,
            ).sign(key)
            assert await rpc.result("eth_sendRawTransaction", "0x" + tx.encode().hex()) == "0x" + tx.hash.hex()
            if k % 3 == 0:
                receipt = await rpc.result("eth_getTransactionReceipt", "0x" + tx.hash.hex())
                assert receipt is not None and receipt["status"] == "0x1"
            elif k % 3 == 1:
                assert int(await rpc.result("eth_getBalance", "0x" + to.hex(), "latest"), 16) == before + 5
            else:
                assert int(await rpc.result("eth_getTransactionCount", who, "latest"), 16) == nonce + k + 1


def test_a_connection_reads_its_own_transactions(node):
    asyncio.run(_own_writes(node.url))


def test_reads_and_admission_do_not_wait_for_the_chain_thread():
    """A job holds the chain thread (a block being sealed, say): concurrent methods are answered meanwhile,
    the others queue behind it; a concurrent write that leaves work for `after` waits for it."""
    release = threading.Event()
    events: list[str] = []
    pending = {"dirty": False}

    def seal() -> str:
        release.wait(30)
        events.append("sealed")
        return "sealed"

    def admit() -> str:
        pending["dirty"] = True
        events.append("admitted")
        return "admitted"

    def after() -> None:
        if pending["dirty"]:
            pending["dirty"] = False
            events.append("after")

    d = Dispatcher(
        {
            "slow_write": seal,
            "eth_blockNumber": lambda: "0x1",
            "admit": admit,
            "other": lambda: "x",
            "admit_conn": lambda: admit() and "answered",
        },
        after=after,
        concurrent=frozenset({"eth_blockNumber", "admit", "admit_conn"}),
        after_due=lambda: pending["dirty"],
    )

    def req(method: str) -> dict:
        return {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}

    async def scenario() -> None:
        write = asyncio.ensure_future(d.dispatch(req("slow_write")))
        await asyncio.sleep(0.05)
        # the chain thread is held: a read is answered on the loop all the same
        read = await asyncio.wait_for(d.dispatch(req("eth_blockNumber")), timeout=10)
        assert read["result"] == "0x1" and not write.done()
        batch = await asyncio.wait_for(d.dispatch([req("eth_blockNumber"), req("eth_blockNumber")]), timeout=10)
        assert [r["result"] for r in batch] == ["0x1", "0x1"] and not write.done()
        # admission runs now; its answer waits for the `after` job, queued behind the held one
        admitted = asyncio.ensure_future(d.dispatch(req("admit")))
        other = asyncio.ensure_future(d.dispatch(req("other")))
        await asyncio.sleep(0.05)
        assert events == ["admitted"] and not admitted.done() and not other.done()
        release.set()
        assert (await write)["result"] == "sealed"
        assert (await admitted)["result"] == "admitted"
        assert (await other)["result"] == "x"
        assert events == ["admitted", "sealed", "after"]

        # over a connection (a session): admitted and answered at once, the `after` job queued behind the held
        # one; the same connection's next request waits for that job, another connection's read does not
        release.clear()
        events.clear()
        held = asyncio.ensure_future(d.dispatch(req("slow_write")))
        await asyncio.sleep(0.05)
        answer = await asyncio.wait_for(d.dispatch(req("admit_conn"), session="conn-1"), timeout=10)
        assert answer["result"] == "answered" and events == ["admitted"]
        mine = asyncio.ensure_future(d.dispatch(req("eth_blockNumber"), session="conn-1"))
        theirs = await asyncio.wait_for(d.dispatch(req("eth_blockNumber"), session="conn-2"), timeout=10)
        assert theirs["result"] == "0x1"
        await asyncio.sleep(0.05)
        assert not mine.done()
        release.set()
        assert (await held)["result"] == "sealed"
        assert (await mine)["result"] == "0x1"
        assert events == ["admitted", "sealed", "after"]

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        d.shutdown()


def test_concurrent_methods_are_node_methods_and_reads():
    """Every method the node runs on its event loop exists, and none of them is one that changes the chain or
    the node's settings (those must stay on the chain thread)."""
    from client.rpc.api import CONCURRENT_METHODS

    writes = (
        "evm_",
        "anvil_",
        "hardhat_",
        "eth_sendTransaction",
        "eth_sign",
        "personal_",
        "eth_newFilter",
        "eth_uninstallFilter",
        "eth_getFilter",
        "eth_subscribe",
        "debug_trace",
        "engine_",
    )
    assert not [m for m in CONCURRENT_METHODS if m.startswith(writes)]
    import tempfile

    from test_node_rpc import GENESIS

    from client.commands.node_cmd import open_datadir
    from client.genesis import load_genesis
    from client.node.node import Node
    from client.rpc.api import Api

    genesis, _ = load_genesis(str(GENESIS))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_datadir(genesis, tmp + "/data")
        try:
            methods = Api(Node(store, genesis.config)).methods()
        finally:
            store.close()
    assert CONCURRENT_METHODS <= set(methods), CONCURRENT_METHODS - set(methods)


if __name__ == "__main__":
    pytest.main([__file__, "-s"])
