"""JSON-RPC over WebSocket on a real node, with web3.py's WebSocketProvider: the HTTP port upgrades (as anvil's
does), `--ws --ws.port` serves a port of its own (geth's flags); eth_subscribe for newHeads, logs (address and
topic filters) and newPendingTransactions; eth_unsubscribe; browser origins refused unless allowed."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import requests
import websockets
from test_node_rpc import node_fixture
from web3 import AsyncWeb3, Web3, WebSocketProvider

ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
# init code of a contract whose runtime emits LOG2(topic0 = 0xaa..aa, topic1 = calldata word 0) with data 0x
# runtime: PUSH1 0 CALLDATALOAD PUSH32 0xaa..aa PUSH1 0 PUSH1 0 LOG2 STOP
RUNTIME = "600035" + "7f" + "aa" * 32 + "6000" + "6000" + "a2" + "00"
INIT = "60" + format(len(RUNTIME) // 2, "02x") + "600c60003960" + format(len(RUNTIME) // 2, "02x") + "6000f3" + RUNTIME
TOPIC0 = "0x" + "aa" * 32


node = node_fixture(["--evm", "interpreter", "--ws", "--ws.port", "0"])


@pytest.fixture(scope="module", autouse=True)
def ws_url(node):
    node.ws_url = re.search(r"WebSocket on (ws://\S+)", node.banner).group(1)
    return node.ws_url


def test_banner_names_both_endpoints(node):
    assert node.ws_url.startswith("ws://127.0.0.1:") and node.ws_url != node.url.replace("http", "ws")


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


async def _subscriptions(url: str) -> None:
    async with AsyncWeb3(WebSocketProvider(url)) as w3:
        assert await w3.eth.chain_id == 1337
        assert await w3.eth.block_number >= 0
        deploy = await w3.eth.send_transaction({"from": ALICE, "data": "0x" + INIT})
        contract = (await w3.eth.wait_for_transaction_receipt(deploy)).contractAddress
        heads = await w3.eth.subscribe("newHeads")
        logs = await w3.eth.subscribe("logs", {"address": contract, "topics": [TOPIC0, _word(7)]})
        any_logs = await w3.eth.subscribe("logs", {"topics": [TOPIC0]})
        pending = await w3.eth.subscribe("newPendingTransactions")
        assert len({heads, logs, any_logs, pending}) == 4
        for arg in (7, 8, 7):  # two logs match topic1 = 7, all three match topic0
            await w3.eth.send_transaction({"from": ALICE, "to": contract, "data": _word(arg), "gas": 100_000})
        got: dict[str, list] = {heads: [], logs: [], any_logs: [], pending: []}

        async def collect() -> None:
            async for message in w3.socket.process_subscriptions():
                got[message["subscription"]].append(message["result"])
                if len(got[logs]) >= 2 and len(got[any_logs]) >= 3 and len(got[heads]) >= 3 and len(got[pending]) >= 3:
                    return

        await asyncio.wait_for(collect(), timeout=30)
        assert [int(bytes(lg["topics"][1]).hex(), 16) for lg in got[logs]] == [7, 7]
        assert all(lg["address"] == contract for lg in got[any_logs])
        numbers = [h["number"] for h in got[heads]]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        block = await w3.eth.get_block(numbers[0])
        assert got[heads][0]["hash"] == block["hash"]
        assert len(got[pending]) == 3
        assert await w3.eth.unsubscribe(heads) is True
        again = await w3.provider.make_request("eth_unsubscribe", [heads])
        assert again["result"] is False


def test_subscriptions_on_the_http_port(node):
    """anvil's way: the HTTP port answers WebSocket upgrades."""
    asyncio.run(_subscriptions(node.url.replace("http://", "ws://")))


def test_subscriptions_on_the_ws_port(node):
    asyncio.run(_subscriptions(node.ws_url))


def test_raw_websocket_requests_batches_errors(node):
    async def go() -> None:
        async with websockets.connect(node.ws_url) as ws:
            await ws.send(
                json.dumps(
                    [
                        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
                    ]
                )
            )
            out = json.loads(await ws.recv())
            assert out[0]["result"] == "0x539" and out[1]["error"]["code"] == -32601
            await ws.send("{not json")
            assert json.loads(await ws.recv())["error"]["code"] == -32700
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_subscribe", "params": ["bogus"]}))
            assert json.loads(await ws.recv())["error"]["code"] == -32602
            await ws.send(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 4, "method": "eth_subscribe", "params": ["newPendingTransactions", True]}
                )
            )
            sid = json.loads(await ws.recv())["result"]
            h = Web3(Web3.HTTPProvider(node.url)).eth.send_transaction({"from": BOB, "to": ALICE, "value": 1})
            note = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert note["method"] == "eth_subscription" and note["params"]["subscription"] == sid
            assert note["params"]["result"]["hash"] == "0x" + bytes(h).hex()  # the whole transaction
            assert note["params"]["result"]["from"] == BOB

    asyncio.run(go())


def test_http_has_no_subscriptions_and_browsers_need_an_allowed_origin(node):
    r = requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
    assert r.json()["error"] == {"code": -32601, "message": "notifications not supported"}

    async def go() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as exc:
            async with websockets.connect(node.ws_url, origin="http://evil.example"):
                pass
        assert exc.value.response.status_code == 403

    asyncio.run(go())
    assert requests.get(node.ws_url.replace("ws://", "http://")).status_code == 400  # WebSocket only
