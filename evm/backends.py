"""Registry of EVM backends, by name.

A backend is a class (or factory) whose instances satisfy `evm.interfaces.Backend`: ``name``,
``run_frame(message, host) -> ExecutionResult`` (run one frame's code; the shared `evm.host.Host` does
calls, creates, precompiles and state) and ``stats()``. Backends come from the
entry-point group ``evm_mlir.backends`` (``name = "module:factory"``, see pyproject.toml) and
from `register_backend` for in-process use; the backends of this distribution are known even
when its metadata is missing or stale (running from a source tree, an editable install made
before an entry point was added).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .interfaces import Backend

ENTRY_POINT_GROUP = "evm_mlir.backends"
_BUILTIN = {
    "interpreter": "evm.interpreter:InterpreterBackend",
    "mlir": "evm.compiler:MlirBackend",
    "tiered": "evm.tiered:TieredBackend",
}

_registered: dict[str, Callable[[], Backend]] = {}
_instances: dict[str, Backend] = {}
_factories: dict[str, Callable[[], Backend]] = {}  # resolved from entry points or built in (backend_factory)
_lock = threading.Lock()
# bumped whenever a name may come to mean another instance (register_backend): what was looked up by name
# before (evm.execute's reused Host) is looked up again
generation = 0


def register_backend(name: str, cls: Callable[[], Backend]) -> None:
    """Register (or replace) a backend class/factory under `name` for this process."""
    global generation
    with _lock:
        _registered[name] = cls
        _instances.pop(name, None)
        _factories.pop(name, None)
        generation += 1


def _entry_points() -> dict[str, Any]:
    try:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    except Exception:  # broken metadata must not hide the built-in backends
        return {}


def available_backends() -> list[str]:
    """Names of every backend that can be asked for (registered, entry points, built-in)."""
    return sorted(set(_registered) | set(_entry_points()) | set(_BUILTIN))


def _load(spec: str) -> Callable[[], Backend]:
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return cast("Callable[[], Backend]", obj)


def backend_factory(name: str) -> Callable[[], Backend]:
    """What makes backend `name` (registered, an entry point, built-in), resolved once per process (the
    entry-point scan reads every installed distribution's metadata); ValueError listing the available
    ones when unknown."""
    factory = _registered.get(name) or _factories.get(name)
    if factory is None:
        ep = _entry_points().get(name)
        if ep is not None:
            factory = ep.load()
        elif name in _BUILTIN:
            factory = _load(_BUILTIN[name])
        if factory is None:
            raise ValueError(f"unknown EVM backend {name!r} (available: {', '.join(available_backends())})")
        _factories[name] = factory
    return factory


def get_backend(name: str) -> Backend:
    """The (cached, per process) instance of backend `name`; ValueError listing the available
    ones when unknown."""
    inst = _instances.get(name)
    if inst is not None:
        return inst
    with _lock:
        inst = _instances.get(name)
        if inst is not None:
            return inst
        inst = backend_factory(name)()
        _instances[name] = inst
        return inst


def loaded_backend(name: str) -> Backend | None:
    """The instance of backend `name` if this process created it already (never creates one)."""
    return _instances.get(name)


def frame_counts(name: str) -> tuple[int, int]:
    """(frames run compiled, frames run interpreted) by backend `name` in this process so far."""
    s = get_backend(name).stats()
    return s.get("frames_compiled", 0), s.get("frames_interpreted", 0)
