"""First-call latency of `evm-mlir run --evm mlir` per code (docs/tiered.md, "What `--evm mlir` costs"):
each code run in a fresh process with a compile cache that holds only the runtime module, then again with
the code cached; the difference is what the first call of that contract costs a node running `--evm mlir`.

Usage: python bench/first_call.py   (from the repository root)"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from compile_shapes import SHAPES  # noqa: E402

EVM = str(Path(sys.executable).parent / "evm-mlir")
d = json.loads((ROOT / "bench" / "evm_benchmarks.json").read_text())
codes = [
    (k, bytes.fromhex(d[k]["code"].removeprefix("0x"))) for k in ("blake2b_huff", "sha1_divs", "snailtracer") if k in d
]
codes += [
    (f"{s}@{n // 1024}K", SHAPES[s](n))
    for s in ("add_chain", "sstore_seq", "keccak")
    for n in (1024, 4096, 12288, 24576)
]


def t(code, backend, cache):
    env = dict(os.environ, EVM_MLIR_CACHE=cache)
    t0 = time.perf_counter()
    p = subprocess.run(
        [EVM, "run", "--evm", backend, "--code", code.hex(), "--gas", "30000000", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - t0, p.returncode


base = tempfile.mkdtemp()
print("runtime+oplib one-time (STOP code, empty cache): %.2f s" % t(b"\x00", "mlir", base)[0])
print("STOP warm: %.2f s" % t(b"\x00", "mlir", base)[0])
print(f"{'code':22} {'bytes':>6} {'interp s':>8} {'mlir cold s':>11} {'mlir warm s':>11} {'first-call compile s':>20}")
for name, code in codes:
    i, _ = t(code, "interpreter", base)
    c, rc = t(code, "mlir", base)
    w, _ = t(code, "mlir", base)
    print(f"{name:22} {len(code):6} {i:8.2f} {c:11.2f} {w:11.2f} {c - w:20.2f}  rc={rc}", flush=True)
