"""Side-by-side benchmark: the MLIR-compiled backend vs pyrevm (revm) on the factorial and
fibonacci programs (bench/programs.json, N = 1000), per execution.

Every execution is a complete message call, the same work as pyrevm's `message_call`: a fresh
frame, a journal snapshot, the value-transfer check, precompile lookup, the native code, the
result (status, gas, output bytes) read back, the snapshot dropped or reverted. Start-up and
compilation are excluded (one warm-up call). Nothing is memoized: each call runs the loop.

Views of the mlir backend, each one layer around the previous (docs/compiler.md, "The message path"):
  native -- the compiled entry alone: one ctypes call on a prepared context
  frame  -- `backend.run_frame(msg, host)` inside an explicit snapshot/revert
  host   -- `Host.execute_message(msg)`: the path every CALL takes
  evm    -- `evm.execute(msg, state, block, tx, "mlir")` inside a snapshot/revert (top level)
  run    -- a new `Message`, then as `evm`: what `evm-mlir run --repeat` and bench/suite.py time

Usage: python bench/run.py [--n 1000] [--reps 20000] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROGRAMS = ROOT / "bench" / "programs.json"
CALLER = bytes.fromhex("1000000000000000000000000000000000000001")
TARGETS = {
    "fibonacci": bytes.fromhex("2000000000000000000000000000000000000002"),
    "factorial": bytes.fromhex("2000000000000000000000000000000000000003"),
}
GAS = 10_000_000


def timeit(fn, reps: int, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        out.append((time.perf_counter() - t) / reps * 1e6)
    return out


def bench_mlir(progs, n, reps, rounds):
    from evm import execute
    from evm.backends import get_backend
    from evm.host import Host
    from evm.message import BlockEnv, Message, TxEnv
    from evm.spec import Fork
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    state = JournaledState(StateDB(MemoryStore()))
    state.set_balance(CALLER, 10**20)
    for name, addr in TARGETS.items():
        state.set_code(addr, bytes.fromhex(progs[name]["code"]))
    state.commit()
    state.begin_transaction()
    env, tx = BlockEnv(fork=Fork.OSAKA), TxEnv(origin=CALLER)
    backend = get_backend("mlir")
    host = Host(state, env, backend, tx)
    data = n.to_bytes(32, "big")
    res = {}
    for name, addr in TARGETS.items():
        code = state.get_code(addr)
        msg = Message(CALLER, addr, 0, data, GAS, code, addr)
        t0 = time.perf_counter()
        r = host.execute_message(msg)  # compiles (or loads from the disk cache)
        first = time.perf_counter() - t0
        assert r.status == "success", r
        expected = progs[name]["examples"].get(str(n))
        if expected:
            assert r.output.hex() == expected[2:], (name, r.output.hex())

        def via_host():
            r = host.execute_message(msg)
            return r.output

        def via_frame():
            snap = state.snapshot()
            r = backend.run_frame(msg, host)
            if r.status != "success":
                state.revert(snap)
            return r.output

        def via_execute():
            snap = state.snapshot()
            out = execute(msg, state, env, tx, "mlir").output
            state.revert(snap)
            return out

        def via_run():
            m = Message(CALLER, addr, 0, data, GAS, code, addr)
            snap = state.snapshot()
            out = execute(m, state, env, tx, "mlir").output
            state.revert(snap)
            return out

        fn, ctx = backend.entry(code, env.rules.evm), backend._context(0)
        ctx.busy = False

        def via_native():
            return fn(ctx.arg, GAS, data)  # (the entry stores gas and calldata into the context)

        res[name] = {
            "output": r.output.hex(),
            "gas_used": GAS - r.gas_left,
            "first_call_s": first,
            "native_us": timeit(via_native, reps, rounds),
            "host_us": timeit(via_host, reps, rounds),
            "frame_us": timeit(via_frame, reps, rounds),
            "evm_us": timeit(via_execute, reps, rounds),
            "run_us": timeit(via_run, reps, rounds),
        }
    return res


def bench_revm(progs, n, reps, rounds):
    import pyrevm

    evm = pyrevm.EVM(spec_id="Cancun")  # "CANCUN" or no spec would mean its latest
    caller = "0x" + CALLER.hex()
    evm.set_balance(caller, 10**20)
    data = n.to_bytes(32, "big")
    res = {}
    for name, addr in TARGETS.items():
        a = "0x" + addr.hex()
        evm.insert_account_info(a, pyrevm.AccountInfo(code=bytes.fromhex(progs[name]["code"])))
        out = bytes(evm.message_call(caller, a, calldata=data, gas=GAS))
        gas_used = evm.result.gas_used if evm.result is not None else None

        def call():
            return evm.message_call(caller, a, calldata=data, gas=GAS)

        res[name] = {"output": out.hex(), "gas_used_tx": gas_used, "revm_us": timeit(call, max(reps // 20, 1), rounds)}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    progs = json.loads(PROGRAMS.read_text())
    mlir = bench_mlir(progs, args.n, args.reps, args.rounds)
    revm = bench_revm(progs, args.n, args.reps, args.rounds)
    views = ("native", "frame", "host", "evm", "run")
    rows = []
    for name in TARGETS:
        m, r = mlir[name], revm[name]
        assert m["output"] == r["output"], (name, m["output"], r["output"])
        rv, rv_best = statistics.median(r["revm_us"]), min(r["revm_us"])
        row = {
            "program": name,
            "n": args.n,
            "revm_us": rv,
            "revm_best_us": rv_best,
            "gas_used": m["gas_used"],
            "first_call_ms": m["first_call_s"] * 1e3,
        }
        for v in views:
            row[f"mlir_{v}_us"] = statistics.median(m[f"{v}_us"])
            row[f"mlir_{v}_us_best"] = min(m[f"{v}_us"])
            row[f"speedup_{v}"] = rv / row[f"mlir_{v}_us"]
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for label, suffix, ref in (("median", "", "revm_us"), ("best", "_best", "revm_best_us")):
        print(f"N = {args.n}; {label} of {args.rounds} rounds (us per execution; revm = pyrevm message_call)")
        print(f"{'program':10} {'revm':>8} " + " ".join(f"{v:>8} {'x':>5}" for v in views))
        for row in rows:
            cells = []
            for v in views:
                us = row[f"mlir_{v}_us{suffix}"]
                cells.append(f"{us:8.2f} {row[ref] / us:5.1f}")
            print(f"{row['program']:10} {row[ref]:8.2f} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
