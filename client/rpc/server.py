"""JSON-RPC 2.0 over HTTP on aiohttp: single requests, batches, notifications, geth's error codes.

Writes run on one worker thread (`Dispatcher.executor`, the chain thread): sealing, dev methods, anything that
changes the chain or the node's settings sees one caller at a time. The methods named `concurrent` (reads of
committed data, and raw-transaction admission, which the pool locks for itself) run on the event loop as they
come, beside whatever the chain thread is doing: a read never waits for a block being sealed, and a burst of
raw transactions is admitted while the previous block is built. When such a request leaves transactions for
automine (`after_due`), its answer waits for the `after` job on the chain thread, as any write's does (the
transaction's block is sealed before eth_sendRawTransaction answers); jobs queued while one seals find the
pool already sealed by it, so a burst goes into a few blocks (group commit). A batch of concurrent methods is
answered on the loop; any other batch is one job on the chain thread (its transactions reach the pool
together and the miner seals them in one block).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from aiohttp import web

from .. import jsonsafe
from .errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    InvalidParams,
    RpcError,
)

log = structlog.get_logger("rpc")

MAX_REQUEST_SIZE = 5 * 1024 * 1024  # geth's --http body limit
MAX_BATCH_ITEMS = 1000  # geth's BatchRequestLimit
MAX_RESPONSE_SIZE = 25 * 1024 * 1024  # geth's BatchResponseMaxSize


def _error(id_: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class Dispatcher:
    """Maps method names to callables taking the positional params; knows nothing of HTTP."""

    def __init__(
        self,
        methods: dict[str, Callable[..., Any]],
        after: Callable[[], None] | None = None,
        executor: ThreadPoolExecutor | None = None,
        concurrent: frozenset[str] = frozenset(),
        after_due: Callable[[], bool] | None = None,
    ) -> None:
        self.methods = methods
        self.arity = {name: _arity(fn) for name, fn in methods.items()}
        self.concurrent = concurrent  # methods run on the event loop (see the module docstring)
        self.after_due = after_due  # whether `after` has work after a concurrent request
        self._sealing: dict[Any, asyncio.Future] = {}  # session -> its last queued `after` job (dispatch)
        self._queued_after: list[Any] | None = None  # [started, future] of the last `after` job queued by dispatch
        # a second server of the same chain (the Engine API's) shares the first one's chain thread
        self.executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain")
        # run on the worker thread after each request or batch, before the answer goes out (automine: the
        # answer to eth_sendTransaction comes when its block is sealed, as Hardhat's does)
        self.after = after

    def call_one(self, req: Any) -> dict[str, Any] | None:
        """One request object -> response object (None for a notification)."""
        if not isinstance(req, dict):
            return _error(None, INVALID_REQUEST, "invalid request")
        id_ = req.get("id")
        is_notification = "id" not in req
        if not isinstance(id_, (str, int, float, type(None))) or isinstance(id_, bool):
            return _error(None, INVALID_REQUEST, "invalid request")
        method = req.get("method")
        if req.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error(id_, INVALID_REQUEST, "invalid request")
        params = req.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, list):
            if isinstance(params, dict):
                return _error(id_, INVALID_PARAMS, "non-array args")
            return _error(id_, INVALID_REQUEST, "invalid request")
        fn = self.methods.get(method)
        if fn is None:
            resp = _error(id_, METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
            return None if is_notification else resp
        started = time.perf_counter()
        try:
            required, most = self.arity[method]
            if len(params) < required:
                raise InvalidParams(f"missing value for required argument {len(params)}")
            if most is not None and len(params) > most:
                raise InvalidParams(f"too many arguments, want at most {most}")
            result = fn(*params)
            resp = {"jsonrpc": "2.0", "id": id_, "result": result}
        except RpcError as exc:
            resp = {"jsonrpc": "2.0", "id": id_, "error": exc.to_json()}
        except Exception as exc:  # a bug of ours: answer, log, keep serving
            log.error("rpc method failed", method=method, error=repr(exc), exc_info=True)
            resp = _error(id_, INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")
        if _debug_logging():
            log.debug(
                "rpc",
                method=method,
                ms=round((time.perf_counter() - started) * 1000, 2),
                error=resp.get("error", {}).get("message"),
            )
        return None if is_notification else resp

    def handle(self, body: Any) -> Any:
        """A parsed body (object or batch list) -> the response JSON value (None: nothing to send)."""
        try:
            if isinstance(body, list):
                if not body:
                    return _error(None, INVALID_REQUEST, "empty batch")
                if len(body) > MAX_BATCH_ITEMS:
                    return _error(None, INVALID_REQUEST, "batch too large")
                out = [r for r in (self.call_one(item) for item in body) if r is not None]
                return out or None
            return self.call_one(body)
        finally:
            if self.after is not None:
                self._after()

    def bind(self, extra: dict[str, Callable[..., Any]]) -> Dispatcher:
        """The same dispatcher (worker thread, hook) with more methods: a WebSocket connection's own
        eth_subscribe / eth_unsubscribe."""
        d = object.__new__(Dispatcher)
        d.methods = {**self.methods, **extra}
        d.arity = {**self.arity, **{name: _arity(fn) for name, fn in extra.items()}}
        d.executor = self.executor
        d.after = self.after
        d.concurrent = self.concurrent - set(extra)
        d.after_due = self.after_due
        d._sealing = self._sealing
        d._queued_after = None
        return d

    def _is_concurrent(self, body: Any) -> bool:
        conc = self.concurrent
        if isinstance(body, dict):
            return body.get("method") in conc
        if isinstance(body, list) and 0 < len(body) <= MAX_BATCH_ITEMS:
            return all(isinstance(item, dict) and item.get("method") in conc for item in body)
        return False

    async def dispatch(self, body: Any, session: Any = None) -> Any:
        """`handle` for the server: concurrent methods here on the event loop, the others on the chain thread.

        When a concurrent request leaves the `after` job work (a raw transaction for automine), the job is
        queued at once. Without a `session` the answer waits for it. With one (an HTTP connection), the answer
        goes out now, as anvil's does, and the session's next request waits for the job first: a client sees
        its own transactions sealed, and its next transaction is admitted while the previous block is
        sealed (other connections' reads do not wait)."""
        loop = asyncio.get_running_loop()
        if session is not None:
            prior = self._sealing.get(session)
            if prior is not None and not prior.done():
                await asyncio.shield(prior)
        if not self._is_concurrent(body):
            return await loop.run_in_executor(self.executor, self.handle, body)
        out: Any
        if isinstance(body, list):
            out = [r for r in (self.call_one(item) for item in body) if r is not None] or None
        else:
            out = self.call_one(body)
        if self.after is not None and self.after_due is not None and self.after_due():
            job = self._after_job(loop)
            if session is None:
                await job
            else:
                self._sealing[session] = job
                job.add_done_callback(functools.partial(self._sealed, session))
        return out

    def _after_job(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        """The queued `after` job that has not started yet, or a new one: a job finds everything admitted
        before it starts, so a burst of admissions shares one instead of queuing one each."""
        queued = self._queued_after
        if queued is not None and not queued[0]:
            return queued[1]
        token: list[Any] = [False, None]  # [started, future]
        future = token[1] = loop.run_in_executor(self.executor, self._after, token)
        self._queued_after = token
        return future

    def _sealed(self, session: Any, job: asyncio.Future[Any]) -> None:
        """A session's `after` job ended: its next request need not wait (unless a later job is queued)."""
        if self._sealing.get(session) is job:
            self._sealing.pop(session, None)

    def _after(self, token: list[Any] | None = None) -> None:
        if token is not None:
            token[0] = True  # from here on, what is admitted needs a job of its own
        if self.after is None:
            return
        try:
            self.after()
        except Exception as exc:  # a bug of ours: the answers stand
            log.error("after-request hook failed", error=repr(exc), exc_info=True)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _arity(fn: Callable[..., Any]) -> tuple[int, int | None]:
    """(required positional params, most params or None for *args)."""
    required, most = 0, 0
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return required, None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            most += 1
            if p.default is p.empty:
                required += 1
    return required, most


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e400: valid JSON, but no JSON number to answer with
        raise ValueError("number out of range")
    return value


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constants)  # built once, not per request
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def parse_body(raw: bytes) -> Any:
    """Strict JSON (as Go's encoding/json): no NaN/Infinity, no number that overflows a float, at most
    jsonsafe.MAX_DEPTH levels of nesting; raises ValueError (numbers of more than 4300 digits too)."""
    data = bytes(raw)
    if jsonsafe.nesting_depth_exceeds(data):
        raise jsonsafe.TooDeep(f"nested deeper than {jsonsafe.MAX_DEPTH} levels")
    # as json.loads does with bytes: UTF-8, -16 or -32 by the first bytes
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


JSON_CONTENT_TYPES = ("application/json", "application/json-rpc", "application/jsonrequest")


async def answer(dispatcher: Dispatcher, raw: bytes, session: Any, max_response_size: int) -> bytes:
    """The JSON body answering a request body (b"" for notifications only): what both the aiohttp handler and
    the lean path (fasthttp.py) send with status 200."""
    try:
        body = parse_body(raw)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, a 5000-digit number, NaN
        return _ENCODER.encode(_error(None, PARSE_ERROR, "parse error")).encode()
    result = await dispatcher.dispatch(body, session=session)
    if result is None:
        return b""
    text = _ENCODER.encode(result)
    if len(text) > max_response_size:
        text = _ENCODER.encode(_error(None, INVALID_REQUEST, "response too large"))
    return text.encode()


def _debug_logging() -> bool:
    """Whether structlog passes debug lines (asked per request: a filtered-out line still costs a logger bind,
    a tenth of a cheap request)."""
    wrapper: Any = structlog.get_config().get("wrapper_class")
    try:
        return bool(wrapper.get_effective_level(None) <= logging.DEBUG)  # structlog's filtering loggers
    except (AttributeError, TypeError):
        return True


@functools.lru_cache(maxsize=256)
def _host_allowed(host_header: str | None, vhosts: tuple[str, ...]) -> bool:
    """geth's --http.vhosts: an IP literal is always allowed (no DNS rebinding through it); a name must be
    listed ("*" allows any). Protects a node bound to 127.0.0.1 from web pages that rebind their DNS name."""
    if "*" in vhosts:
        return True
    if not host_header:
        return True  # HTTP/1.0 without Host
    host = host_header.strip()
    if host.startswith("["):  # [ipv6]:port
        return True
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return host.lower() in vhosts


def make_app(
    dispatcher: Dispatcher,
    max_request_size: int = MAX_REQUEST_SIZE,
    vhosts: tuple[str, ...] = ("localhost",),
    cors: tuple[str, ...] = (),
    subscriptions: Any = None,
    ws_origins: tuple[str, ...] = (),
    http: bool = True,
    authenticate: Callable[[web.Request], str | None] | None = None,
    max_response_size: int = MAX_RESPONSE_SIZE,
) -> web.Application:
    """POST / answers JSON-RPC; GET / is a health check, or a WebSocket when the request asks for the upgrade
    (anvil serves both on one port; `http=False` makes a WebSocket-only app for --ws.port). Like geth: a request
    body must be declared as JSON (so a web page cannot post to the node without a CORS preflight), Host names
    are checked against `vhosts`, browsers get CORS headers only for the `cors` origins ("*" for any), and a
    browser's WebSocket (it sends Origin) is refused unless its origin is in `ws_origins`. With `authenticate`
    (the Engine API's JWT check: None or why not) every request is checked first; a refused one gets 401 and
    touches nothing."""
    vhosts = tuple(v.lower() for v in vhosts)
    from .websocket import websocket_handler

    ws = websocket_handler(dispatcher, subscriptions, max_request_size, ws_origins)
    if http:  # over HTTP there is no connection to notify (geth's answer)
        dispatcher = dispatcher.bind({"eth_subscribe": _no_notifications, "eth_unsubscribe": _no_notifications})

    def cors_headers(request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not origin or not cors:
            return {}
        if "*" in cors or origin in cors:
            return {
                "Access-Control-Allow-Origin": "*" if "*" in cors else origin,
                "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        return {}

    @web.middleware
    async def guard(request: web.Request, handler):
        if authenticate is not None:
            refused = authenticate(request)
            if refused is not None:
                return web.Response(status=401, text=refused + "\n")
        if not _host_allowed(request.headers.get("Host"), vhosts):
            return web.Response(status=403, text="invalid host specified\n")
        response = await handler(request)
        response.headers.update(cors_headers(request))
        return response

    async def rpc(request: web.Request) -> web.StreamResponse:
        if request.content_type not in JSON_CONTENT_TYPES:
            return web.Response(status=415, text="invalid content type, only application/json is supported\n")
        if request.content_length is not None and request.content_length > max_request_size:
            return web.Response(
                status=413, text=f"content length too large ({request.content_length}>{max_request_size})\n"
            )
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text=f"content length too large (>{max_request_size})\n")
        payload = await answer(dispatcher, raw, request.transport, max_response_size)
        return web.Response(status=200, content_type="application/json", body=payload)

    async def health(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await ws(request)
        if not http:
            return web.Response(status=400, text="WebSocket only: ask for the upgrade\n")
        return web.Response(status=200, text="")

    async def preflight(request: web.Request) -> web.Response:
        return web.Response(status=204 if cors_headers(request) else 403)

    app = web.Application(client_max_size=max_request_size, middlewares=[guard])
    if http:
        app.router.add_post("/", rpc)
        app.router.add_route("OPTIONS", "/", preflight)
        if authenticate is None:  # plain requests may take the lean path (fasthttp.py) in front of this app
            from .fasthttp import FastRpcConfig

            app[FAST_RPC] = FastRpcConfig(dispatcher, vhosts, max_request_size, max_response_size)
    app.router.add_get("/", health)
    return app


def _fast_rpc_key():
    from .fasthttp import FastRpcConfig

    return web.AppKey("fast_rpc", FastRpcConfig)


FAST_RPC = _fast_rpc_key()


def _no_notifications(*args: Any) -> Any:
    raise RpcError(METHOD_NOT_FOUND, "notifications not supported")
