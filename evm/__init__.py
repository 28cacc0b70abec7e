"""The EVM: opcode table (opcodes.py), gas schedule (gas.py), fork rules (rules.py), the typed boundary
(interfaces.py), the shared host (host.py), backends (interpreter/, compiler/, tiered.py) chosen by name
through backends.py.

`execute(message, state, block, tx, backend="interpreter")` is the one entry point: it runs one
top-level message (a call, or a create when ``message.is_create``; for a create
``message.target`` is the new address and ``message.code`` the init code) against a journaled state
(`evm.interfaces.EvmState`, e.g. `state.journal.JournaledState`) in a block environment and a transaction
environment, and returns an `ExecutionResult` with the gas left. Refunds, logs, created accounts and
self-destructs stay in the state for the transaction processor. Nothing is raised for EVM failures: they are
results.

Depth: nested calls recurse in Python through the host; the host runs every 48th level on a new
thread with a large stack (see evm/host.py), so depth 1024 works from any thread without touching
the recursion limit.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import backends
from .backends import get_backend, loaded_backend
from .host import Host
from .message import BlockEnv, ExecutionResult, Message, TxEnv
from .spec import Fork

if TYPE_CHECKING:
    from .interfaces import EvmState
    from .tracing import Tracer

__all__ = ["execute", "BlockEnv", "TxEnv", "ExecutionResult", "Message", "Fork"]


def execute(
    message: Message,
    state: EvmState,
    block: BlockEnv,
    tx: TxEnv,
    backend: str = "interpreter",
    tracer: Tracer | None = None,
) -> ExecutionResult:
    """Run one top-level message with the named backend (see module docstring). With a `tracer`
    (`evm.tracing.Tracer`: the struct logger, evm.tracers' call/prestate/4byte tracers) every frame runs on
    the interpreter instead, with the tracer's hooks."""
    if tracer is not None:  # its backend: the tracing interpreter (struct logs) or the plain one with hooks
        hooked = tracer.backend()
        traced = Host(state, block, hooked, tx)
        traced.tracer = tracer
        try:
            return traced.execute_top_level(message)
        finally:  # the named backend's statistics say what ran for it: these frames ran interpreted
            named = loaded_backend(backend)
            if named is not None and named is not hooked and hasattr(named, "frames_traced"):
                named.frames_traced += hooked.stats().get("frames_interpreted", 0)
    # A Host holds nothing of one message and a BlockEnv is frozen, so the next message on the same state,
    # block and backend (the transactions of a block, a benchmark loop) reuses it, as revm reuses its Evm.
    # (state, block, backend name, backends.generation, host) of the previous message on this thread: the
    # name is compared (one name, one instance, until register_backend changes the generation)
    try:
        last = _last.entry
    except AttributeError:
        last = (None, None, None, -1, None)
    if last[0] is state and last[1] is block and last[2] == backend and last[3] == backends.generation:
        host: Host = last[4]
    else:
        host = Host(state, block, get_backend(backend), tx)
        _last.entry = (state, block, backend, backends.generation, host)
    return host.execute_top_level(message, tx)


_last = threading.local()
