"""The MLIR backend end to end: the benchmark programs, analysis, call depth 1024, the
disk cache, backend registry and error results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from evm_helpers import ops, run

from evm.backends import available_backends, get_backend
from evm.compiler.analysis import DYNAMIC, analyze, valid_jumpdests
from evm.spec import Fork

FIXTURES = Path(__file__).parent / "fixtures"
PROGRAMS = json.loads((FIXTURES / "bench_programs.json").read_text())


def test_registered():
    assert "mlir" in available_backends()
    assert get_backend("mlir").name == "mlir"


@pytest.mark.parametrize("name", ["fibonacci", "factorial"])
def test_bench_programs(name):
    prog = PROGRAMS[name]
    for n, expected in prog["examples"].items():
        r = run(prog["code"], int(n).to_bytes(32, "big"), backend="mlir", gas=10_000_000)
        i = run(prog["code"], int(n).to_bytes(32, "big"), backend="interpreter", gas=10_000_000)
        assert r.status == "success"
        assert "0x" + r.output.hex() == expected
        assert r.result.gas_left == i.result.gas_left


def test_factorial_zero_from_258():
    r = run(PROGRAMS["factorial"]["code"], (258).to_bytes(32, "big"), backend="mlir")
    assert r.word == 0


def test_analysis_blocks_and_heights():
    code = bytes.fromhex(PROGRAMS["fibonacci"]["code"])
    an = analyze(code, Fork.OSAKA)
    assert [b.start for b in an.blocks] == [0, 5, 11, 26]
    assert all(b.height == 3 for b in an.blocks[1:]) and an.blocks[0].height == 0
    assert not an.has_dynamic_jumps
    assert an.blocks[1].jump_target == 26 and an.blocks[2].jump_target == 5
    assert an.blocks[1].gas == 1 + 3 + 3 + 3 + 10


def test_jumpdest_in_push_data():
    code = bytes([0x60, 0x5B, 0x5B, 0x61, 0x5B, 0x5B])
    assert valid_jumpdests(code) == {2}
    # jumping into PUSH data is an invalid jump in both backends
    for target in (1, 2):
        c = ops(target, "JUMP") + bytes([0x60, 0x5B, 0x5B, 0x00])
        a, b = run(c, backend="interpreter"), run(c, backend="mlir")
        assert (a.status, a.result.gas_left) == (b.status, b.result.gas_left)


def test_dynamic_heights():
    # a return-address pattern: the callee block is entered from two sites at different heights
    code = ops(0, "CALLDATALOAD", "JUMP")
    an = analyze(code + bytes([0x5B, 0x00]), Fork.OSAKA)
    assert an.has_dynamic_jumps
    assert an.blocks[1].height == DYNAMIC


def test_call_depth_1024():
    # each frame increments a transient counter and calls itself with all its gas
    code = ops(
        0,
        "TLOAD",
        1,
        "ADD",
        0,
        "TSTORE",
        0,
        0,
        0,
        0,
        0,
        "ADDRESS",
        "GAS",
        "CALL",
        "POP",
        0,
        "TLOAD",
        0,
        "MSTORE",
        32,
        0,
        "RETURN",
    )
    res = {}
    for backend in ("interpreter", "mlir"):
        r = run(code, backend=backend, gas=2**44)
        res[backend] = (r.status, r.word, r.result.gas_left)
    assert res["mlir"] == res["interpreter"]
    assert res["mlir"][1] == 1025  # depths 0 .. 1024


def test_errors_are_results():
    for code, err in (
        (ops("ADD"), "StackUnderflow"),
        (bytes([0xFE]), "InvalidOpcode"),
        (ops(3, "JUMP"), "InvalidJump"),
        (ops(1, 2**40, "MSTORE"), "OutOfGas"),
        (ops(1, 0, "SSTORE"), "WriteInStaticContext"),
    ):
        r = run(code, backend="mlir", static=True)
        assert (r.status, r.result.error, r.result.gas_left) == ("error", err, 0)


def test_disk_cache_in_new_process(tmp_path):
    script = (
        "import sys, json; sys.path.insert(0, %r)\n"
        "from evm.compiler.backend import MlirBackend\n"
        "from evm_helpers import run\n"
        "from evm.backends import register_backend\n"
        "register_backend('mlir', lambda: MlirBackend(%r))\n"
        "from evm.backends import get_backend\n"
        "r = run(%r, (10).to_bytes(32, 'big'), backend='mlir')\n"
        "b = get_backend('mlir')\n"
        "print(json.dumps([r.output.hex(), b.compiled, b.disk_hits]))\n"
    ) % (str(Path(__file__).parent), str(tmp_path), PROGRAMS["fibonacci"]["code"])
    outs = []
    for _ in range(2):
        p = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=Path(__file__).parent.parent,
        )
        assert p.returncode == 0, p.stderr
        outs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    assert outs[0][0] == outs[1][0] == PROGRAMS["fibonacci"]["examples"]["10"][2:]
    assert outs[0][1:] == [1, 0]  # compiled in the first process
    assert outs[1][1:] == [0, 1]  # loaded from disk in the second


def test_concurrent_threads():
    import threading

    prog = PROGRAMS["fibonacci"]
    errors = []

    def worker(n):
        for _ in range(50):
            r = run(prog["code"], n.to_bytes(32, "big"), backend="mlir")
            if "0x" + r.output.hex() != prog["examples"][str(n)]:
                errors.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (10, 1000, 10, 1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_compile_failure_under_run_is_one_line(tmp_path):
    """`--evm mlir` has no interpreter to fall back to: a compile failure (here a bad setting of
    the compiler) is one line on stderr and exit 1, never a traceback."""
    import os

    p = subprocess.run(
        [sys.executable, "-m", "client.cli", "run", "--evm", "mlir", "--code", "6001600201"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "EVM_MLIR_TIER": "bogus", "EVM_MLIR_CACHE": str(tmp_path)},
    )
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "error: --evm mlir: cannot compile the code: EVM_MLIR_TIER='bogus': expected one of full, cheap, compact"
    ]


def test_compile_failure_is_a_compile_error(monkeypatch):
    """Any fault inside the compiler's stages leaves compile_to_object as a CompileError naming the code."""
    from evm.compiler import compile as compile_mod
    from evm.errors import CompileError
    from evm.spec import Fork

    def broken(*args, **kwargs):
        raise RuntimeError("lowering failed")

    monkeypatch.setattr(compile_mod, "to_llvm_ir", broken)
    with pytest.raises(CompileError, match=r"\(5 bytes\): RuntimeError: lowering failed"):
        compile_mod.compile_to_object(bytes.fromhex("6001600201"), Fork.OSAKA)
