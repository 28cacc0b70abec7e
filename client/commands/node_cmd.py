"""`evm-mlir node`: run a local chain from a genesis file and serve JSON-RPC over HTTP (like anvil or
geth --dev).

On first start the datadir is initialised (as `evm-mlir init` does); afterwards the node resumes from the head
stored in LevelDB. With `--block-time 0` a block is sealed as soon as transactions are pending; with N > 0
every N seconds (empty blocks included). SIGTERM and SIGINT stop the server, let the block in progress
finish (its write batch is atomic either way) and close the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
from typing import Any

import structlog

from common.heap import freeze_long_lived

from ..chain.store import ChainStore, remove_datadir
from ..dev_accounts import DEV_KEYS
from ..errors import UserError
from . import backend_name

log = structlog.get_logger("node")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genesis", required=True, metavar="FILE", help="genesis file (geth JSON format)")
    parser.add_argument("--datadir", required=True, metavar="DIR", help="data directory (initialised on first start)")
    parser.add_argument(
        "--http.addr",
        dest="http_addr",
        default="127.0.0.1",
        metavar="ADDR",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--http.port",
        dest="http_port",
        type=int,
        default=8545,
        metavar="PORT",
        help="JSON-RPC port (default 8545; 0 picks a free one)",
    )
    parser.add_argument(
        "--evm", default=None, metavar="NAME", help="EVM backend (default: tiered when available, else interpreter)"
    )
    parser.add_argument(
        "--block-time",
        dest="block_time",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="0 (default): seal a block as soon as transactions are pending; N > 0: every N seconds",
    )
    parser.add_argument(
        "--http.vhosts",
        dest="http_vhosts",
        default="localhost",
        metavar="NAMES",
        help="comma-separated host names accepted in the Host header (IP addresses always are; "
        "'*' for any; default localhost)",
    )
    parser.add_argument(
        "--http.corsdomain",
        dest="http_corsdomain",
        default="",
        metavar="ORIGINS",
        help="comma-separated browser origins allowed to call the node ('*' for any; default none)",
    )
    parser.add_argument(
        "--ws",
        action="store_true",
        help="serve JSON-RPC over WebSocket on --ws.addr:--ws.port too (the HTTP port always "
        "upgrades to WebSocket, as anvil's does)",
    )
    parser.add_argument(
        "--ws.addr", dest="ws_addr", default="127.0.0.1", metavar="ADDR", help="WebSocket interface (default 127.0.0.1)"
    )
    parser.add_argument(
        "--ws.port",
        dest="ws_port",
        type=int,
        default=8546,
        metavar="PORT",
        help="WebSocket port (default 8546; 0 picks a free one)",
    )
    parser.add_argument(
        "--ws.origins",
        dest="ws_origins",
        default="",
        metavar="ORIGINS",
        help="comma-separated browser origins allowed to open a WebSocket ('*' for any; default "
        "none: only clients that send no Origin, i.e. not web pages)",
    )
    parser.add_argument(
        "--no-mining",
        dest="no_mining",
        action="store_true",
        help="no automine: transactions wait until evm_mine / anvil_mine (anvil's --no-mining)",
    )
    parser.add_argument(
        "--load-state",
        dest="load_state",
        default=None,
        metavar="FILE",
        help="merge a state dump (anvil's JSON, as --dump-state writes it) into the head at start",
    )
    parser.add_argument(
        "--dump-state",
        dest="dump_state",
        default=None,
        metavar="FILE",
        help="write the head's whole state to FILE (anvil's JSON) when the node stops",
    )
    parser.add_argument(
        "--state",
        dest="state_file",
        default=None,
        metavar="FILE",
        help="both: load FILE at start if it exists, dump to it at exit (anvil's --state)",
    )
    parser.add_argument(
        "--max-request-size",
        dest="max_request_size",
        type=int,
        default=5 * 1024 * 1024,
        metavar="BYTES",
        help="largest HTTP request body accepted (default 5 MiB)",
    )
    from ..engine.cli import add_authrpc_arguments

    add_authrpc_arguments(parser)


def dev_keys_for(alloc) -> dict[bytes, bytes]:
    from coincurve import PrivateKey

    from common.keccak import keccak

    out = {}
    for hexkey in DEV_KEYS:
        key = bytes.fromhex(hexkey)
        address = keccak(PrivateKey(key).public_key.format(compressed=False)[1:])[12:]
        if address in alloc:
            out[address] = key
    return out


def open_datadir(genesis, datadir: str) -> ChainStore:
    """Open the datadir, initialising it with `genesis` on first start; refuse one of another chain."""
    if os.path.exists(datadir) and not os.path.isdir(datadir):
        raise UserError(f"datadir {datadir} exists and is not a directory")
    existed = os.path.isdir(datadir)
    try:
        os.makedirs(datadir, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create datadir {datadir}: {exc.strerror}") from None
    store = ChainStore.open(datadir, create=True)
    try:
        known = store.genesis_hash()
        if known is None:
            header = store.init_genesis(genesis, preimages=True)
            log.info("datadir initialised", datadir=datadir, genesis="0x" + header.hash.hex())
        else:
            expected = genesis.header(genesis.state_root()).hash
            if expected != known:
                raise UserError(
                    f"datadir {datadir} holds another chain (genesis 0x{known.hex()}, "
                    f"this file gives 0x{expected.hex()})"
                )
            stored = store.config() or {}
            if stored.get("chainId") is not None and stored.get("chainId") != genesis.config.chain_id:
                raise UserError(
                    f"datadir {datadir} holds chain id {stored.get('chainId')}, "
                    f"this genesis file says {genesis.config.chain_id}"
                )
    except BaseException:
        store.close()
        if not existed:
            remove_datadir(datadir)
        raise
    return store


def run(args: argparse.Namespace) -> int:
    from ..genesis import load_genesis

    backend = backend_name(args.evm)
    if args.block_time < 0:
        raise UserError("--block-time must be 0 or more seconds")
    if not 0 <= args.http_port <= 65535:
        raise UserError(f"--http.port {args.http_port} is not a port number")
    from ..engine.cli import check_authrpc_arguments

    check_authrpc_arguments(args)
    genesis, _ = load_genesis(args.genesis)
    _check_forks(genesis)
    store = open_datadir(genesis, args.datadir)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_serve(args, genesis, store, backend))
    finally:
        store.close()


def _loop_factory():
    """uvloop's event loop (libuv): the same asyncio API at a fraction of the default loop's cost per
    request, which is most of what a cheap JSON-RPC call costs; the default loop where uvloop is missing."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve(args, genesis, store: ChainStore, backend: str) -> int:
    from ..node.node import Node
    from ..rpc.api import CONCURRENT_METHODS, Api
    from ..rpc.server import Dispatcher, make_app
    from ..rpc.subscriptions import Subscriptions

    loop = asyncio.get_running_loop()
    dev_keys = dev_keys_for(genesis.alloc)
    node = Node(store, genesis.config, backend, dev_keys)
    # under a consensus client (--authrpc.*) the blocks come through the Engine API: no sealing of our own
    node.dev.settings.automine = args.block_time == 0 and not args.no_mining and not args.authrpc
    node.dev.settings.interval = args.block_time
    _load_state_file(
        node, args.load_state or (args.state_file if args.state_file and os.path.exists(args.state_file) else None)
    )
    api = Api(node)
    dispatcher = Dispatcher(
        api.methods(), after=node.automine, concurrent=CONCURRENT_METHODS, after_due=node.automine_due
    )
    wake = asyncio.Event()
    stop = asyncio.Event()
    node.on_mode_change = lambda: loop.call_soon_threadsafe(wake.set)

    head = node.head()
    log.info(
        "chain head",
        number=head.number,
        hash="0x" + head.hash.hex(),
        state_root="0x" + head.state_root.hex(),
        evm=backend,
    )
    freeze_long_lived()  # set-up done: full collections skip what lives as long as the node

    subscriptions = Subscriptions(node)
    common: dict[str, Any] = dict(
        vhosts=_csv(args.http_vhosts), subscriptions=subscriptions, ws_origins=_csv(args.ws_origins)
    )
    app = make_app(dispatcher, args.max_request_size, cors=_csv(args.http_corsdomain), **common)
    runners: list[Any] = []
    try:
        port = await _listen(runners, app, args.http_addr, args.http_port)
        ws_url = None
        # geth allows --ws.port = --http.port: one server then (port 0 means two free ports)
        if args.ws and (args.ws_port == 0 or (args.ws_addr, args.ws_port) != (args.http_addr, args.http_port)):
            ws_app = make_app(dispatcher, args.max_request_size, http=False, **common)
            ws_url = _url("ws", args.ws_addr, await _listen(runners, ws_app, args.ws_addr, args.ws_port))
    except UserError:
        for r in runners:
            await r.cleanup()
        dispatcher.shutdown()
        raise
    url = _url("http", args.http_addr, port)
    engine = None
    if args.authrpc:
        from ..engine.cli import start_authrpc

        try:
            engine = await start_authrpc(args, node, dispatcher.executor)
        except BaseException:
            for r in runners:
                await r.cleanup()
            dispatcher.shutdown()
            raise
        runners.append(engine.runner)
    _print_banner(url, ws_url or _url("ws", args.http_addr, port), node, genesis, dev_keys)
    log.info("json-rpc listening", url=url, ws=ws_url or _url("ws", args.http_addr, port))
    if engine is not None:
        print(
            f"Engine API on {engine.url} (JWT secret {engine.secret_file}); blocks come from the consensus client",
            file=sys.stdout,
            flush=True,
        )
        log.info("engine api listening", url=engine.url, jwtsecret=engine.secret_file)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def mine_once() -> None:
        try:
            node.mine()
        except Exception as exc:  # a bug: keep serving; the pool keeps the transactions for the next try
            log.error("mining failed", error=repr(exc), exc_info=True)

    async def miner_loop() -> None:
        """Interval mining (--block-time, evm_setIntervalMining): a block every interval, empty ones too;
        a change of mode wakes the loop to re-read it. Automine happens after each request (Dispatcher)."""
        while not stop.is_set():
            s = node.dev.settings
            delay = random.uniform(*s.interval_range) if s.interval_range else s.interval
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=delay if delay > 0 else None)
                continue  # the mode changed (or we are stopping): read it again
            except TimeoutError:
                pass
            if stop.is_set():
                return
            await loop.run_in_executor(dispatcher.executor, mine_once)

    miner = asyncio.create_task(miner_loop())
    await stop.wait()
    log.info("shutting down")
    wake.set()
    for r in runners:
        await r.cleanup()
    try:
        await asyncio.wait_for(miner, timeout=60)
    except TimeoutError:
        miner.cancel()
    # raw transactions are answered before their block is sealed: seal what the last ones left pending
    await loop.run_in_executor(dispatcher.executor, node.automine)
    dispatcher.shutdown()
    _dump_state_file(node, args.dump_state or args.state_file)
    head = node.head()
    log.info("stopped", head=head.number, hash="0x" + head.hash.hex())
    return 0


def _load_state_file(node, path: str | None) -> None:
    if not path:
        return
    from ..rpc import statedump
    from ..rpc.errors import RpcError

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise UserError(f"cannot read state file {path}: {exc.strerror}") from None
    try:
        n = statedump.load(node, statedump.parse(raw))
    except RpcError as exc:
        raise UserError(f"state file {path}: {exc.message}") from None
    log.info("state loaded", file=path, accounts=n)


def _dump_state_file(node, path: str | None) -> None:
    if not path:
        return
    import json

    from ..rpc import statedump
    from ..rpc.errors import RpcError

    try:
        data = statedump.dump(node)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)  # a crash mid-write leaves the previous dump whole
        log.info("state dumped", file=path, accounts=len(data["accounts"]))
    except (OSError, RpcError) as exc:
        log.error("state dump failed", file=path, error=str(getattr(exc, "message", exc)))


async def _listen(runners: list, app, addr: str, port: int) -> int:
    """Serve `app` on addr:port; returns the port (the one picked for 0)."""
    from aiohttp import web

    if not 0 <= port <= 65535:
        raise UserError(f"port {port} is not a port number")
    from ..rpc import fasthttp
    from ..rpc.server import FAST_RPC

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    runners.append(runner)
    try:
        if FAST_RPC in app:  # plain JSON-RPC posts on the lean path, the rest handed to aiohttp
            server = runner.server
            assert server is not None  # set by setup()
            site = await fasthttp.serve(app[FAST_RPC], server, addr, port)
            runners.insert(0, site)  # closed before aiohttp's runner (which waits for its connections)
            return site.port
        await web.TCPSite(runner, addr, port).start()
    except OSError as exc:
        raise UserError(f"cannot listen on {addr}:{port}: {exc.strerror or exc}") from None
    return runner.addresses[0][1] if runner.addresses else port


def _url(scheme: str, addr: str, port: int) -> str:
    return f"{scheme}://{addr if ':' not in addr else f'[{addr}]'}:{port}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _check_forks(genesis) -> None:
    """The node seals post-Merge blocks only: the chain's next block must be at a fork this client runs."""
    import time

    from ..forks import UnsupportedFork, rules_at

    number, timestamp = genesis.number + 1, max(int(time.time()), genesis.timestamp + 1)
    try:
        rules_at(genesis.config, number, timestamp)
    except UnsupportedFork as exc:
        raise UserError(f"the node cannot build this chain's next block: {exc}") from None


def _print_banner(url: str, ws_url: str, node, genesis, dev_keys: dict[bytes, bytes]) -> None:
    from ..rpc.types import checksum

    out = sys.stdout
    head = node.head()
    print(f"evm-mlir node: chain id {node.chain_id}, head block {head.number} (0x{head.hash.hex()})", file=out)
    print("", file=out)
    if dev_keys:
        print("Available accounts (the test mnemonic's; public keys, for development only)", file=out)
        print("=" * 72, file=out)
        for i, address in enumerate(dev_keys):
            balance = genesis.alloc[address][1]
            print(f"({i}) {checksum(address)} ({balance / 10**18:g} ETH at genesis)", file=out)
        print("", file=out)
        print("Private keys", file=out)
        print("=" * 72, file=out)
        for i, key in enumerate(dev_keys.values()):
            print(f"({i}) 0x{key.hex()}", file=out)
    else:
        funded = [(a, v[1]) for a, v in genesis.alloc.items() if v[1] > 0][:10]
        if funded:
            print("Funded accounts at genesis", file=out)
            print("=" * 72, file=out)
            for i, (address, balance) in enumerate(funded):
                print(f"({i}) {checksum(address)} ({balance / 10**18:g} ETH)", file=out)
    print("", file=out)
    print(f"WebSocket on {ws_url}", file=out)
    print(f"Listening on {url}", file=out)
    out.flush()
