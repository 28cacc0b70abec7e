"""Compile time of the MLIR backend per KB of bytecode (no cache): analysis, MLIR construction,
lowering to LLVM IR, LLVM O3 + object emission, and loading into the JIT.

Contracts: the Vyper ERC-20 of bench/contracts/token.vy (runtime and init code, compiled offline
with the installed vyper), the factorial/fibonacci programs, and the standard EVM benchmark set
(bench/evm_benchmarks.json: snailtracer, weierstrudel, blake2b, sha1, ...).

With --shapes: the worst-case shapes of bench/compile_shapes.py (one opcode class repeated, JUMPDEST
floods, small blocks, jump tables, precompile calls) at several sizes up to the 24,576-byte limit,
each compiled in a fresh process with an empty cache (the runtime module and the op library, built
once per machine, are copied in first and their one-time cost reported apart): wall and CPU seconds,
the tier, the stages, and per shape the seconds per KB; then the worst and the median at 24 KB.

Usage: python bench/compile_time.py [--json] [--shapes [--sizes 1,4,8,12,24] [--only a,b]]
"""

from __future__ import annotations

import argparse
import json
import os
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


def _child(path: str) -> int:
    """Compile the code in `path` (hex) at Osaka in this fresh process; one JSON line."""
    from evm.compiler.compile import CompileStats, compile_to_object
    from evm.compiler.runtime import get_jit
    from evm.spec import Fork

    code = bytes.fromhex(Path(path).read_text())
    t = time.perf_counter()
    jit = get_jit()  # the runtime module (from the cache the parent seeded)
    jit_s = time.perf_counter() - t
    st = CompileStats()
    t, c = time.perf_counter(), time.process_time()
    obj, sym = compile_to_object(code, Fork.OSAKA, st)
    jit.load_object(obj, sym)  # (loads the op library too when the code calls it)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    row = dict(bytes=len(code), wall=wall, cpu=cpu, tier=st.tier, analysis=st.analysis_s, mlir=st.mlir_build_s)
    row.update(lower=st.lower_s, llvm=st.llvm_s, object_bytes=len(obj), jit_init=jit_s)
    print(json.dumps(row))
    return 0


def _seed_cache(root: Path) -> dict:
    """Build the runtime module and every fork's op library into `root` with an empty cache: the
    one-time cost of a machine, reported apart from each contract's."""
    code = (
        "import time, json\n"
        "t = time.perf_counter()\n"
        "from evm.compiler.runtime import get_jit\n"
        "from evm.spec import Fork\n"
        "j = get_jit(); a = time.perf_counter() - t\n"
        "j.ensure_oplib(int(Fork.OSAKA)); b = time.perf_counter() - t - a\n"
        "print(json.dumps({'runtime_s': a, 'oplib_s': b}))\n"
    )
    env = {**os.environ, "EVM_MLIR_CACHE": str(root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def shapes_main(args) -> int:
    import shutil
    import statistics
    import tempfile

    from bench.compile_shapes import MAX_CODE, SHAPES, shape
    from evm.compiler.cache import DiskCache

    sizes = [min(MAX_CODE, int(float(k) * 1024)) for k in args.sizes.split(",")]
    names = args.only.split(",") if args.only else list(SHAPES)
    work = Path(tempfile.mkdtemp(prefix="evm-mlir-ct-"))
    try:
        once = _seed_cache(work / "seed")
        seeded = DiskCache(work / "seed").dir
        print(
            f"one-time, empty cache: runtime module {once['runtime_s']:.2f} s, op library {once['oplib_s']:.2f} s",
            file=sys.stderr if args.json else sys.stdout,  # --json: stdout is the JSON document only
        )
        rows = []
        for name in names:
            for size in sizes:
                code = shape(name, size)
                hexfile = work / "code.hex"
                hexfile.write_text(code.hex())
                cache = work / f"c-{name}-{size}"
                dst = DiskCache(cache).dir
                for obj in seeded.glob("*.o"):  # the runtime and op library only: the contract is new
                    shutil.copy(obj, dst / obj.name)
                env = {**os.environ, "EVM_MLIR_CACHE": str(cache)}
                try:
                    p = subprocess.run(
                        [sys.executable, str(Path(__file__)), "--child", str(hexfile)],
                        capture_output=True,
                        text=True,
                        env=env,
                        cwd=ROOT,
                        timeout=args.timeout,
                    )
                    row = (
                        json.loads(p.stdout.strip().splitlines()[-1])
                        if p.returncode == 0
                        else {"error": p.stderr[-300:]}
                    )
                except subprocess.TimeoutExpired:
                    row = {"error": f"timeout after {args.timeout} s", "bytes": len(code)}
                row.update(shape=name, size=size)
                rows.append(row)
                shutil.rmtree(cache, ignore_errors=True)
                if not args.json:
                    if "error" in row:
                        print(f"{name:20} {size:6d} ERROR {row['error']}", flush=True)
                    else:
                        print(
                            f"{name:20} {row['bytes']:6d} {row['tier']:8} wall {row['wall']:6.2f} s  cpu {row['cpu']:6.2f} s"
                            f"  ({row['analysis']:.2f} + {row['mlir']:.2f} + {row['lower']:.2f} + {row['llvm']:.2f})"
                            f"  {row['wall'] / (row['bytes'] / 1024):.3f} s/KB",
                            flush=True,
                        )
        full = [r for r in rows if r["size"] == MAX_CODE and "error" not in r]
        summary = {"one_time": once, "shapes_at_24kb": len(full), "errors": sum("error" in r for r in rows)}
        if full:
            for key in ("wall", "cpu"):
                worst = max(full, key=lambda r: r[key])
                summary[f"worst_{key}"] = [worst["shape"], round(worst[key], 3)]
                summary[f"median_{key}"] = round(statistics.median(r[key] for r in full), 3)
        if args.json:
            print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        else:
            print(json.dumps(summary))
        return 1 if summary["errors"] else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--shapes", action="store_true", help="worst-case shapes (bench/compile_shapes.py)")
    ap.add_argument("--sizes", default="1,4,8,12,24", help="KB, comma-separated (24 = the 24,576-byte limit)")
    ap.add_argument("--only", default="", help="shapes, comma-separated")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child)
    if args.shapes:
        return shapes_main(args)
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
