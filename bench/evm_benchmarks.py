"""The standard EVM benchmark set (bench/evm_benchmarks.json: evmone/revm/revmc's set) on the mlir
backend vs the interpreter's results and pyrevm: checks outputs and gas, prints microseconds per
execution (each a full message call through the shared host; compile excluded).

Usage: python bench/evm_benchmarks.py [-k NAME] [--reps N] [--no-revm]
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

CALLER = bytes.fromhex("1000000000000000000000000000000000000001")
TARGET = bytes.fromhex("2000000000000000000000000000000000000002")
GAS = 1_000_000_000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="only")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-revm", action="store_true")
    args = ap.parse_args(argv)
    from evm.backends import get_backend
    from evm.host import Host
    from evm.message import BlockEnv, Message
    from evm.spec import Fork
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    bench = json.loads((ROOT / "bench" / "evm_benchmarks.json").read_text())
    backend = get_backend("mlir")
    evm = None
    if not args.no_revm:
        import pyrevm

        evm = pyrevm.EVM()
        evm.set_balance("0x" + CALLER.hex(), 10**20)
    print(f"{'benchmark':36} {'gas':>10} {'ok':>3} {'compile s':>9} {'mlir us':>10} {'revm us':>10} {'x':>6}")
    for name, spec in bench.items():
        if not isinstance(spec, dict) or (args.only and args.only not in name):
            continue
        code = bytes.fromhex(spec["code"].removeprefix("0x"))
        inputs = spec["inputs"] if isinstance(spec["inputs"], dict) else json.loads(spec["inputs"])
        state = JournaledState(StateDB(MemoryStore()))
        state.set_code(TARGET, code)
        state.commit()
        state.begin_transaction()
        host = Host(state, BlockEnv(fork=Fork.CANCUN), backend)
        t = time.perf_counter()
        backend.entry(code, Fork.CANCUN)
        compile_s = time.perf_counter() - t
        if evm is not None:
            evm.insert_account_info("0x" + TARGET.hex(), pyrevm.AccountInfo(code=code))
        for iname, inp in inputs.items():
            data = bytes.fromhex(inp["calldata"])
            msg = Message(CALLER, TARGET, 0, data, GAS, code, TARGET)
            times, r = [], None
            for _ in range(args.reps):
                snap = state.snapshot()
                t = time.perf_counter()
                r = host.execute_message(msg)
                times.append(time.perf_counter() - t)
                state.revert(snap)
            ok = inp.get("expected") is None or r.output.hex() == inp["expected"]
            rv = None
            if evm is not None:
                rts = []
                for _ in range(args.reps):
                    cp = evm.snapshot()
                    t = time.perf_counter()
                    out = evm.message_call("0x" + CALLER.hex(), "0x" + TARGET.hex(), calldata=data, gas=GAS)
                    rts.append(time.perf_counter() - t)
                    evm.revert(cp)
                rv = statistics.median(rts) * 1e6
                ok = ok and bytes(out) == r.output
            m = statistics.median(times) * 1e6
            print(
                f"{name + '/' + iname:36} {GAS - r.gas_left:10d} {'yes' if ok and r.status == 'success' else 'NO':>3} "
                f"{compile_s:9.2f} {m:10.1f} {rv if rv is not None else float('nan'):10.1f} "
                f"{(rv / m) if rv else float('nan'):6.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
