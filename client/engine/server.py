"""The authenticated JSON-RPC server of the Engine API (geth's `--authrpc.*`, default 127.0.0.1:8551).

It serves the engine_* methods and, as geth's auth port does, the eth_* ones a consensus client also calls there
(eth_chainId, eth_syncing, eth_getBlockByNumber, ...). Every request needs a valid JWT (client/engine/auth.py);
without one the answer is HTTP 401 before the body is read. Method calls run on the node's single chain thread,
shared with the public JSON-RPC server, so the chain sees one caller at a time.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from ..rpc.server import Dispatcher, make_app
from .api import EngineApi
from .auth import check_authorization

DEFAULT_PORT = 8551
ENGINE_BODY_LIMIT = 128 * 1024 * 1024  # geth's engine API request limit: payloads carry whole blocks
ENGINE_RESPONSE_LIMIT = 128 * 1024 * 1024  # getBlobs of 128 blobs is ~34 MB of hex


def engine_dispatcher(node: Any, executor: ThreadPoolExecutor | None = None) -> tuple[Dispatcher, EngineApi]:
    """The methods of the auth port: engine_* and the eth_* / net_* / web3_* of the public API."""
    from ..rpc.api import Api

    engine = EngineApi(node)
    return Dispatcher({**Api(node).methods(), **engine.methods()}, executor=executor), engine


def make_engine_app(dispatcher: Dispatcher, secret: bytes, vhosts: tuple[str, ...] = ("localhost",)) -> web.Application:
    def authenticate(request: web.Request) -> str | None:
        return check_authorization(request.headers.get("Authorization"), secret)

    return make_app(
        dispatcher, ENGINE_BODY_LIMIT, vhosts=vhosts, authenticate=authenticate, max_response_size=ENGINE_RESPONSE_LIMIT
    )


async def start_engine_server(
    dispatcher: Dispatcher, secret: bytes, addr: str, port: int, vhosts: tuple[str, ...] = ("localhost",)
) -> tuple[web.AppRunner, str]:
    """Listen on addr:port (0 picks a free port); returns the runner (to clean up) and the URL."""
    runner = web.AppRunner(make_engine_app(dispatcher, secret, vhosts), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, addr, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    host = addr if ":" not in addr else f"[{addr}]"
    return runner, f"http://{host}:{bound}"


class BackgroundEngineServer:
    """An Engine API server on an event loop of its own thread, for a caller that is not async (the enginetest
    runner drives one per test, over HTTP, as execution-spec-tests' consume-engine drives a client)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="engine-http", daemon=True)
        self.thread.start()

    def serve(self, dispatcher: Dispatcher, secret: bytes, addr: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
        fut = asyncio.run_coroutine_threadsafe(start_engine_server(dispatcher, secret, addr, 0), self.loop)
        return fut.result(timeout=30)

    def stop_serving(self, runner: web.AppRunner) -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
