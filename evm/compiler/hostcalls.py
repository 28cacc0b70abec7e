"""Host callbacks: the Python side of the function table (one ctypes callback per opcode that
needs the outside world), calling the shared `evm.host.Host`.

Protocol: `i64 callback(ctx*)`. Arguments are in the context's scratch words (little-endian
i256), the result goes to scratch word 0, the gas counter is `ctx.gas` (the compiled code stores
it before the call and reloads it after). A non-zero return halts the frame with that status:
ST_HOST_ERROR after storing the ExceptionalHalt's name on the frame context, or ST_EXCEPTION when
a Python exception escaped (re-raised by the backend after the native frame unwound).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from .. import gas as G
from ..errors import ExceptionalHalt
from ..host import CALL, CALLCODE, DELEGATECALL, STATICCALL
from ..interfaces import NativeHost
from ..message import to_address
from . import layout as L
from .context import FrameContext, FunctionTable, bytes_address
from .precompile_calls import lean_outcome

ST_EXCEPTION = 11
GAS_Q = L.GAS // 8
RD_PTR_Q = L.RD_PTR // 8
RD_LEN_Q = L.RD_LEN // 8
NDIRTY_Q = L.ST_NDIRTY // 8
REFUND_Q = L.REFUND // 8
LOG_LEN_Q = L.LOG_LEN // 8
ST_COUNT_Q = L.ST_COUNT // 8
CALL_ARGS_Q = L.CALL_ARGS // 8  # a CALL*'s i64 operands (rt_precompile): gas, in offset, in size, out offset, out size
TO_LO = L.SCRATCH + 32  # the address operand of a CALL*: the low 20 bytes of scratch word 1 (little-endian)
WORD_0 = (0).to_bytes(32, "little")
WORD_1 = (1).to_bytes(32, "little")

# a callback's body: the frame context in, a status out (0: continue)
HostCallback: TypeAlias = Callable[[FrameContext], int]

# ctx address -> FrameContext (filled by the backend for every pooled context)
CONTEXTS: dict[int, FrameContext] = {}


def _padded(buf: bytes, start: int, size: int) -> bytes:
    chunk = buf[start : start + size] if start < len(buf) else b""
    return bytes(chunk) + bytes(size - len(chunk)) if len(chunk) < size else bytes(chunk)


def _charge(c: FrameContext, cost: int) -> bool:
    g = c.q[GAS_Q] - cost
    if g < 0:
        return False
    c.q[GAS_Q] = g
    return True


def _set_return_data(c: FrameContext, data: bytes | bytearray | memoryview) -> None:
    if type(data) is not bytes:
        data = bytes(data)
    c.rdata = data
    c.q[RD_PTR_Q] = bytes_address(data)
    c.q[RD_LEN_Q] = len(data)


def _guard(fn: HostCallback) -> Callable[[int], int]:
    def cb(addr: int) -> int:
        c = CONTEXTS[addr]
        try:
            return fn(c)
        except ExceptionalHalt as exc:
            c.error = exc.name
            return L.ST_HOST_ERROR
        except BaseException as exc:  # never let an exception unwind through native frames
            c.exception = exc
            return ST_EXCEPTION

    cb.__name__ = fn.__name__
    return cb


# ---------------------------------------------------------------- environment and block words
def _word_of(getter: Callable[[FrameContext], int]) -> HostCallback:
    def fn(c: FrameContext) -> int:
        c.set_word(0, getter(c))
        return 0

    return fn


def _b2i(b: bytes) -> int:
    return int.from_bytes(b, "big")


WORDS: dict[int, Callable[[FrameContext], int]] = {
    0x30: lambda c: _b2i(c.message.target),
    0x32: lambda c: _b2i(c.host.tx.origin),
    0x33: lambda c: _b2i(c.message.caller),
    0x34: lambda c: c.message.value,
    0x3A: lambda c: c.host.tx.gas_price,
    0x41: lambda c: _b2i(c.host.block.coinbase),
    0x42: lambda c: c.host.block.timestamp,
    0x43: lambda c: c.host.block.number,
    0x44: lambda c: _b2i(c.host.block.prev_randao),
    0x45: lambda c: c.host.block.gas_limit,
    0x46: lambda c: c.host.block.chain_id,
    0x48: lambda c: c.host.block.base_fee,
    0x4A: lambda c: c.host.block.blob_base_fee,
}


# Cached reads (codegen Emitter.cached_query): the key in word 0 stays there, the answer goes to word 1, and
# the compiled code inserts (kind, key, answer) into the frame's slot cache.
def blockhash(c: FrameContext) -> int:
    c.set_word(1, c.host.block_hash(c.word(0)))
    return 0


def blobhash(c: FrameContext) -> int:
    i = c.word(0)
    hashes = c.host.tx.blob_hashes
    c.set_word(1, _b2i(hashes[i]) if i < len(hashes) else 0)
    return 0


def selfbalance(c: FrameContext) -> int:
    c.set_word(1, c.host.balance(c.message.target))  # word 0: ADDRESS, the cache key
    return 0


def _account(query: Callable[[NativeHost, bytes], int]) -> HostCallback:
    def fn(c: FrameContext) -> int:
        a = to_address(c.word(0))
        if not _charge(c, c.host.access_account(a)):
            return L.ST_OOG
        c.set_word(1, query(c.host, a))
        return 0

    return fn


balance = _account(lambda h, a: h.balance(a))
extcodesize = _account(lambda h, a: len(h.code(a)))
extcodehash = _account(lambda h, a: h.code_hash(a))


def extcodecopy(c: FrameContext) -> int:
    a = to_address(c.word(0))
    dst, off, size = c.word(1), c.word(2), c.word(3)
    if not _charge(c, c.host.access_account(a)):
        return L.ST_OOG
    if size:  # memory already expanded and copy gas charged by the compiled code
        c.write_memory(dst, _padded(c.host.code(a), off, size))
    return 0


# ---------------------------------------------------------------- storage
# Called when the runtime cannot fetch a slot that is not in the frame's native slot cache itself
# (ir/pyapi.ll: no C API here, a static frame's SSTORE, a full cache): key in word 0, the value in word 1 (in
# for stores, out for loads); loads and SSTORE also return the slot's original value in word 2, so the
# compiled code can cache it.
def sload(c: FrameContext) -> int:
    current, original, cold = c.host.touch_slot(c.message.target, c.word(0))
    if cold and not _charge(c, G.COLD_SLOAD_SURCHARGE):
        return L.ST_OOG
    c.set_words_12(current, original)
    return 0


def sstore(c: FrameContext) -> int:
    g = c.q[GAS_Q]
    t, slot = c.message.target, c.word(0)
    # the Host checks the static context and the gas (raises WriteInStaticContext / OutOfGas)
    cost = c.host.sstore(c.message, slot, c.word(1), g)
    c.q[GAS_Q] = g - cost
    c.set_word(2, c.host.original_storage(t, slot))
    return 0


def tload(c: FrameContext) -> int:
    c.set_word(1, c.host.tload(c.message.target, c.word(0)))
    return 0


def tstore(c: FrameContext) -> int:
    c.host.tstore(c.message, c.word(0), c.word(1))
    return 0


def flush_slots(c: FrameContext) -> None:
    """Write what the compiled code did natively back through the Host (`NativeHost.write_back`): its
    LOGs (in order), the slots it wrote (journaled, so a later revert undoes them) and the refund delta;
    empties the cache."""
    t = c.message.target
    logs = c.take_logs(t) if c.q[LOG_LEN_Q] else ()
    storage, transient, refund = c.take_dirty_slots()
    c.host.write_back(t, storage, transient, refund, logs)


def _flush_logs(c: FrameContext) -> None:
    """The LOGs the compiled code buffered, into the journal (in order), slots left in the cache."""
    if c.q[LOG_LEN_Q]:
        c.host.write_back(c.message.target, (), (), 0, c.take_logs(c.message.target))


def native_pending(q: memoryview) -> bool:
    """Whether the frame context `q` holds native writes, a refund delta or LOGs not yet written back."""
    return bool(q[NDIRTY_Q] or q[REFUND_Q] or q[LOG_LEN_Q])


def _leave_native(c: FrameContext) -> None:
    """Before a call, create or selfdestruct runs Python code that may read or write this
    account's slots: write the cache back and empty it (nothing to do when it holds no slot: code
    without storage instructions)."""
    q = c.q
    if native_pending(q):
        flush_slots(c)
    elif q[ST_COUNT_Q]:
        c.drop_slots()


# ---------------------------------------------------------------- logs
def _log(n: int) -> HostCallback:
    def fn(c: FrameContext) -> int:
        off, size = c.word(0), c.word(1)
        o = L.SCRATCH + 64
        topics = tuple(c.mv[o + 32 * i : o + 32 * i + 32].tobytes() for i in range(n))  # big-endian
        _flush_logs(c)  # keep the order of the LOGs the runtime buffered
        # the Host checks the static context (WriteInStaticContext)
        c.host.log(c.message, topics, c.memory(off, size) if size else b"")
        return 0

    fn.__name__ = f"log{n}"
    return fn


# ---------------------------------------------------------------- calls, creates, selfdestruct
def _call(kind: int) -> HostCallback:
    has_value = kind in (CALL, CALLCODE)

    def fn(c: FrameContext) -> int:
        # the operands: the i64 ones as rt_precompile left them (CALL_ARGS: a requested gas above 2**63-1
        # is all the gas there is either way), the address as bytes, only the value as a 256-bit word
        q = c.q
        k = CALL_ARGS_Q
        gas_req, in_off, in_size, out_off, out_size = q[k], q[k + 1], q[k + 2], q[k + 3], q[k + 4]
        to = c.chars[TO_LO : TO_LO + 20][::-1]
        value = c.word(2) if has_value else 0
        data = c.memory(in_off, in_size) if in_size else b""
        out = None if value else lean_outcome(c, to, gas_req, data)  # P256VERIFY (precompile_calls.py)
        if out is None:
            _leave_native(c)
            out = c.host.call(c.message, kind, c.q[GAS_Q], gas_req, to, value, data)
        c.q[GAS_Q] = out.gas_left
        output = out.output
        _set_return_data(c, output)
        if out_size and output:
            n = min(out_size, len(output))
            c.write_memory(out_off, bytes(output[:n]))
        o = L.SCRATCH
        c.mv[o : o + 32] = WORD_1 if out.success else WORD_0
        return 0

    fn.__name__ = f"call_{kind:x}"
    return fn


def _create(salted: bool) -> HostCallback:
    def fn(c: FrameContext) -> int:
        value, off, size = c.word(0), c.word(1), c.word(2)
        salt = c.word(3) if salted else None
        init = c.memory(off, size) if size else b""
        _leave_native(c)
        out = c.host.create(c.message, c.q[GAS_Q], value, init, salt)
        c.q[GAS_Q] = out.gas_left
        _set_return_data(c, out.output)
        created = out.address if out.success else None  # (set when it succeeded)
        c.set_word(0, _b2i(created) if created is not None else 0)
        return 0

    fn.__name__ = "create2" if salted else "create"
    return fn


def selfdestruct(c: FrameContext) -> int:
    _leave_native(c)
    g = c.q[GAS_Q]
    cost = c.host.selfdestruct(c.message, to_address(c.word(0)), g)  # checks gas and static context
    c.q[GAS_Q] = g - cost
    return 0


def install(table: FunctionTable) -> None:
    fns: dict[int, HostCallback] = {op: _word_of(get) for op, get in WORDS.items()}
    fns.update(
        {
            0x31: balance,
            0x3B: extcodesize,
            0x3C: extcodecopy,
            0x3F: extcodehash,
            0x40: blockhash,
            0x47: selfbalance,
            0x49: blobhash,
            0x54: sload,
            0x55: sstore,
            0x5C: tload,
            0x5D: tstore,
            0xF0: _create(False),
            0xF5: _create(True),
            0xF1: _call(CALL),
            0xF2: _call(CALLCODE),
            0xF4: _call(DELEGATECALL),
            0xFA: _call(STATICCALL),
            0xFF: selfdestruct,
        }
    )
    for n in range(5):
        fns[0xA0 + n] = _log(n)
    for op, fn in fns.items():
        table.set_host(op, _guard(fn))


HOST_OPS = frozenset(
    [
        *WORDS,
        0x31,
        0x3B,
        0x3C,
        0x3F,
        0x40,
        0x47,
        0x49,
        0x54,
        0x55,
        0x5C,
        0x5D,
        0xF0,
        0xF5,
        0xF1,
        0xF2,
        0xF4,
        0xFA,
        0xFF,
        *range(0xA0, 0xA5),
    ]
)
