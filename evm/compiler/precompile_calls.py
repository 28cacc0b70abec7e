"""What compiled code calls for a CALL* to a precompile (ir/sha256.ll rt_precompile; docs/compiler.md,
"Native precompile calls"):

* SHA256 (0x02, inputs of more than one block) and RIPEMD160 (0x03): the one-shot digest functions of
  OpenSSL's libcrypto, the library the interpreter's `hashlib` already runs on (it uses the CPU's SHA
  extensions). Looked up in the process at JIT load time and stored in function-pointer globals of the
  runtime module, so neither the cached runtime object nor any compiled contract holds an address of this
  process. Without libcrypto, SHA-256 runs on the runtime's own IR and RIPEMD-160 takes the Python path.
* Every other precompile below 0x40 (ecrecover, modexp, BN254, BLAKE2F, KZG, BLS12-381): one ctypes
  callback with the call's decoded operands (`lean_call`), which runs the fork's precompile function and
  hands its output over as the return data; the gas, the return-data buffer and the output copy stay in
  native code, so a call costs the precompile itself plus one callback (the generic host path builds a
  Message, takes a journal snapshot and goes through `Host.call`).
* Precompiles at 0x40 and above (P256VERIFY), which rt_precompile does not see: the generic CALL*
  callback asks `lean_outcome` first, which runs them the same way without `Host.call`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeAlias, cast

from ..gas import call_gas
from ..message import CallOutcome
from ..precompiles import Precompile
from . import layout as L
from .context import bytes_address

if TYPE_CHECKING:
    import llvmlite.binding as llvm

    from .context import FrameContext

# what backend.native_precompiles(host) keeps in NativeHost.backend_cache[PRECOMPILES_KEY]: (mask of every
# bit, the addresses, ((bit, address), ...) below 0x40, {address: function} at 0x40 and above)
NativePrecompiles: TypeAlias = tuple[int, frozenset[bytes], tuple[tuple[int, bytes], ...], dict[bytes, Precompile]]

# globals of the runtime module (ir/sha256.ll) -> what is stored there
SHA256_GLOBAL = "rt_sha256_lib"
RIPEMD160_GLOBAL = "rt_ripemd160_lib"
LEAN_GLOBAL = "rt_precompile_py"

DIGEST = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p)
LEAN_CB = ctypes.CFUNCTYPE(
    ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64
)
# lean_call's answers besides the gas used
FAILED = -1  # the precompile halted: all child gas consumed, empty return data
DECLINED = -2  # run it on the host path instead (an exception is reported from there)


def _libraries() -> Iterator[str]:
    """Candidate handles for libcrypto: the one `hashlib` is linked against first (dlsym on its handle
    searches its dependencies), then the system's."""
    try:
        import _hashlib

        yield _hashlib.__file__
    except ImportError:  # pragma: no cover - a Python without OpenSSL
        pass
    found = ctypes.util.find_library("crypto")
    if found:
        yield found
    yield "libcrypto.so.3"


def find_digests() -> dict[str, int]:
    """{"sha256": address, "ripemd160": address} of libcrypto's one-shot SHA256/RIPEMD160 that were found
    and give the right digest of a test input (either may be missing). EVM_MLIR_LIBCRYPTO=0 finds none."""
    if os.environ.get("EVM_MLIR_LIBCRYPTO", "1").strip() == "0":
        return {}
    want: dict[str, tuple[str, Callable[[bytes], object]]] = {
        "sha256": ("SHA256", hashlib.sha256),
        "ripemd160": ("RIPEMD160", _ripemd160),
    }
    out: dict[str, int] = {}
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for key, (symbol, ref) in want.items():
            if key in out:
                continue
            fn = getattr(lib, symbol, None)
            if fn is None:
                continue
            addr = ctypes.cast(fn, ctypes.c_void_p).value
            if addr and _works(addr, ref):
                out[key] = addr
        if len(out) == len(want):
            break
    return out


def _ripemd160(data: bytes) -> bytes:
    from ..precompiles.hashes import _ripemd160 as digest

    return digest(data)


def _works(addr: int, ref: Callable[[bytes], object]) -> bool:
    """The function at `addr` digests like `ref` (a guard against a same-named symbol of another library)."""
    try:
        fn = DIGEST(addr)
        for data in (b"", b"abc", bytes(range(256)) * 3):
            out = ctypes.create_string_buffer(32)
            fn(data, len(data), out)
            r = ref(data)
            d = r.digest() if hasattr(r, "digest") else r  # a hashlib object, or the digest
            if not isinstance(d, bytes) or out.raw[: len(d)] != d:
                return False
        return True
    except Exception:  # pragma: no cover - no reference implementation
        return False


_lean_cb = None  # the ctypes callback object (kept alive for the process)
CONTEXTS: dict[int, FrameContext] = {}  # hostcalls.CONTEXTS (ctx address -> FrameContext), set by bind


def bind(engine: llvm.ExecutionEngine) -> dict[str, int]:
    """Store the digest functions and the lean callback in the runtime module's globals of MCJIT
    `engine`; returns the digests bound (`find_digests`)."""
    global _lean_cb, CONTEXTS
    from .hostcalls import CONTEXTS  # (hostcalls imports this module)

    digests = find_digests()
    if _lean_cb is None:
        _lean_cb = LEAN_CB(lean_call)
    for name, addr in (
        (SHA256_GLOBAL, digests.get("sha256")),
        (RIPEMD160_GLOBAL, digests.get("ripemd160")),
        (LEAN_GLOBAL, ctypes.cast(_lean_cb, ctypes.c_void_p).value),
    ):
        ctypes.c_void_p.from_address(engine.get_global_value_address(name)).value = addr or None
    return digests


# ---------------------------------------------------------------- the lean Python path
ADDRESSES = tuple(i.to_bytes(20, "big") for i in range(64))
_RD_PTR_Q = L.RD_PTR // 8
_RD_LEN_Q = L.RD_LEN // 8


def lean_call(ctx: int, addr: int, gas: int, in_off: int, in_size: int) -> int:
    """Run precompile `addr` of the frame context at `ctx` with `gas` (the child's gas, already taken from
    the caller by the native code) on memory[in_off:in_off + in_size]: its gas used (the output is the
    return data now), FAILED, or DECLINED."""
    try:
        c = CONTEXTS[ctx]
        host = c.host
        data = c.memory(in_off, in_size) if in_size else b""
        res = host.precompiles[ADDRESSES[addr]](data, gas, host.fork)
        q = c.q
        if not res.success:
            c.rdata = b""
            q[_RD_LEN_Q] = 0
            return FAILED
        out = res.output
        if type(out) is not bytes:
            out = bytes(out)
        c.rdata = out
        q[_RD_PTR_Q] = bytes_address(out)
        q[_RD_LEN_Q] = len(out)
        used: int = res.gas_used
        return used
    except BaseException:  # never unwind through native frames: the host path runs it again and reports
        return DECLINED


_GAS_Q = L.GAS // 8
_EMPTY = b""
PRECOMPILES_KEY = "mlir.precompiles"  # NativeHost.backend_cache key of backend.native_precompiles(host)


def lean_outcome(c: FrameContext, to: bytes, gas_req: int, data: bytes) -> CallOutcome | None:
    """A value-less CALL* from the compiled frame `c` to a precompile at 0x40 or above, run without
    `Host.call` (what it would do for a warm precompile: the 63/64 rule, the precompile, the child's
    gas back unless it failed); None when the generic path must take it (not such a precompile of
    this host, cold, the depth limit, an exception)."""
    host = c.host
    pcs = cast("NativePrecompiles | None", host.backend_cache.get(PRECOMPILES_KEY))
    fn = pcs[3].get(to) if pcs is not None else None
    if fn is None or c.message.depth >= 1024 or not host.is_warm_address(to):
        return None
    g = c.q[_GAS_Q]
    child = call_gas(gas_req, g, 0)
    if child is None:  # (never with no extra cost and a checked counter) the generic path decides
        return None
    try:
        res = fn(data, child, host.fork)
    except BaseException:  # the generic path runs it again and reports
        return None
    if res.success:
        return CallOutcome(True, g - res.gas_used, res.output)
    return CallOutcome(False, g - child, _EMPTY)
