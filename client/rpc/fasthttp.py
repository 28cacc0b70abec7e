"""A lean path for the node's plain JSON-RPC requests, in front of aiohttp.

aiohttp's request machinery (request and response objects, routing, middleware, header multidicts) costs about
0.1 ms of CPU per request on this machine, as much as answering `eth_chainId` itself and half of a receipt
lookup; under a burst of transactions and their receipt polls it was most of the server's time. `FastRpc` reads
the requests that need none of it: `POST /` over HTTP/1.1 with a `Content-Length` within the limit, a JSON
content type, an allowed `Host`, and no `Origin` (CORS), `Upgrade` (WebSocket), `Expect`, `Transfer-Encoding`,
`Content-Encoding` or `Connection` other than keep-alive. It answers them as the aiohttp handler does
(`server.answer`, the same code): `200` with a JSON body and its length, keep-alive, in order (a pipelined
request waits for the one before it). The first request that is anything else hands the connection, with the
bytes it holds, to aiohttp's own protocol for good: errors (413, 415, 403, 400...), CORS, WebSocket and the rest
keep aiohttp's behaviour. `tests/test_node_fasthttp.py` checks both paths give the same answers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, cast

import structlog

from .server import JSON_CONTENT_TYPES, _host_allowed, answer

log = structlog.get_logger("rpc")

MAX_HEAD = 8190  # aiohttp's limit for the request line and for a header line; longer heads go to aiohttp
_STATUS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
_HANDED_OFF_HEADERS = (b"origin", b"upgrade", b"expect", b"transfer-encoding", b"content-encoding")


class FastRpcConfig:
    """What the lean path needs of the app `server.make_app` built (set there for plain HTTP apps only)."""

    def __init__(self, dispatcher: Any, vhosts: tuple[str, ...], max_request_size: int, max_response_size: int):
        self.dispatcher = dispatcher
        self.vhosts = vhosts
        self.max_request_size = max_request_size
        self.max_response_size = max_response_size


class FastRpc(asyncio.Protocol):
    def __init__(self, config: FastRpcConfig, aiohttp_protocol: Callable[[], asyncio.Protocol], live: set) -> None:
        self.config = config
        self.aiohttp_protocol = aiohttp_protocol
        self.live = live
        # set by connection_made, which asyncio calls before any other callback
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.buf = bytearray()
        self.busy = False  # a request is being answered (the next one waits: answers go out in order)
        self.paused = False
        self.closed = False
        self.task: asyncio.Task | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.live.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as aiohttp does
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.live.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()
        elif len(self.buf) > self.config.max_request_size + 2 * MAX_HEAD and not self.paused:
            self.transport.pause_reading()  # a client that pipelines without reading its answers waits
            self.paused = True

    def eof_received(self) -> bool:
        return False  # close: a half-closed connection sends nothing more we could answer

    def pause_writing(self) -> None:  # the client does not read its answers: stop reading its requests
        if not self.paused:
            self.transport.pause_reading()
            self.paused = True

    def resume_writing(self) -> None:
        if self.paused:
            self.transport.resume_reading()
            self.paused = False

    # -- requests --------------------------------------------------------------------------------------------
    def _next(self) -> None:
        """Take the next whole request from the buffer: answer it, wait for more bytes, or hand off."""
        if self.closed or not self.buf:
            return
        end = self.buf.find(b"\r\n\r\n", 0, MAX_HEAD * 4)
        if end < 0:
            if len(self.buf) > MAX_HEAD * 4:
                self._hand_off()
            return
        length = self._plain_post(bytes(self.buf[:end]))
        if length is None:
            self._hand_off()
            return
        start = end + 4
        if len(self.buf) < start + length:
            return  # the body is still coming
        body = bytes(self.buf[start : start + length])
        del self.buf[: start + length]
        self.busy = True
        self.task = asyncio.get_running_loop().create_task(self._answer(body))  # held: the loop keeps weak refs

    def _plain_post(self, head: bytes) -> int | None:
        """The body length of a plain JSON-RPC POST, or None for anything aiohttp should see."""
        lines = head.split(b"\r\n")
        if lines[0] != b"POST / HTTP/1.1" or any(len(line) > MAX_HEAD for line in lines):
            return None
        length = host = ctype = None
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                return None  # malformed, or whitespace before the colon (aiohttp refuses it)
            name = name.lower()
            value = value.strip()
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    return None
                length = int(value)
            elif name == b"host":
                if host is not None:
                    return None
                host = value
            elif name == b"content-type":
                if ctype is not None:
                    return None
                ctype = value.split(b";", 1)[0].strip().lower()
            elif name == b"connection":
                if value.lower() != b"keep-alive":
                    return None
            elif name in _HANDED_OFF_HEADERS:
                return None
        if length is None or length > self.config.max_request_size:
            return None
        try:
            if ctype is None or ctype.decode("ascii") not in JSON_CONTENT_TYPES:
                return None
            if not _host_allowed(host.decode("ascii") if host is not None else None, self.config.vhosts):
                return None
        except UnicodeDecodeError:
            return None
        return length

    async def _answer(self, body: bytes) -> None:
        try:
            payload = await answer(self.config.dispatcher, body, self.transport, self.config.max_response_size)
        except Exception as exc:  # a bug of ours: drop the connection rather than answer out of order
            log.error("rpc request failed", error=repr(exc), exc_info=True)
            self.transport.close()
            return
        if not self.closed:
            self.transport.write(_STATUS + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        self.busy = False
        if self.paused and self.transport.get_write_buffer_size() == 0:
            self.transport.resume_reading()
            self.paused = False
        self._next()

    def _hand_off(self) -> None:
        """From now on aiohttp's protocol serves this connection, starting with the bytes not yet used."""
        self.live.discard(self)
        if self.paused:
            self.transport.resume_reading()
            self.paused = False
        protocol = self.aiohttp_protocol()
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        data, self.buf = bytes(self.buf), bytearray()
        if data:
            protocol.data_received(data)
        self.closed = True  # this object serves nothing more


class FastSite:
    """The listening socket: every connection starts on `FastRpc`; `cleanup` closes the socket and the
    connections still on the lean path (aiohttp's runner closes the ones handed to it)."""

    def __init__(self, server: asyncio.AbstractServer, live: set) -> None:
        self.server = server
        self.live = live

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # an asyncio.Server
        return port

    async def cleanup(self) -> None:
        self.server.close()
        for protocol in list(self.live):
            protocol.transport.close()
        await asyncio.sleep(0)


async def serve(
    config: FastRpcConfig, aiohttp_protocol: Callable[[], asyncio.Protocol], addr: str, port: int
) -> FastSite:
    live: set = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FastRpc(config, aiohttp_protocol, live), addr, port, reuse_address=True)
    return FastSite(server, live)
