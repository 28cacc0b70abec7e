"""The compile cache cannot run wrong code: real cache files, damaged in each way a disk, a user
or a copy between machines can damage them, are rejected (deleted, one warning) and the code
compiled again, for `run --evm mlir` and `--evm tiered`, in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = json.loads((ROOT / "bench" / "programs.json").read_text())
FIB = bytes.fromhex(PROGRAMS["fibonacci"]["code"])
FACT = bytes.fromhex(PROGRAMS["factorial"]["code"])
ARG = (10).to_bytes(32, "big")
OSAKA = 4  # Fork.OSAKA, the default of `run`


def expected(code: bytes) -> str:
    prog = PROGRAMS["fibonacci" if code == FIB else "factorial"]
    return prog["examples"]["10"]


def run(cache: Path, code: bytes, evm: str, repeat: int = 1) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EVM_MLIR_CACHE": str(cache),
        # tiered: a code found on disk runs compiled from its first frame; one interpreted frame
        # makes it hot and it is compiled on the spot (deterministic for the test)
        "EVM_MLIR_TIER_DISK_TXS": "1",
        "EVM_MLIR_TIER_CALLS": "1",
        "EVM_MLIR_TIER_MIN_TXS": "1",
        "EVM_MLIR_TIER_MODE": "sync",
    }
    cmd = [sys.executable, "-m", "client.cli", "run", "--evm", evm, "--json", "--repeat", str(repeat)]
    return subprocess.run(
        [*cmd, "--code", code.hex(), "--input", ARG.hex()],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def ok(p: subprocess.CompletedProcess[str], code: bytes) -> None:
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout.splitlines()[-1])["output"] == expected(code)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A cache holding the runtime, fibonacci's and factorial's objects."""
    cache = tmp_path_factory.mktemp("seed")
    for code in (FIB, FACT):
        ok(run(cache, code, "mlir"), code)
    return cache


def disk(cache: Path):
    from evm.compiler.cache import DiskCache

    return DiskCache(cache)


def obj_path(cache: Path, code: bytes) -> Path:
    from evm.compiler.cache import symbol_for

    return disk(cache).path(symbol_for(code, OSAKA))


def copy_cache(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def swap(a: Path, b: Path) -> None:
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)


def stale(p: Path) -> None:
    """Re-stamped by another compiler version (everything else intact, checksum valid)."""
    from evm.compiler.cache import HEADER

    data = bytearray(p.read_bytes())
    data[40:72] = bytes(32)  # the version field (after magic and code hash)
    assert HEADER.size > 72
    p.write_bytes(bytes(data))


def strip_header(p: Path) -> None:
    """A bare object file (the previous cache format, or one copied from elsewhere)."""
    from evm.compiler.cache import HEADER

    p.write_bytes(p.read_bytes()[HEADER.size :])


def other_fork(p: Path) -> None:
    """A valid header and object, but labelled for another fork."""
    import hashlib

    from evm.compiler.cache import HEADER

    data = p.read_bytes()
    magic, digest, version, fork, size, checksum = HEADER.unpack_from(data)
    p.write_bytes(HEADER.pack(magic, digest, version, fork + 1, size, checksum) + data[HEADER.size :])
    assert hashlib.sha256(data[HEADER.size :]).digest() == checksum


DAMAGE = {
    "swapped": None,  # fibonacci's file holds factorial's object and the other way round
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "random": lambda p: p.write_bytes(os.urandom(len(p.read_bytes()))),
    "empty": lambda p: p.write_bytes(b""),
    "flipped_bit": lambda p: p.write_bytes(p.read_bytes()[:-9] + bytes([p.read_bytes()[-9] ^ 1]) + p.read_bytes()[-8:]),
    "stale_version": stale,
    "foreign_bare_object": strip_header,
    "other_fork": other_fork,
}


@pytest.mark.parametrize("evm", ["mlir", "tiered"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_cache_file_is_rejected_and_recompiled(seeded, tmp_path, evm, damage):
    cache = copy_cache(seeded, tmp_path / "cache")
    fib, fact = obj_path(cache, FIB), obj_path(cache, FACT)
    assert disk(cache).load_code(FIB, OSAKA) is not None  # the seed is valid
    if damage == "swapped":
        swap(fib, fact)
    else:
        DAMAGE[damage](fib)
    p = run(cache, FIB, evm, repeat=3)
    ok(p, FIB)  # never a crash, never the other contract's result
    assert "discarded an unusable object" in p.stderr  # logged
    assert p.stderr.count("discarded an unusable object") == 1  # once
    assert disk(cache).load_code(FIB, OSAKA) is not None  # compiled again and stored valid
    if damage == "swapped":  # factorial's damaged file is found and replaced in its turn
        p = run(cache, FACT, evm, repeat=3)
        ok(p, FACT)
        assert disk(cache).load_code(FACT, OSAKA) is not None


def test_valid_objects_load_without_warning(seeded, tmp_path):
    cache = copy_cache(seeded, tmp_path / "cache")
    before = obj_path(cache, FIB).stat().st_mtime_ns
    p = run(cache, FIB, "mlir")
    ok(p, FIB)
    assert "discarded" not in p.stderr
    assert obj_path(cache, FIB).stat().st_mtime_ns == before  # loaded, not rewritten


def test_header_binds_full_hash_fork_version_and_checksum(tmp_path):
    from evm.compiler.cache import HEADER, MAGIC, DiskCache, code_hash, symbol_for

    d = DiskCache(tmp_path)
    assert d.store_code(FIB, OSAKA, b"object bytes")
    data = d.path(symbol_for(FIB, OSAKA)).read_bytes()
    magic, digest, version, fork, size, _ = HEADER.unpack_from(data)
    assert (magic, digest, version, fork, size) == (MAGIC, code_hash(FIB), d.version, OSAKA, 12)
    assert len(symbol_for(FIB, OSAKA)) == len("evm_") + 64 + len("_4")  # the full 256-bit hash
    assert d.load_code(FIB, OSAKA) == b"object bytes"
    assert d.load_code(FACT, OSAKA) is None and d.rejected == 0  # absent is not rejected
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def test_version_covers_tables_and_code_options(monkeypatch, tmp_path):
    from evm.compiler import cache

    base = cache.compiler_version()
    monkeypatch.setenv("EVM_MLIR_TIER", "compact")
    assert cache.compiler_version() != base  # an option that chooses code
    monkeypatch.delenv("EVM_MLIR_TIER")
    cache._sources_digest.cache_clear()
    cache._version.cache_clear()
    sources = {p.relative_to(cache._EVM_ROOT).as_posix() for p in cache._EVM_ROOT.rglob("*.py")}
    assert {"opcodes.py", "gas.py", "spec.py", "rules.py", "compiler/runtime.py"} <= sources
    # the runtime IR resources count too: a change there invalidates every cached object
    import shutil

    copy = tmp_path / "evm"
    shutil.copytree(cache._EVM_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "_EVM_ROOT", copy)
    cache._sources_digest.cache_clear()
    cache._version.cache_clear()
    assert cache.compiler_version() == base
    ir_file = copy / "compiler" / "ir" / "slots.ll"
    ir_file.write_text(ir_file.read_text() + "\n; changed\n")
    cache._sources_digest.cache_clear()
    cache._version.cache_clear()
    assert cache.compiler_version() != base
    monkeypatch.undo()
    cache._sources_digest.cache_clear()
    cache._version.cache_clear()
    assert cache.compiler_version() == base
