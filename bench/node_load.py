"""The node under load, side by side with anvil: transaction intake, block sealing and call latency.

Starts `evm-mlir node` on genesis/dev.json (a fresh datadir), runs bench/ethers/load.mjs against it (ethers v6:
200 pre-signed transactions through eth_sendRawTransaction, one after another and all in flight, ETH and ERC-20
transfers, then every receipt polled; eth_call balanceOf and eth_chainId latencies over 200 calls), stops it, and
does the same against anvil when it is installed: the npm package `@foundry-rs/anvil-linux-amd64` (an optional
dependency of bench/ethers, so `npm ci` there fetches it on linux-x64), `anvil` on PATH, or --anvil PATH. The two
run one after the other on the same machine; a table gives both figures and their ratio. Every run checks that
each transaction was mined exactly once with a consistent receipt (load.mjs) and fails otherwise.

    python bench/node_load.py [--rounds N] [--txs 200] [--calls 200] [--senders 9] [--evm NAME]
                              [--anvil PATH | --no-anvil] [--only ours|anvil] [--json FILE]

With --rounds N the two nodes alternate N times and each figure is the median of the N runs (the machine is
shared: one disturbed run then moves the result less). The Token is bench/contracts/token.vy (compiled with
vyper, as the compile-time benchmark does).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "bench" / "ethers"
GENESIS = ROOT / "genesis" / "dev.json"
ANVIL_IN_PACKAGE = CLIENT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
WORKLOADS = [  # (name in load.mjs, what the table calls it, figure: tx/s (higher is better) or ms (lower))
    ("eth-seq", "ETH transfers, sent one after another", "tx/s"),
    ("eth-burst", "ETH transfers, all in flight at once", "tx/s"),
    ("erc20-seq", "ERC-20 transfers, one after another", "tx/s"),
    ("erc20-burst", "ERC-20 transfers, all in flight", "tx/s"),
    ("call", "eth_call balanceOf, median latency", "ms"),
    ("chainid", "eth_chainId, median latency", "ms"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"node_load: {proc.args[0]} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            req = urllib.request.Request(
                url,
                data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(req, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"node_load: {url} did not answer within {seconds:.0f} s")


class Server:
    """A node process serving JSON-RPC on a free port of 127.0.0.1; output into a log file."""

    def __init__(self, name: str, command: list[str], port: int, workdir: Path) -> None:
        self.name, self.url = name, f"http://127.0.0.1:{port}"
        self.log = workdir / f"{name}.log"
        self.proc = subprocess.Popen(command, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, cwd=ROOT)
        _wait_http(self.url, self.proc, self.log)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_ours(workdir: Path, evm: str | None) -> Server:
    port = _free_port()
    datadir = workdir / f"data-{port}"
    cmd = [
        sys.executable,
        "-m",
        "client.cli",
        "node",
        "--genesis",
        str(GENESIS),
        "--datadir",
        str(datadir),
        "--http.addr",
        "127.0.0.1",
        "--http.port",
        str(port),
    ] + (["--evm", evm] if evm else [])
    return Server("evm-mlir", cmd, port, workdir)


def start_anvil(binary: str, workdir: Path) -> Server:
    port = _free_port()
    # anvil's defaults otherwise (automine, the test mnemonic's ten accounts, 1 gwei base fee, its request log)
    return Server("anvil", [binary, "--host", "127.0.0.1", "--port", str(port)], port, workdir)


def find_anvil(arg: str | None) -> str | None:
    if arg:
        return arg
    if ANVIL_IN_PACKAGE.exists():
        return str(ANVIL_IN_PACKAGE)
    return shutil.which("anvil")


def ensure_client() -> None:
    if (CLIENT / "node_modules" / "ethers").is_dir():
        return
    if shutil.which("npm") is None:
        raise SystemExit("node_load: npm not found (the load client is an ethers v6 script)")
    r = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=CLIENT, capture_output=True, text=True
    )
    if r.returncode != 0:
        raise SystemExit(f"node_load: npm ci in {CLIENT} failed: {r.stderr.strip().splitlines()[-1:]}")


def compile_token(workdir: Path) -> Path:
    import vyper

    src = (ROOT / "bench" / "contracts" / "token.vy").read_text()
    out = vyper.compile_code(src, output_formats=["abi", "bytecode"])
    path = workdir / "Token.json"
    path.write_text(json.dumps({"abi": out["abi"], "bytecode": out["bytecode"]}))
    return path


def run_client(server: Server, artifact: Path, opts: argparse.Namespace) -> dict:
    cmd = [
        "node",
        str(CLIENT / "load.mjs"),
        "--url",
        server.url,
        "--artifact",
        str(artifact),
        "--txs",
        str(opts.txs),
        "--calls",
        str(opts.calls),
        "--senders",
        str(opts.senders),
        "--pid",
        str(server.proc.pid),
    ]
    if opts.workloads:
        cmd += ["--workloads", opts.workloads]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"node_load: the client failed against {server.name}: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)


def one_run(name: str, start, artifact: Path, opts: argparse.Namespace) -> dict:
    server = start()
    try:
        started = time.perf_counter()
        out = run_client(server, artifact, opts)
        out["wall_seconds"] = time.perf_counter() - started
    finally:
        server.stop()
    problems = [p for r in out["results"] for p in r.get("problems", [])]
    if problems:
        raise SystemExit(f"node_load: {name}: transactions lost, duplicated or inconsistent: {problems[:10]}")
    print(f"  {name}: " + ", ".join(_short(r) for r in out["results"]), file=sys.stderr, flush=True)
    return out


def _short(r: dict) -> str:
    if "tx_per_s" in r:
        return f"{r['workload']} {r['tx_per_s']:.0f} tx/s"
    return f"{r['workload']} {r['latency_ms']['p50']:.2f} ms"


def figure(runs: list[dict], workload: str) -> tuple[float, dict] | None:
    """The median over runs of a workload's figure, and the run whose figure it is (for its percentiles)."""
    items = []
    for run in runs:
        for r in run["results"]:
            if r["workload"] == workload:
                items.append((r["tx_per_s"] if "tx_per_s" in r else r["latency_ms"]["p50"], r))
    if not items:
        return None
    items.sort(key=lambda x: x[0])
    return items[(len(items) - 1) // 2]


def table(ours: list[dict], anvil: list[dict]) -> tuple[str, list[dict]]:
    rows, out = [], []
    head = "| workload | evm-mlir node | anvil | ratio |\n|---|---:|---:|---:|"
    for key, title, unit in WORKLOADS:
        a, b = figure(ours, key), figure(anvil, key) if anvil else None
        if a is None:
            continue
        row = {"workload": key, "unit": unit, "ours": a[0], "ours_detail": a[1]}
        if b is not None:
            row["anvil"] = b[0]
            row["anvil_detail"] = b[1]
            # ratio: how ours compares, >= 1 is as good as anvil (throughput ours/anvil, latency anvil/ours)
            row["ratio"] = a[0] / b[0] if unit == "tx/s" else b[0] / a[0]
        out.append(row)

        def fmt(v):
            return f"{v:,.0f} tx/s" if unit == "tx/s" else f"{v:.2f} ms"

        ratio = ""
        if "ratio" in row:
            ratio = f"{row['ratio']:.2f}x" if unit == "tx/s" else f"{a[0] / b[0]:.2f}x anvil's"
        rows.append(f"| {title} | {fmt(a[0])} | {fmt(b[0]) if b else '-'} | {ratio} |")
    return head + "\n" + "\n".join(rows), out


def details(runs: list[dict], name: str) -> str:
    lines = []
    for key, _title, unit in WORKLOADS:
        f = figure(runs, key)
        if f is None:
            continue
        r = f[1]
        n = r["txs"] if unit == "tx/s" else r["calls"]
        cpu = f", server CPU {r['server_cpu_s'] * 1000 / n:.2f} ms each" if "server_cpu_s" in r else ""
        if unit == "tx/s":
            p = r["send_latency_ms"]
            lines.append(
                f"  {name} {key}: {r['txs']} txs in {r['seconds']:.3f} s ({r['tx_per_s']:.0f} tx/s), "
                f"{r['blocks']} blocks, eth_sendRawTransaction p50 {p['p50']:.2f} ms p90 {p['p90']:.2f} ms "
                f"p99 {p['p99']:.2f} ms max {p['max']:.2f} ms{cpu}"
            )
        else:
            p = r["latency_ms"]
            lines.append(
                f"  {name} {key}: p50 {p['p50']:.3f} ms p90 {p['p90']:.3f} ms p99 {p['p99']:.3f} ms "
                f"max {p['max']:.3f} ms{cpu}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=1, help="alternate the two nodes N times; medians (default 1)")
    p.add_argument("--txs", type=int, default=200, help="transactions per transfer workload (default 200)")
    p.add_argument("--calls", type=int, default=200, help="calls per latency workload (default 200)")
    p.add_argument("--senders", type=int, default=9, help="senders of the in-flight workloads (default 9)")
    p.add_argument("--workloads", default="", help="comma-separated subset of " + ",".join(w[0] for w in WORKLOADS))
    p.add_argument("--evm", default=None, help="our node's --evm backend (default: the node's)")
    p.add_argument("--anvil", default=None, metavar="PATH", help="anvil binary (default: the npm package, or PATH)")
    p.add_argument("--no-anvil", action="store_true", help="our node only")
    p.add_argument("--only", choices=("ours", "anvil"), help="one of the two only")
    p.add_argument("--json", default=None, metavar="FILE", help="write every run's figures to FILE")
    opts = p.parse_args(argv)
    if not 1 <= opts.senders <= 9:
        raise SystemExit("node_load: --senders must be 1..9 (the funded dev accounts besides the deployer)")
    ensure_client()
    anvil = None if opts.no_anvil or opts.only == "ours" else find_anvil(opts.anvil)
    if opts.only == "anvil" and anvil is None:
        raise SystemExit("node_load: anvil not found (npm ci in bench/ethers on linux-x64, or --anvil PATH)")
    if anvil is None and not opts.no_anvil:
        print(
            "node_load: anvil not installed (npm ci in bench/ethers, or --anvil PATH): our node only", file=sys.stderr
        )
    workdir = Path(tempfile.mkdtemp(prefix="evm-mlir-node-load-"))
    ours_runs: list[dict] = []
    anvil_runs: list[dict] = []
    try:
        artifact = compile_token(workdir)
        for i in range(opts.rounds):
            print(f"round {i + 1}/{opts.rounds}", file=sys.stderr, flush=True)
            # anvil first, then ours: a load change in the middle of a round shows in the ratio either way
            if anvil is not None:
                anvil_runs.append(one_run("anvil", lambda: start_anvil(anvil, workdir), artifact, opts))
            if opts.only != "anvil":
                ours_runs.append(one_run("evm-mlir", lambda: start_ours(workdir, opts.evm), artifact, opts))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if opts.only == "anvil":
        ours_runs, anvil_runs = anvil_runs, []
    text, rows = table(ours_runs, anvil_runs)
    load = os.getloadavg()
    print(
        f"\n{opts.txs} transactions per transfer workload ({opts.senders} senders in flight), {opts.calls} calls "
        f"per latency workload, {opts.rounds} round(s), medians; load average {load[0]:.2f} {load[1]:.2f}"
    )
    print(text)
    print(details(ours_runs, "evm-mlir" if opts.only != "anvil" else "anvil"))
    if anvil_runs:
        print(details(anvil_runs, "anvil"))
    if opts.json:
        doc = {
            "rows": rows,
            "ours": ours_runs,
            "anvil": anvil_runs,
            "loadavg": load,
            "options": {k: v for k, v in vars(opts).items() if k != "json"},
        }
        Path(opts.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
