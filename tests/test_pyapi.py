"""The runtime's calls into CPython (evm/compiler/ir/pyapi.ll, bound by evm/compiler/pyapi.py): a cold storage
slot fetched through the Host's `touch_slot` and priced natively, the write-back lists built natively, and
what happens when the Host raises or answers something that is not ints. The differential tests of
test_native_host_paths.py cover them end to end (against the interpreter); the last test runs those again
with the C API switched off (EVM_MLIR_PYAPI=0), so the ctypes-callback paths stay exact too."""

from __future__ import annotations

import ctypes
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evm import gas as G
from evm.compiler import layout as L
from evm.compiler import pyapi
from evm.compiler.context import FrameContext, FunctionTable
from evm.compiler.runtime import get_jit

ROOT = Path(__file__).resolve().parent.parent
KEY = 2**255 + 7
BIG = 2**256 - 1
ADDRESS = bytes(19) + b"\x01"

pytestmark = pytest.mark.skipif(not pyapi.SUPPORTED, reason="the runtime's C-API calls are bound on CPython 3.11/3.12")


@pytest.fixture(scope="module")
def rt():
    jit = get_jit()
    assert jit.pyapi, "the C API must be bound on this interpreter (EVM_MLIR_PYAPI=0 set?)"
    fns = jit.runtime
    return {
        "sstore_cold": ctypes.PYFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(fns["rt_sstore_cold"]),
        "sload_cold": ctypes.PYFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(fns["rt_sload_cold"]),
        "sload": ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(fns["rt_sload"]),
        "sstore": ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(fns["rt_sstore"]),
    }


def frame(touch) -> FrameContext:
    """A fresh context whose frame fetches slots through `touch` (as run_frame sets it up)."""
    c = FrameContext(FunctionTable(), 0)
    c.drop_slots()  # a live generation (a fresh table is all generation 0)
    c.touch = touch
    c.q[L.TOUCH_FN // 8] = id(touch)
    c.q[L.TOUCH_ADDR // 8] = id(ADDRESS)
    c.q[L.STATIC // 8] = 0
    return c


def test_cold_and_warm_fetches_are_priced_like_the_table(rt):
    """rt_sstore_cold on every (original, current, new) with the Host answering cold or warm: the gas is
    sstore_cost's (the cold surcharge included), the refund its delta, the slot cached with the new value,
    and touch_slot called once with (address, key)."""
    seen = set()
    for (original, current, new), cold in itertools.product(itertools.product((0, 1, 2, BIG), repeat=3), (True, False)):
        calls = []

        def touch(a: bytes, k: int, answer=(current, original, cold)) -> tuple[int, int, bool]:
            calls.append((a, k))
            return answer

        c = frame(touch)
        c.set_word(0, KEY)
        c.set_word(1, new)
        cost, refund = G.sstore_cost(original, current, new, cold)
        seen.add(G.sstore_case(original, current, new, cold))
        gas = 1_000_000
        assert gas - rt["sstore_cold"](c.addr, gas) == cost, (original, current, new, cold)
        assert calls == [(ADDRESS, KEY)]
        assert c.q[L.REFUND // 8] == refund
        assert c.q[L.ST_NDIRTY // 8] == (current != new)
        c.set_word(0, KEY)
        assert rt["sload"](c.addr) == 1 and c.word(1) == new  # cached: a warm SLOAD from now on
        # the exact bound: the cost fits, one gas less is out of gas (nothing written then)
        c2 = frame(touch)
        c2.set_word(0, KEY)
        c2.set_word(1, new)
        assert rt["sstore_cold"](c2.addr, cost - 1) == -1
        assert c2.q[L.REFUND // 8] == 0 and c2.q[L.ST_NDIRTY // 8] == 0
    assert seen == set(G.SSTORE_TABLE)  # every row, cold and warm


def test_cold_sload_fetches_and_caches(rt):
    for cold in (True, False):
        c = frame(lambda a, k, cold=cold: (BIG - k, 5, cold))
        c.set_word(0, KEY)
        assert rt["sload_cold"](c.addr) == int(cold)
        assert (c.word(1), c.word(2)) == (BIG - KEY, 5)
        c.set_word(1, 0)
        assert rt["sload"](c.addr) == 1 and c.word(1) == BIG - KEY


def test_static_frames_full_caches_and_unset_frames_go_to_python(rt):
    """-2 (the Python callback does the whole SSTORE) without calling touch_slot: a static frame (the Host
    raises there), a full cache (the slot could not be cached: warming it here would misprice it), a frame
    whose code has no touch_slot set."""
    calls = []
    c = frame(lambda a, k: calls.append(k) or (0, 0, True))
    c.q[L.STATIC // 8] = 1
    c.set_word(0, KEY)
    assert rt["sstore_cold"](c.addr, 100_000) == -2
    c.q[L.STATIC // 8] = 0
    c.q[L.ST_COUNT // 8] = L.ST_MAX
    assert rt["sstore_cold"](c.addr, 100_000) == -2
    c.q[L.ST_COUNT // 8] = 0
    c.q[L.TOUCH_FN // 8] = 0
    assert rt["sstore_cold"](c.addr, 100_000) == -2
    assert rt["sload_cold"](c.addr) == -2
    assert calls == []


def test_a_host_exception_reaches_the_caller(rt):
    """touch_slot raising: the runtime returns at once (-3 / -1) with the exception pending, and ctypes
    raises it; nothing is cached."""

    def boom(a: bytes, k: int) -> tuple[int, int, bool]:
        raise KeyError("database gone")

    c = frame(boom)
    c.set_word(0, KEY)
    with pytest.raises(KeyError, match="database gone"):
        rt["sstore_cold"](c.addr, 100_000)
    with pytest.raises(KeyError, match="database gone"):
        rt["sload_cold"](c.addr)
    assert c.q[L.ST_COUNT // 8] == 0


@pytest.mark.parametrize("answer", [("1", 0, True), (1, 2), None, (1, -1, True), (1, 2**256, False)])
def test_a_wrong_answer_is_a_python_error_not_a_crash(rt, answer):
    c = frame(lambda a, k: answer)
    c.set_word(0, KEY)
    with pytest.raises((TypeError, SystemError, OverflowError, IndexError)):
        rt["sload_cold"](c.addr)
    assert c.q[L.ST_COUNT // 8] == 0


def test_write_back_lists_equal_the_python_decoding(rt):
    """rt_dirty_lists gives what decoding the dirty entries in Python gives: (key, value) pairs of storage
    and of transient storage, in the order first written."""
    tstore = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(get_jit().runtime["rt_tstore"])
    keys = [0, 1, KEY, BIG, 2**64, 2**128 + 3] + list(range(100, 160))

    def fill(c: FrameContext) -> None:
        for i, k in enumerate(keys):
            c.set_word(0, k)
            c.set_word(1, (k * 7 + i) % 2**256)
            if i % 3 == 0:
                assert tstore(c.addr) == 1
            else:
                assert rt["sstore_cold"](c.addr, 10**9) >= 0

    a = frame(lambda a_, k: (0, 0, True))
    fill(a)
    b = frame(lambda a_, k: (0, 0, True))
    fill(b)
    b.dirty_lists = None  # decoded in Python
    native, python = a.take_dirty_slots(), b.take_dirty_slots()
    assert native == python
    assert len(native[0]) + len(native[1]) == len(keys) and native[1] and native[0]
    assert a.take_dirty_slots() == ([], [], 0)


def test_execute_raises_the_host_exception_and_the_backend_recovers():
    """End to end (evm.execute, mlir): a state whose storage read fails raises out of execute; the frame
    context is released (not busy, no stale halt status) and the next call on the same backend runs."""
    from evm_helpers import CONTRACT, ops, run

    code = ops(1, 0, "SSTORE", 0, "SLOAD", 0, "MSTORE", 32, 0, "RETURN")
    ok = run(code, backend="mlir")
    assert ok.result.status == "success" and int.from_bytes(ok.result.output, "big") == 1

    from evm.backends import get_backend

    backend = get_backend("mlir")
    import state.journal as J

    real = J.JournaledState.access_storage

    def failing(self, address, slot):
        raise RuntimeError("storage read failed")

    J.JournaledState.access_storage = failing
    try:
        with pytest.raises(RuntimeError, match="storage read failed"):
            run(code, backend="mlir")
    finally:
        J.JournaledState.access_storage = real
    assert not any(c.busy for c in backend._pool)
    top = backend._pool[0]  # the depth-0 context the failed frame ran on: released and emptied
    assert top.q[L.HALT // 8] == 0 and top.q[L.ST_COUNT // 8] == 0 and top.q[L.ST_NDIRTY // 8] == 0
    again = run(code, backend="mlir")
    assert again.result.status == "success" and again.result.gas_left == ok.result.gas_left
    assert CONTRACT


class _Box:
    held: object = None


def test_the_builtin_entry_checks_its_arguments_and_returns_the_result():
    """The entry (rt_py_entry, METH_FASTCALL) of a contract returning calldata word 0 plus one: gas and calldata
    reach the context; a RETURN comes back as the ExecutionResult the entry made (its output copied out of
    memory, the gas left), a STOP as one with empty output, a REVERT as its status; a wrong argument count,
    calldata that is not exact bytes, or a gas beyond int64 is a TypeError/OverflowError, never a crash; the
    results it makes are ordinary objects (equal to one made in Python, collected when dropped)."""
    import gc
    import weakref

    from evm.backends import get_backend
    from evm.message import ExecutionResult
    from evm.spec import Fork

    be = get_backend("mlir")
    assert be.jit.pyapi  # (this test is about the C-API entry)
    code = bytes.fromhex("5f356001015f5260205ff3")  # CALLDATALOAD(0)+1, MSTORE(0), RETURN(0, 32)
    fn = be.entry(code, Fork.CANCUN)
    c = be._context(0)
    try:
        out = fn(c.arg, 100_000, (41).to_bytes(32, "big"))
        assert type(out) is ExecutionResult
        gas = c.q[L.GAS // 8]
        assert 0 < gas < 100_000 and c.q[L.CD_LEN // 8] == 32
        assert out == ExecutionResult("success", (42).to_bytes(32, "big"), gas)
        assert out.error is None and out.created_address is None and out.success
        out.gas_left = 7  # a plain mutable result, as the Python path's
        assert out.gas_left == 7
        stop = be.entry(b"\x00", Fork.CANCUN)(c.arg, 100, b"")
        assert stop == ExecutionResult("success", b"", 100)
        assert be.entry(bytes.fromhex("60015f52"), Fork.CANCUN)(c.arg, 100, b"") == ExecutionResult("success", b"", 89)
        assert be.entry(bytes.fromhex("60205ffd"), Fork.CANCUN)(c.arg, 100, b"") == 2  # REVERT: the status
        counts = sys.getrefcount("success"), sys.getrefcount(None)
        for _ in range(1000):  # no reference leaked or stolen: the constants' counts stay where they were
            fn(c.arg, 100_000, (41).to_bytes(32, "big"))
        assert abs(sys.getrefcount("success") - counts[0]) <= 1
        probe = fn(c.arg, 100_000, (1).to_bytes(32, "big"))
        box = _Box()
        box.held = probe
        probe.output = box  # type: ignore[assignment]  # a cycle through the result: the GC must see it
        ref = weakref.ref(box)
        del probe, box
        gc.collect()
        assert ref() is None
        for bad in ((c.arg, 100), (c.arg, 100, bytearray(32)), (c.arg, 100, "x" * 32)):
            with pytest.raises(TypeError):
                fn(*bad)
        with pytest.raises(OverflowError):
            fn(c.arg, 2**64, b"")
    finally:
        c.busy = False


def test_native_host_paths_without_the_c_api():
    """The differential scenarios of test_native_host_paths.py with the C API off: cold slots through the
    ctypes callbacks, the write-back decoded in Python."""
    env = {**os.environ, "EVM_MLIR_PYAPI": "0"}
    probe = "from evm.compiler.runtime import get_jit; j = get_jit(); print(j.pyapi, j.dirty_lists)"
    off = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert off.stdout.splitlines()[-1].split() == ["False", "None"], off.stdout + off.stderr
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_native_host_paths.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count(".") >= 100  # (one dot per test that passed)
