"""JSON-RPC over WebSocket (aiohttp's): the same methods as over HTTP, plus eth_subscribe / eth_unsubscribe.

Each text (or binary) message is a request or a batch, answered in order on the chain worker thread as HTTP
requests are. A writer task sends answers and notifications from one queue, so a subscription's id always goes
out before its first notification. Closing the socket drops its subscriptions.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from .errors import PARSE_ERROR

log = structlog.get_logger("rpc")


def websocket_handler(dispatcher, subscriptions, max_message_size: int, origins: tuple[str, ...]):
    from .server import MAX_RESPONSE_SIZE, _error, parse_body
    from .subscriptions import MAX_BACKLOG, Connection

    async def handler(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        # a browser page always says where it comes from; command-line clients do not
        if origin and "*" not in origins and origin not in origins:
            return web.Response(status=403, text="origin not allowed (see --ws.origins)\n")
        ws = web.WebSocketResponse(max_msg_size=max_message_size, heartbeat=30)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def enqueue(message: Any) -> None:
            if queue.qsize() >= MAX_BACKLOG:
                if not ws.closed:
                    log.warning("websocket client too slow: closing", backlog=queue.qsize())
                    asyncio.ensure_future(ws.close(code=1008, message=b"too many pending messages"))
                return
            queue.put_nowait(message)

        def push(message: Any) -> None:  # from the chain worker thread
            loop.call_soon_threadsafe(enqueue, message)

        conn = Connection(push)
        extra = {}
        if subscriptions is not None:
            extra = {
                "eth_subscribe": functools.partial(subscriptions.subscribe, conn),
                "eth_unsubscribe": functools.partial(subscriptions.unsubscribe, conn),
            }
        d = dispatcher.bind(extra)

        async def writer() -> None:
            while True:
                message = await queue.get()
                if message is None:
                    return
                text = json.dumps(message, separators=(",", ":"))
                if len(text) > MAX_RESPONSE_SIZE:
                    text = json.dumps(_error(None, -32600, "response too large"))
                try:
                    await ws.send_str(text)
                except (ConnectionResetError, RuntimeError):
                    return

        sender = asyncio.create_task(writer())
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
                try:
                    body = parse_body(raw)
                except (ValueError, RecursionError):
                    enqueue(_error(None, PARSE_ERROR, "parse error"))
                    continue
                result = await d.dispatch(body)
                if result is not None:
                    enqueue(result)
        finally:
            if subscriptions is not None:
                try:
                    await loop.run_in_executor(d.executor, subscriptions.drop, conn)
                except RuntimeError:  # the worker is gone: the node is stopping
                    pass
            queue.put_nowait(None)
            try:
                await asyncio.wait_for(sender, timeout=5)
            except TimeoutError:
                sender.cancel()
        return ws

    return handler
