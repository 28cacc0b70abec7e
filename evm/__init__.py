"""The EVM: opcode table (opcodes.py), gas schedule (gas.py), shared host (host.py), backends
(interpreter/, compiler/) chosen by name through backends.py.

`execute(message, state, env, backend="interpreter")` is the one entry point: it runs one
top-level message (a call, or a create when ``message.is_create``; for a create
``message.target`` is the new address and ``message.code`` the init code) against a
`state.journal.JournaledState` and returns an `ExecutionResult` with the gas left. Refunds, logs,
created accounts and self-destructs stay in the JournaledState for the transaction processor.
Nothing is raised for EVM failures: they are results.

Depth: nested calls recurse in Python through the host; the host runs every 48th level on a new
thread with a large stack (see evm/host.py), so depth 1024 works from any thread without touching
the recursion limit.
"""
from __future__ import annotations

import threading
from typing import Any

from .backends import get_backend
from .host import Host
from .message import Env, ExecutionResult, Message
from .spec import Fork

__all__ = ["execute", "Env", "ExecutionResult", "Message", "Fork"]


def execute(message: Message, state: Any, env: Env, backend: str = "interpreter",
            tracer: Any = None) -> ExecutionResult:
    """Run one top-level message with the named backend (see module docstring). With a `tracer`
    (`evm.tracing.Tracer`: the struct logger, evm.tracers' call/prestate/4byte tracers) every frame runs on
    the interpreter instead, with the tracer's hooks."""
    if tracer is not None:  # its backend: the tracing interpreter (struct logs) or the plain one with hooks
        host = Host(state, env, tracer.backend())
        host.tracer = tracer
        return host.execute_top_level(message)
    # A Host holds nothing of one message, so the next message on the same state, environment and
    # backend (the transactions of a block, a benchmark loop) reuses it, as revm reuses its Evm.
    engine = get_backend(backend)
    host = getattr(_last, "host", None)
    if host is None or host.state is not state or host.env is not env or host.backend is not engine:
        host = _last.host = Host(state, env, engine)
    return host.execute_top_level(message)


_last = threading.local()
