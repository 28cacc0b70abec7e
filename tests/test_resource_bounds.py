"""Resource bounds, on both backends.

- Memory expansion to huge offsets and sizes (up to 2**256-1) through every opcode that touches memory is an
  out-of-gas halt that consumes all gas: never MemoryError, never a crash, even with gas enough to pay for more
  memory than the machine has (a process under RLIMIT_AS).
- Call depth 1024 and 1024 nested CREATE/CREATE2 work.
- The largest contracts compile within bounded time and memory through `evm-mlir run --evm mlir` (a subprocess
  per case; figures for every shape in docs/reliability.md; `python tests/test_resource_bounds.py` measures them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evm_helpers import CONTRACT, ops, run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("interpreter", "mlir")
HUGE = (2**32, 2**64 - 1, 2**256 - 1)


def _memory_cases():
    for o in HUGE:
        yield from [
            ("MSTORE", ops(1, o, "MSTORE")),
            ("MSTORE8", ops(1, o, "MSTORE8")),
            ("MLOAD", ops(o, "MLOAD")),
            ("CALLDATACOPY dst", ops(1, 0, o, "CALLDATACOPY")),
            ("CALLDATACOPY size", ops(o, 0, 0, "CALLDATACOPY")),
            ("CODECOPY", ops(1, 0, o, "CODECOPY")),
            ("EXTCODECOPY", ops(1, 0, o, 1, "EXTCODECOPY")),
            ("MCOPY dst", ops(1, 0, o, "MCOPY")),
            ("MCOPY src", ops(1, o, 0, "MCOPY")),
            ("MCOPY size", ops(o, 0, 0, "MCOPY")),
            ("KECCAK256 offset", ops(1, o, "KECCAK256")),
            ("KECCAK256 size", ops(o, 0, "KECCAK256")),
            ("LOG0", ops(1, o, "LOG0")),
            ("LOG4 size", ops(9, 9, 9, 9, o, 0, "LOG4")),
            ("RETURN", ops(1, o, "RETURN")),
            ("RETURN size", ops(o, 0, "RETURN")),
            ("REVERT", ops(1, o, "REVERT")),
            ("CREATE", ops(1, o, 0, "CREATE")),
            ("CREATE size", ops(o, 0, 0, "CREATE")),
            ("CREATE2", ops(0, 1, o, 0, "CREATE2")),
            ("CALL args", ops(0, 0, 1, o, 0, 1, "GAS", "CALL")),
            ("CALL ret", ops(1, o, 0, 0, 0, 1, "GAS", "CALL")),
            ("RETURNDATACOPY size", ops(o, 0, 0, "RETURNDATACOPY")),
        ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gas", [1_000_000, 10**12, 2**63 - 1])
def test_huge_memory_is_out_of_gas(backend, gas):
    bad = []
    for name, code in _memory_cases():
        r = run(code, gas=gas, backend=backend)
        if not (r.status == "error" and r.result.gas_left == 0):
            bad.append((name, r.status, r.result.error, r.result.gas_left))
        # a zero size at a huge offset expands nothing
    for o in HUGE:
        r = run(
            ops(0, 0, o, "RETURNDATACOPY", 0, o, "KECCAK256", 0, o, "LOG0", 0, o, "RETURN"),
            gas=100_000,
            backend=backend,
        )
        assert r.status == "success", (o, r.result.error)
    assert not bad, bad


_UNDER_RLIMIT = r"""
import resource, sys, json
sys.path.insert(0, sys.argv[1])
from evm_helpers import ops, run
backend = sys.argv[2]
run(ops(1, 0, "MSTORE"), backend=backend)  # backend loaded (and for mlir, the JIT) before the limit
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
out = []
for off in (2**32 - 64, 2**31 + 2**30):
    r = run(ops(1, off, "MSTORE"), gas=2**63 - 1, backend=backend)  # paid for, but not available
    out.append([r.status, r.result.error, r.result.gas_left])
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_the_machine_has_not_got_is_out_of_gas(backend):
    """Before the fix: MemoryError in the interpreter, a segfault in the compiled code (realloc's NULL)."""
    p = subprocess.run(
        [sys.executable, "-c", _UNDER_RLIMIT, str(ROOT / "tests"), backend],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    for status, error, gas_left in json.loads(p.stdout.splitlines()[-1]):
        assert (status, error, gas_left) == ("error", "OutOfGas", 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_call_depth_1024(backend):
    # counter += 1; CALL(self) with all gas: frames at depth 0..1024, the call from depth 1024 fails
    code = ops(0, "SLOAD", 1, "ADD", 0, "SSTORE", 0, 0, 0, 0, 0, "ADDRESS", "GAS", "CALL", "POP", "STOP")
    r = run(code, gas=10**13, backend=backend)
    assert r.status == "success" and r.state.get_storage(CONTRACT, 0) == 1025


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opcode", ["CREATE", "CREATE2"])
def test_nested_create_1024(backend, opcode):
    # the code logs, then creates a contract whose initcode is itself: 1024 nested creates below the top frame
    salt = (7,) if opcode == "CREATE2" else ()
    code = ops("CODESIZE", 0, 0, "CODECOPY", 0, 0, "LOG0", *salt, "CODESIZE", 0, 0, opcode, "POP", "STOP")
    r = run(code, gas=10**15, backend=backend)
    assert r.status == "success" and len(r.state.logs) == 1025


def test_run_refuses_gas_beyond_int64(capsys):
    """`run --gas 2**64-1` was a ValueError traceback from the compiled backend (its gas is an i64)."""
    from client import cli

    assert cli.main(["run", "--evm", "mlir", "--gas", str(2**64 - 1), "--code", "00"]) == 1
    assert capsys.readouterr().err.strip() == "error: --gas must be between 0 and 2**63-1"


# -- the largest contracts through the compiler ------------------------------------------------------------

MAX_CODE = 24_576  # EIP-170
MAX_INITCODE = 49_152  # EIP-3860


def shape(name: str, size: int) -> bytes:
    """Worst cases for the compiler, `size` bytes (the last byte a STOP)."""
    if name == "jumpdest":  # one basic block and one jump-table entry per byte
        return b"\x5b" * (size - 1) + b"\x00"
    if name == "push1_add":  # one long block of i256 arithmetic
        return b"\x60\x01" + b"\x60\x01\x01" * ((size - 3) // 3) + b"\x00"
    if name == "push32":  # the widest immediates (744 of them in 24 KiB: the stack stays under 1024)
        return (b"\x7f" + b"\xab" * 32) * min((size - 1) // 33, 1024) + b"\x00"
    if name == "dyn_jumps":  # JUMPDEST PC PUSH1 5 ADD JUMP: every jump through the dynamic jump table
        return b"\x5b\x58\x60\x05\x01\x56" * ((size - 2) // 6) + b"\x5b\x00"
    if name == "static_jumps":  # JUMPDEST PUSH2 next JUMP: every jump resolved at compile time
        n = (size - 2) // 5
        return b"".join(b"\x5b\x61" + ((i + 1) * 5).to_bytes(2, "big") + b"\x56" for i in range(n)) + b"\x5b\x00"
    raise ValueError(name)


_RUN_AND_REPORT_RSS = (
    "import resource, sys\n"
    "from client.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def measure(code: bytes, timeout: float, cache_dir: str) -> dict:
    """`evm-mlir run --evm mlir --code HEX` in a fresh process (its own compile: the code is not in the cache
    dir's code cache): wall time, and the peak RSS the process reports for itself."""
    env = dict(os.environ, EVM_MLIR_CACHE=cache_dir)
    cmd = [sys.executable, "-c", _RUN_AND_REPORT_RSS, "run", "--evm", "mlir", "--json", "--code", code.hex()]
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": time.monotonic() - start, "timeout": True, "rc": None, "rss_mib": None}
    seconds = time.monotonic() - start
    rss = [int(line.split()[1]) // 1024 for line in p.stderr.splitlines() if line.startswith("peak-rss-kib")]
    return {
        "seconds": seconds,
        "timeout": False,
        "rc": p.returncode,
        "rss_mib": rss[0] if rss else None,
        "result": json.loads(p.stdout.splitlines()[-1]) if p.returncode == 0 else p.stderr[-500:],
    }


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A cache dir holding the runtime object only (compiled once, ~1.5 s), so each case times its own code."""
    d = str(tmp_path_factory.mktemp("jitcache"))
    try:  # the runtime object of the user's cache, if there is one (saves its ~3 s compile)
        import shutil

        from evm.compiler.cache import DiskCache

        src, dst = DiskCache().dir, DiskCache(d).dir
        for obj in [*src.glob("runtime.o"), *src.glob("oplib_*.o")]:
            shutil.copy(obj, dst / obj.name)
    except (ImportError, OSError):
        pass
    r = measure(b"\x00", 300, d)
    assert r["rc"] == 0, r
    return d


@pytest.mark.parametrize(
    "name,size",
    [
        ("push1_add", MAX_CODE),
        ("push32", MAX_INITCODE),
        ("static_jumps", MAX_CODE),
        ("jumpdest", MAX_CODE),
        ("dyn_jumps", MAX_CODE),
    ],
)
def test_large_contract_compiles_in_bounded_time_and_memory(warm_cache, name, size):
    r = measure(shape(name, size), 120, warm_cache)
    assert not r["timeout"], f"{name} {size} bytes: no result in {r['seconds']:.0f} s"
    assert r["rc"] == 0 and r["result"]["status"] == "success", r
    assert r["seconds"] < 60, r
    assert r["rss_mib"] < 2048, r


if __name__ == "__main__":  # the table of docs/reliability.md
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--shapes", default="push1_add,push32,static_jumps,dyn_jumps,jumpdest")
    ap.add_argument("--sizes", default=f"{MAX_CODE},{MAX_INITCODE}")
    a = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="evm-mlir-jit-")
    measure(b"\x00", 600, cache)
    for name in a.shapes.split(","):
        for size in map(int, a.sizes.split(",")):
            r = measure(shape(name, size), a.timeout, cache)
            print(
                f"{name:13} {size:6} bytes: {r['seconds']:7.1f} s{' (timeout)' if r['timeout'] else ''}, "
                f"peak RSS {r['rss_mib']} MiB, {r.get('result')}",
                flush=True,
            )
