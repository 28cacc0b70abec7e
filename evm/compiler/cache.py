"""Compiled-code cache keyed by (code hash, fork): in memory (per process: code bytes -> native
entry point) and on disk (optimised object files, so a new process loads instead of compiling).

Disk layout: $EVM_MLIR_CACHE (default ~/.cache/evm-mlir)/<compiler version>/<symbol>.o where the
symbol is evm_<sha256(code)[:24]>_<fork> and the compiler version hashes the compiler's own
sources and the host CPU (a changed code generator never loads stale objects). Writes are atomic (rename)."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def symbol_for(code: bytes, fork) -> str:
    """Symbol of the native function of `code` at `fork`, and the stem of its cached object file."""
    return f"evm_{hashlib.sha256(code).hexdigest()[:24]}_{int(fork)}"

_HERE = Path(__file__).resolve().parent


def compiler_version() -> str:
    """Hash of the compiler's sources and of the host CPU the objects are tuned for."""
    import llvmlite.binding as llvm
    h = hashlib.sha256()
    llvm.initialize_native_target()
    h.update(llvm.get_host_cpu_name().encode() + llvm.get_host_cpu_features().flatten().encode())
    for p in sorted(_HERE.rglob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def default_dir() -> Path:
    env = os.environ.get("EVM_MLIR_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evm-mlir"


class DiskCache:
    def __init__(self, root: Path | str | None = None) -> None:
        self.dir = Path(root or default_dir()) / compiler_version()
        self.enabled = True
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            self.enabled = False

    def load(self, symbol: str) -> bytes | None:
        if not self.enabled:
            return None
        try:
            return (self.dir / f"{symbol}.o").read_bytes()
        except OSError:
            return None

    def store(self, symbol: str, obj: bytes) -> None:
        if not self.enabled:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(obj)
            os.replace(tmp, self.dir / f"{symbol}.o")
        except OSError:
            pass
