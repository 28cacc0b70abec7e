"""Precompile calls from compiled code (evm/compiler/precompile_calls.py, ir/sha256.ll rt_precompile):
SHA256/RIPEMD160 through libcrypto, IDENTITY natively, every other precompile through the lean callback.
Each must be indistinguishable from the interpreter's path: success flag, return data (and RETURNDATASIZE),
the bytes written to memory, the caller's gas, logs and state, for every call kind, with gas to spare,
exactly enough and one short, on valid and invalid inputs (the spec cases of
tests/fixtures/precompiles/spec_differential.json.gz, whose expected results are also checked here).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evm_helpers import CONTRACT, addr, ops, run
from test_native_host_paths import _diff, call, driver, observe, rec, world

from evm.precompiles import precompiles_for
from evm.spec import Fork

ROOT = Path(__file__).resolve().parent.parent


def check_message(code: bytes, gas: int = 5_000_000) -> dict:
    """The message on the interpreter and on mlir (every frame compiled): everything observable
    equal (test_native_host_paths.observe); returns the interpreter's observation."""
    ref = observe("interpreter", code, b"", world(), gas=gas, fork=Fork.OSAKA, value=0, static=False)
    got = observe("mlir", code, b"", world(), gas=gas, fork=Fork.OSAKA, value=0, static=False)
    assert got == ref, _diff(ref, got)
    return ref


CASES = json.load(gzip.open(ROOT / "tests" / "fixtures" / "precompiles" / "spec_differential.json.gz"))
OSAKA = [a for a in precompiles_for(Fork.OSAKA)]


def spec_cases(address: int) -> list[dict]:
    """A valid and an invalid Osaka case of `address` (the first of each in the file)."""
    out = {}
    for c in CASES:
        if int(c["addr"], 16) == address and c["fork"] == "Osaka":
            e = c["expected"]
            kind = "ok" if e["success"] and e["output"] else "fail" if not e["success"] else "empty"
            out.setdefault(kind, c)
    return list(out.values())


@pytest.mark.parametrize("address", [int.from_bytes(a, "big") for a in OSAKA], ids=lambda a: f"0x{a:x}")
def test_precompile_calls_match_the_interpreter(address):
    to = addr(address)
    steps = []
    expect = []
    for c in spec_cases(address):
        data, gas, e = bytes.fromhex(c["data"]), c["expected"]["gas_used"], c["expected"]
        for kind in ("STATICCALL", "CALL", "DELEGATECALL", "CALLCODE"):
            steps.append(call(kind, to, data, gas=gas if e["success"] else int(c["gas"])))
            expect.append((1 if e["success"] else 0, bytes.fromhex(e["output"])))
        if e["success"]:
            steps.append(call("STATICCALL", to, data, gas=gas - 1))  # one short: halts
            expect.append((0, b""))
            steps.append(call("STATICCALL", to, data))  # all the gas there is
            expect.append((1, bytes.fromhex(e["output"])))
    code = driver(*steps)
    obs = check_message(code, gas=30_000_000)
    for i, (ok, out) in enumerate(expect):
        success, size, data = rec(obs, i)
        assert (success, size) == (ok, len(out)), (i, success, size)
        assert data[: len(out)] == out[:0x180], i


@pytest.mark.parametrize("address", [2, 3, 4, 5, 9])
def test_overlapping_and_short_output_ranges(address):
    """The output written over the input, into a range shorter than the output, and past the
    memory the input used; RETURNDATACOPY of the whole return data afterwards."""
    data = {
        5: bytes.fromhex("%064x%064x%064x" % (1, 1, 1)) + b"\x03\x05\x07",
        9: bytes.fromhex(next(c["data"] for c in CASES if c["addr"] == "0x9" and c["expected"]["success"])),
    }
    inp = data.get(address, bytes(range(70)))
    code = b""
    for i in range(0, len(inp), 32):
        code += ops(int.from_bytes(inp[i : i + 32].ljust(32, b"\0"), "big"), i, "MSTORE")
    for out_off, out_size in ((0, 32), (5, 7), (0, 0), (len(inp) + 100, 64)):
        code += ops(out_size, out_off, len(inp), 0, address, "GAS", "STATICCALL", 0x900 + out_off, "MSTORE")
        code += ops("RETURNDATASIZE", 0, 0xA00, "RETURNDATACOPY")
    code += ops("MSIZE", 0, "RETURN")
    check_message(code)


@pytest.mark.parametrize("address", [6, 0x100])
def test_precompile_exception_is_reported_as_the_interpreter_reports_it(monkeypatch, address):
    """A precompile that raises (a bug in its library): the lean path declines and the host path
    re-raises it, as the interpreter does."""
    table = precompiles_for(Fork.OSAKA)
    a = addr(address)

    def broken(data, gas, fork):
        raise RuntimeError("library failure")

    monkeypatch.setitem(table, a, broken)
    code = ops(0, 0, 128, 0, address, "GAS", "STATICCALL", 0, "MSTORE", 32, 0, "RETURN")
    for backend in ("interpreter", "mlir"):
        with pytest.raises(RuntimeError, match="library failure"):
            run(code, backend=backend)


def test_libcrypto_digests_are_bound():
    """On this machine the interpreter's hashlib is OpenSSL: compiled code uses the same library."""
    from evm.compiler.runtime import get_jit

    assert set(get_jit().digests) == {"sha256", "ripemd160"}


def test_without_libcrypto():
    """EVM_MLIR_LIBCRYPTO=0: SHA-256 on the runtime's own IR, RIPEMD-160 through the lean callback;
    results unchanged (a fresh process: the JIT binds once)."""
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from evm.compiler.runtime import get_jit\n"
        "assert get_jit().digests == {}, get_jit().digests\n"
        "from evm_helpers import ops, run\n"
        "for a, n in ((2, 0), (2, 55), (2, 56), (2, 1000), (3, 0), (3, 200)):\n"
        "    code = ops(n, 0, 0, 'CODECOPY', 64, 0, n, 0, a, 'GAS', 'STATICCALL', 64, 0, 'RETURN')\n"
        "    r = [run(code, backend=b) for b in ('interpreter', 'mlir')]\n"
        "    assert (r[0].output, r[0].result.gas_left) == (r[1].output, r[1].result.gas_left), (a, n)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "EVM_MLIR_LIBCRYPTO": "0"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_which_calls_leave_native_code(monkeypatch):
    """From compiled code a value-less call to a precompile never goes through Host.call (the generic
    path: Message, snapshot, frame dispatch); a call with value does."""
    from evm.host import Host

    calls = []
    real = Host.call

    def counting(self, parent, kind, *args):
        calls.append(int.from_bytes(args[2], "big"))
        return real(self, parent, kind, *args)

    monkeypatch.setattr(Host, "call", counting)
    for a in [int.from_bytes(x, "big") for x in OSAKA]:
        code = ops(
            32,
            0,
            0,
            0,
            a,
            "GAS",
            "STATICCALL",
            32,
            0,
            0,
            0,
            0,
            a,
            "GAS",
            "CALL",
            "ADD",
            32,
            0,
            0,
            0,
            1,
            a,
            "GAS",
            "CALL",
            "ADD",
            0,
            "MSTORE",
            32,
            0,
            "RETURN",
        )
        calls.clear()
        run(code, backend="mlir", accounts={CONTRACT: {"balance": 10}})
        assert calls == [a], (hex(a), calls)
