"""The EVM's typed boundary (evm/interfaces.py): the Host, the journaled state and every backend have what the
Protocols promise; nothing outside evm/host.py reaches the state of a frame; the static-context rule is checked
in one place; SSTORE is priced by one function, whose table form agrees with it on every case."""

from __future__ import annotations

import inspect
import itertools
import re
from pathlib import Path

import pytest

from evm import gas as G
from evm import interfaces as I
from evm.backends import get_backend
from evm.errors import WriteInStaticContext
from evm.host import Host
from evm.message import BlockEnv, Message, TxEnv
from evm.spec import Fork
from evm.tracing import OpcodeHookBackend, StructLogger, Tracer, TracingBackend
from state.db import StateDB
from state.journal import JournaledState
from state.kv import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
EVM = ROOT / "evm"


def members(protocol: type) -> set[str]:
    """The names a Protocol requires (its own and its bases'), methods and attributes."""
    out: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object,) or cls.__name__ in ("Protocol", "Generic"):
            continue
        out |= {n for n in vars(cls) if not n.startswith("_")}
        out |= set(getattr(cls, "__annotations__", {}))
    return out


def missing(obj: object, protocol: type) -> set[str]:
    return {n for n in members(protocol) if not hasattr(obj, n)}


def parameters(fn: object) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]  # type: ignore[arg-type]


def test_host_is_a_native_host():
    state = JournaledState(StateDB(MemoryStore()))
    host = Host(state, BlockEnv(Fork.OSAKA), get_backend("interpreter"))
    assert missing(host, I.NativeHost) == set()
    for name in members(I.NativeHost):  # same parameter names as the Protocol says
        proto = getattr(I.NativeHost, name, None)
        if callable(proto):
            assert parameters(getattr(host, name)) == parameters(proto), name


def test_journaled_state_is_a_transaction_state():
    state = JournaledState(StateDB(MemoryStore()))
    assert missing(state, I.TransactionState) == set()
    assert missing(state, I.StateReader) == set()


@pytest.mark.parametrize("backend", ["interpreter", "tiered", "mlir"])
def test_backends_are_backends(backend):
    b = get_backend(backend)
    assert missing(b, I.Backend) == set()
    stats = b.stats()
    assert set(stats) <= set(I.BackendStats.__annotations__)
    assert {"frames_compiled", "frames_interpreted"} <= set(stats)


def test_tracing_backends_are_backends():
    for b in (TracingBackend(StructLogger()), OpcodeHookBackend(Tracer())):
        assert missing(b, I.Backend) == set()
        assert b.stats() == {"frames_compiled": 0, "frames_interpreted": 0}


def _evm_sources():
    for path in sorted(EVM.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text()


def test_only_the_host_reaches_the_state_of_a_frame():
    offenders = [
        (rel, n + 1, line.strip())
        for rel, text in _evm_sources()
        if rel != "evm/host.py"
        for n, line in enumerate(text.splitlines())
        if re.search(r"\bhost\.state\b|\bf\.state\b", line)
    ]
    assert offenders == []


def test_one_static_context_check():
    """`is_static` is read to decide a write only by evm.host.check_writable (message.py defines it and the
    host passes it on to child frames)."""
    readers = []
    for rel, text in _evm_sources():
        for n, line in enumerate(text.splitlines()):
            if re.search(r"\.is_static\b", line) and rel != "evm/host.py":
                readers.append((rel, n + 1, line.strip()))
    # compiled code's copy of the flag, so that its native SSTORE/TSTORE/LOG leave a static frame's write to
    # the Host (which raises): a copy, not a decision
    assert [(rel, line) for rel, _, line in readers] == [
        (
            "evm/compiler/backend.py",
            "q[_STATIC_Q] = message.is_static  # native stores leave a static frame's writes to the Host",
        )
    ]
    host = (EVM / "host.py").read_text()
    decisions = [line.strip() for line in host.splitlines() if "is_static" in line and "if " in line]
    assert decisions == ["if frame.is_static:"]


def test_writes_of_a_static_frame_raise_in_the_host():
    state = JournaledState(StateDB(MemoryStore()))
    state.begin_transaction()
    host = Host(state, BlockEnv(Fork.OSAKA), get_backend("interpreter"), TxEnv())
    a = b"\x01" * 20
    frame = Message(a, a, 0, b"", 100_000, b"\x00", a, is_static=True)
    for write in (
        lambda: host.sstore(frame, 1, 2, 50_000),
        lambda: host.tstore(frame, 1, 2),
        lambda: host.log(frame, [b"\x00" * 32], b"x"),
        lambda: host.selfdestruct(frame, a, 50_000),
        lambda: host.create(frame, 50_000, 0, b""),
    ):
        with pytest.raises(WriteInStaticContext):
            write()
    assert state.get_storage(a, 1) == 0 and state.get_transient(a, 1) == 0 and not state.logs


def test_sstore_table_is_sstore_cost_on_every_case():
    """`SSTORE_TABLE` (what native SSTORE is generated from) agrees with `sstore_cost` (what the Host
    charges) on every (original, current, new, cold), with values wide enough to make every fact differ."""
    values = (0, 1, 2, 3, 2**256 - 1)
    seen = set()
    for original, current, new in itertools.product(values, repeat=3):
        for cold in (False, True):
            key = G.sstore_case(original, current, new, cold)
            seen.add(key)
            assert G.SSTORE_TABLE[key] == G.sstore_cost(original, current, new, cold), (original, current, new, cold)
    assert seen == set(G.SSTORE_TABLE)  # no row of the table is unreachable


def test_sstore_table_rows():
    # EIP-2200 / EIP-3529's named cases: no-op, fresh set, reset, clear with refund, restore
    warm = {
        (0, 0, 0): (100, 0),
        (0, 0, 1): (20000, 0),
        (1, 1, 2): (2900, 0),
        (1, 1, 0): (2900, 4800),
        (1, 0, 1): (100, -4800 + 2800),
        (0, 1, 0): (100, 19900),
        (1, 2, 1): (100, 2800),
    }
    for (o, c, n), cost in warm.items():
        assert G.SSTORE_TABLE[G.sstore_case(o, c, n, False)] == cost
        assert G.SSTORE_TABLE[G.sstore_case(o, c, n, True)] == (cost[0] + 2100, cost[1])


def test_block_env_is_frozen_and_tx_env_separate():
    import dataclasses

    env = BlockEnv(Fork.CANCUN, base_fee=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.base_fee = 0  # type: ignore[misc]
    assert not {"origin", "gas_price", "blob_hashes"} & {f.name for f in dataclasses.fields(BlockEnv)}
    assert {f.name for f in dataclasses.fields(TxEnv)} == {"origin", "gas_price", "blob_hashes"}


def test_native_sstore_is_the_table_on_every_warm_case():
    """The compiled code's SSTORE (runtime_slots.py rt_sstore, on a slot in the frame's native cache, i.e.
    warm) charges and refunds what `SSTORE_TABLE` says on every warm row, with the EIP-2200 stipend rule and
    the exact out-of-gas bound; it leaves cold slots (never in the cache) and static frames to the Host."""
    import ctypes

    from evm.compiler import layout as L
    from evm.compiler.context import FrameContext, FunctionTable
    from evm.compiler.runtime import get_jit

    rt = get_jit().runtime
    sstore = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(rt["rt_sstore"])
    insert = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)(rt["rt_slot_insert"])
    sload = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(rt["rt_sload"])
    c = FrameContext(FunctionTable(), 0)
    q = c.q
    key = 2**255 + 7
    big = 2**256 - 1

    def cached(original: int, current: int) -> None:
        c.drop_slots()
        q[L.STATIC // 8] = 0
        c.set_word(0, key)
        c.set_word(1, current)
        c.set_word(2, original)
        insert(c.addr, 0)

    def store(original: int, current: int, new: int, gas: int) -> int:
        cached(original, current)
        c.set_word(0, key)
        c.set_word(1, new)
        return sstore(c.addr, gas)

    seen = set()
    for original, current, new in itertools.product((0, 1, 2, big), repeat=3):
        case = G.sstore_case(original, current, new, False)
        seen.add(case)
        cost, refund = G.SSTORE_TABLE[case]
        gas = 1_000_000
        assert gas - store(original, current, new, gas) == cost, (original, current, new)
        assert q[L.REFUND // 8] == refund, (original, current, new)
        assert sload(c.addr) == 1 and c.word(1) == new
        assert q[L.ST_NDIRTY // 8] == (current != new)
        # exact bounds: the cost itself fits, one less is out of gas; the stipend rule before anything
        floor = max(cost, G.SSTORE_MIN_GAS_LEFT + 1)
        assert store(original, current, new, floor) == floor - cost
        assert store(original, current, new, floor - 1) == -1
        assert q[L.REFUND // 8] == 0 and q[L.ST_NDIRTY // 8] == 0  # nothing written when out of gas
        cached(original, current)  # a static frame: the Host decides (and raises)
        q[L.STATIC // 8] = 1
        c.set_word(1, new)
        assert sstore(c.addr, gas) == -2 and q[L.ST_NDIRTY // 8] == 0
    assert seen == {case for case in G.SSTORE_TABLE if not case[0]}  # every warm row
    c.drop_slots()  # a cold slot is not in the cache: the Host prices it (sstore_cost)
    c.set_word(0, key)
    c.set_word(1, 1)
    assert sstore(c.addr, 1_000_000) == -2
