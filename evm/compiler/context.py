"""Frame contexts (the C struct the compiled code receives) and the function table.

A context is a ctypes buffer of layout.SIZE bytes; contexts are pooled per call depth and reused,
together with their memory buffer (the compiled code resets the memory size on entry, and
zero-fills memory as it grows)."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from . import layout as L
from .runtime import get_jit

if TYPE_CHECKING:
    from ..interfaces import NativeHost
    from ..message import Message

HOST_CB = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)
ENTRY = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)
# the per-execution entry: no argtypes, called with a pre-built c_void_p (cheapest ctypes call)
ENTRY_RAW = ctypes.PYFUNCTYPE(ctypes.c_int64)

# offset of a bytes object's data from id(obj) (CPython: PyBytesObject.ob_sval)
_probe = b"evm-mlir-probe"
BYTES_DATA_OFFSET: int | None = 32 if ctypes.string_at(id(_probe) + 32, len(_probe)) == _probe else None


class FunctionTable:
    """The table of function pointers: runtime helpers, then one host callback per opcode."""

    def __init__(self) -> None:
        jit = get_jit()
        self.dirty_lists = jit.dirty_lists  # the runtime's write-back lists (None: decoded in Python)
        self.native_entries = jit.pyapi  # compiled entries are builtins called with a context's address
        self.array = (ctypes.c_void_p * L.TABLE_SLOTS)()
        self.array[L.T_MEM_GROW] = jit.runtime["rt_mem_grow"]
        self.array[L.T_KECCAK] = jit.runtime["rt_keccak"]
        self.array[L.T_EXP] = jit.runtime["rt_exp"]
        self.array[L.T_COPY] = jit.runtime["rt_copy"]
        for slot, name in (
            (L.T_UDIV, "rt_udiv"),
            (L.T_UMOD, "rt_umod"),
            (L.T_SDIV, "rt_sdiv"),
            (L.T_SMOD, "rt_smod"),
            (L.T_ADDMOD, "rt_addmod"),
            (L.T_MULMOD, "rt_mulmod"),
        ):
            self.array[slot] = jit.runtime[name]
        for slot, name in (
            (L.T_SLOAD, "rt_sload"),
            (L.T_SSTORE, "rt_sstore"),
            (L.T_TLOAD, "rt_tload"),
            (L.T_TSTORE, "rt_tstore"),
            (L.T_SINSERT, "rt_slot_insert"),
        ):
            self.array[slot] = jit.runtime[name]
        self.array[L.T_PRECOMPILE] = jit.runtime["rt_precompile"]
        self.array[L.T_LOG] = jit.runtime["rt_log"]
        self.array[L.T_QUERY] = jit.runtime["rt_query"]
        self.array[L.T_SLOAD_COLD] = jit.runtime["rt_sload_cold"]
        self.array[L.T_SSTORE_COLD] = jit.runtime["rt_sstore_cold"]
        self._keep: list[object] = []  # the ctypes callbacks, alive while the table is
        self.address = ctypes.addressof(self.array)

    def set_host(self, op: int, fn: Callable[[int], int]) -> None:
        cb = HOST_CB(fn)
        self._keep.append(cb)
        self.array[L.T_HOST + op] = ctypes.cast(cb, ctypes.c_void_p).value


_W1, _W3 = L.SCRATCH + 32, L.SCRATCH + 96
assert L.E_CUR == L.E_KEY + 32
_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.calloc.restype = ctypes.c_void_p
_libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
INITIAL_MEMORY = 4096
INITIAL_RETURN_DATA = 256  # native return-data buffer (rt_precompile reallocs it when too small)
INITIAL_LOGS = 1024
_HEADER = struct.Struct("<qq")  # LOG record header: topic count, data length
_TOPICS = [struct.Struct("32s" * n) for n in range(5)]


class CharBuffer(Protocol):
    """A ctypes c_char array as it behaves: a slice of it is bytes (typeshed says list[bytes])."""

    def __getitem__(self, s: slice, /) -> bytes: ...


class FrameContext:
    """One pooled context (per call depth). `buf` is the C struct, `q` an int64 view of it.
    The memory buffer is malloc'd here and realloc'd by the compiled code (rt_mem_grow)."""

    # the frame running on it, bound by the backend before its code runs
    message: Message
    host: NativeHost
    rdata: bytes  # the return data the context points at (kept alive)
    calldata: bytes  # calldata copied to bytes (kept alive)
    error: str | None  # the ExceptionalHalt a host callback reported
    exception: BaseException | None  # an exception a host callback caught (re-raised by the backend)
    mem_view: memoryview
    mem_chars: CharBuffer
    touch: object  # the Host's touch_slot the runtime calls (TOUCH_FN), kept alive for the frame

    __slots__ = (
        "buf",
        "chars",
        "arg",
        "addr",
        "ptr",
        "q",
        "mv",
        "depth",
        "message",
        "host",
        "rdata",
        "calldata",
        "error",
        "exception",
        "busy",
        "mem_base",
        "mem_cap",
        "mem_view",
        "mem_chars",
        "slots",
        "slot_chars",
        "dirty",
        "dirty_lists",
        "touch",
    )

    def __init__(self, table: FunctionTable, depth: int) -> None:
        self.buf = ctypes.create_string_buffer(L.SIZE)
        self.chars = cast(CharBuffer, self.buf)  # slices are bytes (see slot_chars)
        self.addr = ctypes.addressof(self.buf)
        self.ptr = ctypes.c_void_p(self.addr)
        # what the compiled entry is called with (runtime.Jit.entry): the address for a builtin, the context
        # itself for the Python function around a ctypes one
        self.arg: object = self.addr if table.native_entries else self
        self.mv = memoryview(self.buf).cast("B")
        self.q = self.mv.cast("q")  # int64 view: q[off // 8]
        self.depth = depth
        self.rdata = self.calldata = b""
        self.error = self.exception = None
        self.busy = False
        self.dirty_lists = table.dirty_lists
        self.touch = None
        self.q[L.TABLE // 8] = table.address
        self.q[L.FRAME // 8] = depth
        self._buffer(L.MEM_PTR, L.MEM_CAP, INITIAL_MEMORY)
        self._buffer(L.RDBUF_PTR, L.RDBUF_CAP, INITIAL_RETURN_DATA)
        self._buffer(L.LOG_PTR, L.LOG_CAP, INITIAL_LOGS)
        self.mem_base = self.mem_cap = 0
        self.refresh_view()
        # slot cache (runtime_slots.py): zeroed table (generation 0 = empty; live ones start at 1)
        st_table = self._buffer(L.ST_TABLE, None, L.ST_CAP * L.ST_ENTRY, zeroed=True)
        dirty = self._buffer(L.ST_DIRTY, None, 8 * L.ST_MAX)
        # slicing the c_char array gives bytes (int.from_bytes of a memoryview slice costs twice as much)
        table_chars = (ctypes.c_char * (L.ST_CAP * L.ST_ENTRY)).from_address(st_table)
        self.slot_chars = cast(CharBuffer, table_chars)
        self.slots = memoryview(table_chars).cast("B")
        self.dirty = memoryview((ctypes.c_char * (8 * L.ST_MAX)).from_address(dirty)).cast("B").cast("q")

    def _buffer(self, ptr_field: int, cap_field: int | None, size: int, zeroed: bool = False) -> int:
        """A native buffer owned by the context (the runtime reallocs the growable ones): its address
        goes to `ptr_field`, its size to `cap_field`."""
        ptr: int | None = _libc.calloc(1, size) if zeroed else _libc.malloc(size)
        if not ptr:  # pragma: no cover
            raise MemoryError
        self.q[ptr_field // 8] = ptr
        if cap_field is not None:
            self.q[cap_field // 8] = size
        return ptr

    def refresh_view(self) -> None:
        """Views of the memory buffer after the runtime moved it. It only ever grows (realloc to a
        larger capacity), so an unchanged MEM_CAP means an unchanged buffer."""
        q = self.q
        ptr, cap = q[L.MEM_PTR // 8], q[L.MEM_CAP // 8]
        chars = (ctypes.c_char * cap).from_address(ptr)
        self.mem_chars = cast(CharBuffer, chars)  # slicing it gives bytes at once
        self.mem_view = memoryview(chars).cast("B")
        self.mem_base, self.mem_cap = ptr, cap

    def _view(self) -> memoryview:
        q = self.q
        if q[L.MEM_PTR // 8] != self.mem_base or q[L.MEM_CAP // 8] != self.mem_cap:
            self.refresh_view()
        return self.mem_view

    def memory(self, off: int, size: int) -> bytes:
        if size == 0:
            return b""
        return bytes(self._view()[off : off + size])

    def write_memory(self, off: int, data: bytes) -> None:
        if data:
            self._view()[off : off + len(data)] = data

    def output(self) -> bytes:
        q = self.q
        n = q[L.RET_LEN // 8]
        if n == 0:
            return b""
        off = q[L.RET_OFF // 8]
        return bytes(self._view()[off : off + n])

    def take_dirty_slots(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]], int]:
        """The slots written natively since the last write-back, as (key, value) of storage and of
        transient storage, and the refund delta; empties the slot cache (a new generation)."""
        q = self.q
        n = q[L.ST_NDIRTY // 8]
        if not n:
            storage: list[tuple[int, int]] = []
            transient: list[tuple[int, int]] = []
        elif self.dirty_lists is not None:  # built by the runtime (ir/pyapi.ll rt_dirty_lists)
            storage, transient = self.dirty_lists(self.addr)
        else:
            storage, transient = [], []
            mv, raw, frombytes = self.slots, self.slot_chars, int.from_bytes
            for i in self.dirty[:n]:
                k = i * L.ST_ENTRY + L.E_KEY  # key and current value: two words in a row
                (transient if mv[k - L.E_KEY + L.E_KIND] else storage).append(
                    (frombytes(raw[k : k + 32], "little"), frombytes(raw[k + 32 : k + 64], "little"))
                )
        refund = q[L.REFUND // 8]
        q[L.ST_NDIRTY // 8] = q[L.REFUND // 8] = q[L.ST_COUNT // 8] = 0
        q[L.ST_GEN // 8] += 1
        return storage, transient, refund

    def take_logs(self, address: bytes) -> list[tuple[bytes, tuple[bytes, ...], bytes]]:
        """The LOGs appended natively since the last write-back, as the journal's (address, topics,
        data) entries, in order; empties the buffer. The compiled code stores topics big-endian."""
        q = self.q
        end = q[L.LOG_LEN // 8]
        raw = ctypes.string_at(q[L.LOG_PTR // 8], end)
        out: list[tuple[bytes, tuple[bytes, ...], bytes]] = []
        o, unpack = 0, _HEADER.unpack_from
        while o < end:
            n, size = unpack(raw, o)
            o += 16
            t = o + 32 * n
            out.append((address, _TOPICS[n].unpack_from(raw, o), raw[t : t + size]))
            o = t + size
        q[L.LOG_LEN // 8] = 0
        return out

    def drop_slots(self) -> None:
        """Forget native writes and logs (the frame reverted or failed); empty the slot cache."""
        q = self.q
        q[L.ST_NDIRTY // 8] = q[L.REFUND // 8] = q[L.ST_COUNT // 8] = q[L.LOG_LEN // 8] = 0
        q[L.ST_GEN // 8] += 1

    def word(self, i: int) -> int:
        o = L.SCRATCH + 32 * i
        return int.from_bytes(self.chars[o : o + 32], "little")

    def set_word(self, i: int, v: int) -> None:
        o = L.SCRATCH + 32 * i
        self.mv[o : o + 32] = v.to_bytes(32, "little")

    def set_words_12(self, w1: int, w2: int) -> None:
        """Words 1 and 2 in one write (a cold slot's current and original value)."""
        self.mv[_W1:_W3] = w1.to_bytes(32, "little") + w2.to_bytes(32, "little")


def bytes_address(b: bytes) -> int:
    if BYTES_DATA_OFFSET is not None:
        return id(b) + BYTES_DATA_OFFSET
    addr = ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value  # pragma: no cover
    assert addr is not None  # pragma: no cover - (a bytes object is never at NULL)
    return addr  # pragma: no cover
