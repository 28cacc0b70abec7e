"""Compile time of the MLIR backend per KB of bytecode (no cache): analysis, MLIR construction,
lowering to LLVM IR, LLVM O3 + object emission, and loading into the JIT.

Contracts: the Vyper ERC-20 of bench/contracts/token.vy (runtime and init code, compiled offline
with the installed vyper), the factorial/fibonacci programs, and the standard EVM benchmark set
(bench/evm_benchmarks.json: snailtracer, weierstrudel, blake2b, sha1, ...).

Usage: python bench/compile_time.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def vyper_token() -> dict[str, bytes]:
    src = ROOT / "bench" / "contracts" / "token.vy"
    vyper = Path(sys.executable).parent / "vyper"
    out = subprocess.run(
        [str(vyper), "-f", "bytecode_runtime,bytecode", str(src)], capture_output=True, text=True, check=True
    ).stdout.split()
    return {"vyper_erc20_runtime": bytes.fromhex(out[0][2:]), "vyper_erc20_initcode": bytes.fromhex(out[1][2:])}


def contracts() -> dict[str, bytes]:
    out = {}
    try:
        out.update(vyper_token())
    except Exception as exc:  # vyper missing: skip, say so
        print(f"(vyper token skipped: {exc})", file=sys.stderr)
    progs = json.loads((ROOT / "bench" / "programs.json").read_text())
    for k in ("factorial", "fibonacci"):
        out[k] = bytes.fromhex(progs[k]["code"])
    bench = json.loads((ROOT / "bench" / "evm_benchmarks.json").read_text())
    for k, v in bench.items():
        if isinstance(v, dict) and "code" in v:
            out[k] = bytes.fromhex(v["code"].removeprefix("0x"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from evm.compiler.compile import CompileStats, compile_to_object
    from evm.compiler.runtime import get_jit
    from evm.spec import Fork

    jit = get_jit()
    rows = []
    for name, code in contracts().items():
        st = CompileStats()
        t0 = time.perf_counter()
        obj, sym = compile_to_object(code, Fork.OSAKA, st)
        t1 = time.perf_counter()
        jit.load_object(obj, sym)
        t2 = time.perf_counter()
        total = t2 - t0
        kb = len(code) / 1024
        rows.append(
            {
                "contract": name,
                "bytes": len(code),
                "total_ms": total * 1e3,
                "ms_per_kb": total * 1e3 / kb,
                "analysis_ms": st.analysis_s * 1e3,
                "mlir_build_ms": st.mlir_build_s * 1e3,
                "lower_ms": st.lower_s * 1e3,
                "llvm_ms": st.llvm_s * 1e3,
                "load_ms": (t2 - t1) * 1e3,
                "object_bytes": len(obj),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(
        f"{'contract':24} {'bytes':>6} {'total ms':>9} {'ms/KB':>7} {'analysis':>9} {'mlir':>7} {'lower':>7} "
        f"{'llvm':>7} {'load':>6}"
    )
    for r in rows:
        print(
            f"{r['contract']:24} {r['bytes']:6d} {r['total_ms']:9.1f} {r['ms_per_kb']:7.1f} {r['analysis_ms']:9.1f} "
            f"{r['mlir_build_ms']:7.1f} {r['lower_ms']:7.1f} {r['llvm_ms']:7.1f} {r['load_ms']:6.1f}"
        )
    tot_b = sum(r["bytes"] for r in rows)
    tot_ms = sum(r["total_ms"] for r in rows)
    print(f"{'all':24} {tot_b:6d} {tot_ms:9.1f} {tot_ms * 1024 / tot_b:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
