"""Block benchmark: Mgas/s per family of the execution-spec-tests benchmark blockchain tests
(`/work/shared/fixtures/benchmark`: one worst-case block per family), every engine side by side in one run.

Engines (each run in a fresh process, as `evm-mlir blocktest --evm B` runs a test):

* `interpreter`   `--evm interpreter`.
* `tiered-cold`   `--evm tiered` with an empty compile cache (a fresh `EVM_MLIR_CACHE`): hot code is compiled in
                  tiered's background worker process while the block runs.
* `mlir-cold`     `--evm mlir` with an empty cache: every frame's code is compiled before it runs (this run
                  fills the family's warm cache; its seconds are compile time plus execution).
* `mlir-warm`     `--evm mlir` with the cache `mlir-cold` left (every code of the block on disk).
* `tiered-warm`   `--evm tiered` with that same cache.
* `revm`          pyrevm 0.3.7 (`EVM(spec_id="Cancun")`) executing the block's transactions as message calls.

What each figure includes. Ours: decoding the block RLP and `Blockchain.import_block` (header and body checks,
sender recovery, the system calls, executing every transaction, receipts, the state root, the write batch),
timed with `perf_counter`; not timed: process start, imports (the precompiles' libraries too), creating the
backend and its JIT with the runtime module (a node pays them once; except tiered-cold, whose JIT is made when
its first compiled code loads, as in a node started with an empty cache: timed when that is within the
block), building the pre state, and the checks afterwards (block hash equal
to the fixture's, which covers state, receipts and gas; `lastblockhash`; the post state equal to
`postState`). revm: the block's transactions as `message_call`s only (no signature recovery, no system
calls, no fees or nonces, no state root), with transient storage reset between transactions; per
transaction its gas must equal the fixture receipt's and it must not halt for another reason than out of gas
(how these blocks' loops end), else the family is marked not comparable (n/c), as
are families using Osaka-only features (pyrevm 0.3.7 stops at Cancun). Mgas/s = the block's gas used /
seconds.

pyrevm 0.3.7 traps, handled here: the spec name must be spelled "Cancun" ("CANCUN" silently means latest);
`message_call` charges no fees, bumps no nonce and forces BASEFEE to 0; accounts and slots stay warm from
one call to the next (unavoidable: a block's later transactions see warm accounts); `set_balance` and
`insert_account_storage` warm the account in revm's journal, so pre-state accounts are built in a scratch
EVM, copied with `insert_account_info`, and storage inserts are wrapped in snapshot/revert.

A block the interpreter imports in under `--short` seconds (default 2.5: the precompile, keccak and selfdestruct
families, 0.1-2 s) is run SHORT_ROUNDS (5) times by every engine, in rounds (every engine once per round, so that a
slow phase of the machine falls on all of them), each in a fresh process (a cold engine with a fresh empty
cache each time), and the median is reported (all samples in the JSON): single runs of such blocks moved by
a third on this machine, which is the size of the differences being measured.

Each engine run has a timeout (`--timeout`); a run that exceeds it is reported as a timeout (when
`mlir-cold` times out, the warm cache is incomplete: `mlir-warm` is not run and `tiered-warm` runs with
whatever was compiled, marked `*`).

Usage: python bench/blocks.py [--gas 100M] [-k FAMILY] [--engines a,b,...] [--timeout S] [--json OUT]
                              [--markdown] [PATH ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT.parent / "shared" / "fixtures" / "benchmark"
ENGINES = ("interpreter", "tiered-cold", "mlir-cold", "mlir-warm", "tiered-warm", "revm")
SHORT_ROUNDS = 5  # runs per engine of a short block (--short), in rounds; the median reported
BACKEND = {
    "interpreter": "interpreter",
    "tiered-cold": "tiered",
    "tiered-warm": "tiered",
    "mlir-cold": "mlir",
    "mlir-warm": "mlir",
}
# Families whose blocks use what pyrevm 0.3.7 (Cancun) does not have.
OSAKA_ONLY = {"clz": "CLZ (EIP-7939) is Osaka", "p256verify": "P256VERIFY (EIP-7951) is Osaka"}


def family_of(test: str) -> str:
    """`...::test_call_frame_context_ops[fork_Osaka-blockchain_test-opcode_ADDRESS-benchmark-gas-value_100M]`
    -> `call_frame_context_ops/opcode_ADDRESS` (the parameter is left out when it repeats the name)."""
    m = re.search(r"test_(\w+)\[fork_\w+?-blockchain_test-(?:(.*)-)?benchmark-gas-value_\w+\]", test)
    if not m:
        return test.rsplit("::", 1)[-1]
    name, param = m.group(1), m.group(2)
    return f"{name}/{param}" if param and param != name else name


def find_cases(paths: list[Path], gas: str, substring: str | None) -> list[tuple[str, str, str]]:
    """(family, file, test id) of every blockchain test named `...gas-value_<gas>]` (and `substring`)."""
    out = []
    for p in paths:
        files = sorted(p.rglob("*.json")) if p.is_dir() else [p]
        for f in files:
            with open(f) as fh:
                for test in json.load(fh):
                    if not test.endswith(f"gas-value_{gas}]"):
                        continue
                    fam = family_of(test)
                    if substring and substring not in fam and substring not in test:
                        continue
                    out.append((fam, str(f), test))
    return sorted(out, key=lambda c: (c[1], c[0]))


# ------------------------------------------------------------------------------------------ workers
def _load(file: str, test: str) -> dict:
    with open(file) as fh:
        return json.load(fh)[test]


def run_ours(file: str, test: str, engine: str) -> dict:
    """Import the test's blocks with `engine`'s backend; seconds of decoding + import_block only."""
    backend = BACKEND[engine]
    sys.path.insert(0, str(ROOT))
    from client.blocktest import chain_for_fixture, post_state_mismatch
    from client.chain.validation import decode_block
    from client.fixtures import hex_bytes
    from common.heap import freeze_long_lived
    from evm.backends import get_backend
    from evm.precompiles import precompiles_for
    from evm.spec import Fork

    fixture = _load(file, test)
    be = get_backend(backend)
    for fork in Fork:  # the precompiles' libraries load on first use (mcl alone ~170 ms): once per process
        precompiles_for(fork)
    if engine not in ("interpreter", "tiered-cold"):
        from evm.compiler.runtime import get_jit

        get_jit()  # the process's JIT and runtime module: a node creates them once
    # (tiered with an empty cache creates them when it loads its first compiled code, after its worker built
    # the runtime module: within the block, and timed as such; building it here would also be unfaithful)
    chain = chain_for_fixture(fixture, backend)
    raws = [hex_bytes(b["rlp"]) for b in fixture["blocks"]]
    freeze_long_lived()  # as the runners and the node do once set up
    if any(b.get("expectException") for b in fixture["blocks"]):
        return {"ok": False, "reason": "blocks expected to be rejected are not benchmarked"}
    results = []
    start = time.perf_counter()
    for raw in raws:
        results.append(chain.import_block(decode_block(raw), len(raw)))
    seconds = time.perf_counter() - start
    reason = ""
    for i, (b, r) in enumerate(zip(fixture["blocks"], results)):
        want = (b.get("blockHeader") or {}).get("hash")
        if want and hex_bytes(want) != r.hash:
            reason = f"block #{i} hash 0x{r.hash.hex()} != fixture's {want}"
    head = chain.head()
    if not reason and head.hash != hex_bytes(fixture["lastblockhash"]):
        reason = f"head 0x{head.hash.hex()} != lastblockhash"
    reason = reason or post_state_mismatch(chain.store.kv, fixture, head.state_root)
    stats = getattr(be, "stats", lambda: {})()
    return {
        "ok": not reason,
        "reason": reason,
        "seconds": seconds,
        "gas": sum(r.gas_used for r in results),
        "txs": sum(r.tx_count for r in results),
        "stats": stats,
    }


def run_revm(file: str, test: str) -> dict:
    """The test's transactions as pyrevm message calls on its pre state (see the module docstring)."""
    import pyrevm
    from pyrevm import EVM, AccountInfo, BlockEnv, CfgEnv, Env, TxEnv

    fixture = _load(file, test)
    h = lambda v: int(v, 16)  # noqa: E731
    b = lambda v: bytes.fromhex(v[2:])  # noqa: E731
    blocks = fixture["blocks"]
    first = blocks[0]["blockHeader"]
    env = Env(
        cfg=CfgEnv(chain_id=h(fixture.get("config", {}).get("chainid", "0x1"))),
        block=BlockEnv(
            number=h(first["number"]),
            coinbase=first["coinbase"],
            timestamp=h(first["timestamp"]),
            difficulty=0,
            prevrandao=b(first["mixHash"]),
            basefee=h(first["baseFeePerGas"]),
            gas_limit=h(first["gasLimit"]),
            excess_blob_gas=h(first.get("excessBlobGas", "0x0")),
        ),
    )
    evm = EVM(env=env, spec_id="Cancun", gas_limit=h(first["gasLimit"]))
    scratch = EVM(spec_id="Cancun")
    for addr, acc in fixture["pre"].items():
        code = b(acc["code"]) or None
        info = AccountInfo(nonce=h(acc["nonce"]), code=code)
        if h(acc["balance"]):
            # set_balance warms the account: build it in a scratch EVM and copy the AccountInfo over
            scratch.insert_account_info(addr, info)
            scratch.set_balance(addr, h(acc["balance"]))
            info = scratch.basic(addr)
        evm.insert_account_info(addr, info)
        for slot, value in acc["storage"].items():
            cp = evm.snapshot()  # an insert outside a snapshot leaves the account warm
            evm.insert_account_storage(addr, h(slot), h(value))
            evm.revert(cp)
    calls, want_gas = [], []
    for blk in blocks:
        prev = 0
        for tx, rc in zip(blk["transactions"], blk.get("receipts", [])):
            cum = h(rc["cumulativeGasUsed"])
            want_gas.append(cum - prev)
            prev = cum
            if not tx.get("to"):
                return {"ok": False, "reason": "contract-creating transactions are not run by this revm driver"}
            calls.append(
                (
                    tx["sender"],
                    tx["to"],
                    b(tx["data"]),
                    h(tx["value"]),
                    h(tx["gasLimit"]),
                    [b(x) for x in tx.get("blobVersionedHashes", [])],
                    h(tx.get("maxFeePerBlobGas", "0x0")),
                )
            )
    statuses, gas = [], []
    start = time.perf_counter()
    for sender, to, data, value, gas_limit, blob_hashes, blob_fee in calls:
        evm.reset_transient_storage()
        evm.set_tx_env(TxEnv(blob_hashes=blob_hashes, max_fee_per_blob_gas=blob_fee or None))
        try:
            evm.message_call(sender, to, data, value=value, gas=gas_limit)
            statuses.append("success")
        except RuntimeError as exc:  # revm raises on revert and halt
            statuses.append(str(exc)[:80])
        gas.append(evm.result.gas_used if evm.result is not None else None)
    seconds = time.perf_counter() - start
    reason = ""
    # The blocks' loops end in out-of-gas; any other halt (an unknown opcode, ...) is something revm lacks.
    # (The receipts' "status" fields of these fixtures do not match their RLP, so gas is what is compared.)
    bad = [
        i
        for i in range(len(calls))
        if gas[i] != want_gas[i] or statuses[i].startswith("Halt") and "OutOfGas" not in statuses[i]
    ]
    if bad:
        i = bad[0]
        reason = f"transaction {i}: revm {statuses[i]}, gas {gas[i]} (receipt: gas {want_gas[i]})" + (
            f"; {len(bad) - 1} more" if len(bad) > 1 else ""
        )
    from importlib.metadata import version

    return {
        "ok": not reason,
        "reason": reason,
        "seconds": seconds,
        "gas": sum(g or 0 for g in gas),
        "txs": len(calls),
        "version": version("pyrevm"),
        "pyrevm_module": pyrevm.__name__,
    }


def worker_main(args) -> int:
    try:
        if args.worker == "revm":
            out = run_revm(args.file, args.test)
        else:
            out = run_ours(args.file, args.test, args.worker)
    except Exception as exc:  # reported in the table, never a traceback there
        out = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# ------------------------------------------------------------------------------------------ driver
def run_engine(engine: str, file: str, test: str, cache: Path | None, timeout: float) -> dict:
    """One engine on one test in a fresh process (own session, so that a timeout also ends the tiered
    compile worker it started)."""
    env = dict(os.environ)
    if cache is not None:
        env["EVM_MLIR_CACHE"] = str(cache)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, "--file", file, "--test", test]
    wall = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return {
            "ok": False,
            "timeout": True,
            "reason": f"timeout after {timeout:.0f} s",
            "wall": time.perf_counter() - wall,
        }
    _kill_group(proc)  # a tiered compile worker still running must not compete with the next engine
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            res["wall"] = time.perf_counter() - wall
            return res
    tail = (err.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "reason": f"worker exited {proc.returncode}: {tail[:200]}", "wall": time.perf_counter() - wall}


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def mgas(res: dict | None) -> float | None:
    if not res or not res.get("ok") or not res.get("seconds") or not res.get("gas"):
        return None
    return res["gas"] / res["seconds"] / 1e6


def osaka_only(fam: str) -> str | None:
    """Why revm cannot run family `fam` (its block uses an Osaka feature), or None."""
    base = fam.split("/")[0]
    return OSAKA_ONLY.get(base) or OSAKA_ONLY.get(base.split("_")[0])


def bench_family(
    n: int, fam: str, file: str, test: str, engines: list[str], timeout: float, tmp: Path, short: float = 0.0
) -> dict:
    row = {"family": fam, "file": file, "test": test, "runs": {}}
    warm = tmp / f"{n}-warm"  # filled by mlir-cold, used by mlir-warm and tiered-warm
    caches = {"tiered-cold": tmp / f"{n}-tiered-cold", "mlir-cold": warm, "mlir-warm": warm, "tiered-warm": warm}
    # A short block gets SHORT_ROUNDS rounds, each running every engine once in turn, so that a slow phase
    # of the machine (minutes long, here) falls on every engine alike rather than on whichever ran then.
    samples: dict[str, list[dict]] = {e: [] for e in engines}
    stands: set[str] = set()  # engines whose last run failed: that result stands
    rounds, r = 1, 0
    while r < rounds:
        for engine in engines:
            if engine in stands:
                continue
            cache = caches.get(engine)
            cold_failed = "mlir-cold" in samples and not (samples["mlir-cold"] or [{}])[-1].get("ok")
            if engine == "mlir-warm" and cold_failed:
                if r == 0:
                    samples[engine].append({"ok": False, "reason": "no warm cache (mlir-cold did not finish)"})
                stands.add(engine)
                continue
            if engine == "tiered-warm" and cold_failed and r > 0:
                continue  # (its first run, with the partial cache, stands)
            if engine in ("tiered-cold", "mlir-cold"):  # (each cold run starts from an empty cache)
                shutil.rmtree(cache, ignore_errors=True)
            res = run_engine(engine, file, test, cache, timeout)
            if engine == "tiered-warm" and cold_failed:
                res["note"] = "partial cache"
            samples[engine].append(res)
            if not res.get("ok"):
                stands.add(engine)  # a failure or timeout stands as the engine's result
            elif r == 0 and engine == engines[0] and short and res["seconds"] < short:
                rounds = SHORT_ROUNDS  # a short block: every engine's figure is the median of several runs
        r += 1
    for engine in engines:
        res = _median(samples[engine])
        row["runs"][engine] = res
        m = mgas(res)
        shown = (
            f"{m:9.1f} Mgas/s"
            if m is not None
            else "  timeout"
            if res.get("timeout")
            else f"  {res.get('reason', '')[:70]}"
        )
        n_of = len(samples[engine])
        of = f", median of {n_of}" if n_of > 1 else ""
        print(f"  {fam:48} {engine:12} {shown}  ({res.get('wall', 0):.1f} s wall{of})", file=sys.stderr, flush=True)
    why = osaka_only(fam)
    if why:
        row["not_comparable"] = why
    elif "revm" in row["runs"] and not row["runs"]["revm"].get("ok"):
        row["not_comparable"] = row["runs"]["revm"].get("reason", "")
    for c in set(caches.values()):
        shutil.rmtree(c, ignore_errors=True)
    return row


def _median(samples: list[dict]) -> dict:
    """The run whose seconds are the median of `samples` (every one ok), with all their seconds in
    "samples"; the last run when one failed."""
    if len(samples) == 1 or not all(r.get("ok") for r in samples):
        return samples[-1]
    mid = dict(sorted(samples, key=lambda r: r["seconds"])[len(samples) // 2])
    mid["samples"] = [r["seconds"] for r in samples]
    return mid


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def table(rows: list[dict]) -> tuple[list[list[str]], dict]:
    """Cells of the table and the geometric means."""
    cols = {"tc": [], "tw": [], "wr": [], "interp": [], "mw": [], "revm": []}
    cells = []
    for r in rows:
        m = {e: mgas(r["runs"].get(e)) for e in ENGINES}
        comparable = "not_comparable" not in r
        revm = m["revm"] if comparable else None
        tc, tw = _ratio(m["tiered-cold"], m["interpreter"]), _ratio(m["tiered-warm"], m["interpreter"])
        wr = _ratio(m["tiered-warm"], revm)
        for k, v in (
            ("tc", tc),
            ("tw", tw),
            ("wr", wr),
            ("interp", m["interpreter"]),
            ("mw", m["mlir-warm"]),
            ("revm", revm),
        ):
            if v:
                cols[k].append(v)

        def f(v, fmt="{:,.1f}", engine=None):
            if v is not None:
                return fmt.format(v)
            res = r["runs"].get(engine) if engine else None
            if res is None:
                return "" if engine is None else "-"
            if res.get("timeout"):
                return "timeout"
            if "no warm cache" in res.get("reason", ""):
                return "no cache"
            return "fail" if res.get("reason") else "-"

        star = "*" if r["runs"].get("tiered-warm", {}).get("note") else ""
        cold = r["runs"].get("mlir-cold") or {}
        cold_s = f"{cold['seconds']:.1f}" if cold.get("ok") else ("timeout" if cold.get("timeout") else "-")
        if r["runs"].get("interpreter", {}).get("ok") and not r["runs"]["interpreter"].get("gas"):
            # a block without gas (the empty block): milliseconds instead of Mgas/s, outside the means
            def ms(e):
                res = r["runs"].get(e) or {}
                return f"{res['seconds'] * 1e3:.1f} ms" if res.get("ok") else f(None, engine=e)

            cells.append(
                [
                    r["family"] + " (0 gas)",
                    ms("interpreter"),
                    ms("tiered-cold"),
                    ms("tiered-warm"),
                    ms("mlir-warm"),
                    ms("revm"),
                    "",
                    cold_s,
                ]
            )
            continue
        cells.append(
            [
                r["family"],
                f(m["interpreter"], engine="interpreter"),
                f(tc, "{:.2f}x", "tiered-cold"),
                f(tw, "{:.2f}x", "tiered-warm") + star,
                f(m["mlir-warm"], engine="mlir-warm"),
                f(revm, engine="revm") if comparable else "n/c",
                f(wr, "{:.2f}x") if comparable else "n/c",
                cold_s,
            ]
        )
    geo = {k: (math.exp(sum(map(math.log, v)) / len(v)), len(v)) if v else (None, 0) for k, v in cols.items()}
    return cells, geo


HEADER = [
    "family",
    "interpreter Mgas/s",
    "tiered cold / interp",
    "tiered warm / interp",
    "mlir warm Mgas/s",
    "revm Mgas/s",
    "tiered warm / revm",
    "mlir cold s",
]


def render(rows: list[dict], markdown: bool) -> str:
    cells, geo = table(rows)

    def g(k, fmt):
        v, n = geo[k]
        return f"{fmt.format(v)} ({n})" if v else "-"

    foot = [
        "geometric mean (n)",
        g("interp", "{:,.1f}"),
        g("tc", "{:.2f}x"),
        g("tw", "{:.2f}x"),
        g("mw", "{:,.1f}"),
        g("revm", "{:,.1f}"),
        g("wr", "{:.2f}x"),
        "",
    ]
    lines = []
    if markdown:
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|---|" + "---:|" * (len(HEADER) - 1))
        for c in cells + [foot]:
            lines.append("| " + " | ".join(c) + " |")
    else:
        w = [max(len(str(c[i])) for c in [HEADER, foot, *cells]) for i in range(len(HEADER))]
        fmt = lambda c: "  ".join(str(x).ljust(w[0]) if i == 0 else str(x).rjust(w[i]) for i, x in enumerate(c))  # noqa: E731
        lines += [fmt(HEADER), "-" * (sum(w) + 2 * len(w)), *map(fmt, cells), fmt(foot)]
    notes = [f"{r['family']}: revm not comparable: {r['not_comparable']}" for r in rows if r.get("not_comparable")]
    notes += [
        f"{r['family']} [{e}]: {res.get('reason')}"
        for r in rows
        for e, res in r["runs"].items()
        if not res.get("ok") and not res.get("timeout") and e != "revm"
    ]
    notes += [
        f"{r['family']}: tiered warm ran with a partial cache (mlir-cold did not finish)"
        for r in rows
        if r["runs"].get("tiered-warm", {}).get("note")
    ]
    return "\n".join(lines + [("- " if markdown else "note: ") + n for n in notes])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--gas", default="100M", help="the benchmark-gas-value variant (default 100M)")
    ap.add_argument("-k", dest="substring", help="only families (or test ids) containing this")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per engine run (default 300)")
    ap.add_argument(
        "--short",
        type=float,
        default=2.5,
        help=f"a block the interpreter imports in less than this many seconds is run {SHORT_ROUNDS} times by every "
        "engine, each figure the median (default 2.5; 0: one run each)",
    )
    ap.add_argument("--json", dest="json_out", help="write every run's figures here")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--test", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        print(f"error: unknown engine(s) {', '.join(unknown)} (known: {', '.join(ENGINES)})", file=sys.stderr)
        return 1
    if "mlir-warm" in engines or "tiered-warm" in engines:
        if "mlir-cold" not in engines:
            engines.insert(engines.index("mlir-warm" if "mlir-warm" in engines else "tiered-warm"), "mlir-cold")
    engines = [e for e in ENGINES if e in engines]  # the cold run fills the warm cache
    paths = args.paths or [DEFAULT_FIXTURES]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 1
    cases = find_cases(paths, args.gas, args.substring)
    if not cases:
        print(f"error: no benchmark test with gas-value_{args.gas} in {', '.join(map(str, paths))}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="evm-mlir-blocks-") as d:
        for i, (fam, file, test) in enumerate(cases):
            print(f"[{i + 1}/{len(cases)}] {fam}", file=sys.stderr, flush=True)
            rows.append(bench_family(i, fam, file, test, engines, args.timeout, Path(d), args.short))
    wall = time.perf_counter() - t0
    print(
        f"\nbenchmark blocks (gas-value_{args.gas}), {len(rows)} families; Mgas/s = block gas / seconds of block "
        f"import (ours) or of the transactions' message calls (revm); each engine in a fresh process; "
        f"see bench/blocks.py's docstring for what each column includes."
    )
    print(render(rows, args.markdown))
    print(f"total wall time {wall:.0f} s")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json_out, "w") as fh:
            json.dump(
                {"gas": args.gas, "engines": engines, "timeout": args.timeout, "wall": wall, "rows": rows}, fh, indent=1
            )
    failed = [
        r
        for r in rows
        for e, res in r["runs"].items()
        if not res.get("ok") and not res.get("timeout") and e != "revm" and "no warm cache" not in res.get("reason", "")
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
