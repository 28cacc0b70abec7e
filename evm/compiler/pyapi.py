"""The CPython C-API entry points the runtime calls (ir/pyapi.ll), bound into its globals at JIT load.

Why: a cold storage slot costs compiled code a trip to the journaled state. Through a ctypes callback that
trip pays for the callback itself, for decoding the key and encoding the answer word by word in Python,
and for decoding every written slot again at write-back. The runtime instead calls the Host's
`touch_slot` with CPython's vectorcall (key and answers converted by `_PyLong_FromByteArray` and
`_PyLong_AsByteArray`) and builds the write-back lists itself. A compiled contract's entry is a Python builtin
(`native_entry`), cheaper to call than a ctypes function. The journal stays the one source of truth:
these calls go through the same Host methods the Python paths use.

Bound only on CPython 3.11 and 3.12, whose signatures pyapi.ll is written for (3.13 changed
`_PyLong_AsByteArray`), and unless EVM_MLIR_PYAPI=0 (which tests use to run the other paths). Elsewhere
the globals stay null and compiled code takes the ctypes callbacks (`Jit.pyapi` says which; logged once at
debug level).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import llvmlite.binding as llvm
import structlog

if TYPE_CHECKING:
    from ..message import ExecutionResult

log = structlog.get_logger(__name__)

SUPPORTED = sys.implementation.name == "cpython" and sys.version_info[:2] in ((3, 11), (3, 12))

_FUNCTIONS = {
    "py_long_from": "_PyLong_FromByteArray",
    "py_long_as": "_PyLong_AsByteArray",
    "py_vectorcall": "PyObject_Vectorcall",
    "py_decref": "Py_DecRef",
    "py_tuple_new": "PyTuple_New",
    "py_tuple_get": "PyTuple_GetItem",
    "py_tuple_set": "PyTuple_SetItem",
    "py_list_new": "PyList_New",
    "py_list_append": "PyList_Append",
    "py_err_set": "PyErr_SetString",
    "py_as_voidptr": "PyLong_AsVoidPtr",
    "py_from_i64": "PyLong_FromLongLong",
    "py_err_occurred": "PyErr_Occurred",
    "py_as_i64": "PyLong_AsLongLong",
    "py_bytes_from": "PyBytes_FromStringAndSize",
    "py_alloc": "PyType_GenericAlloc",
    "py_incref": "Py_IncRef",
}

# the slots of ExecutionResult that rt_py_entry fills, in the order of pyapi.ll's @py_result_slots
RESULT_SLOTS = ("status", "output", "gas_left", "error", "created_address")
_SUCCESS = "success"  # the status object every result made by rt_py_entry holds (kept alive here)

# rt_dirty_lists: ctx -> (storage [(key, value)], transient [(key, value)]) (a new reference: ctypes takes it)
DIRTY_LISTS = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p)


class PyMethodDef(ctypes.Structure):
    _fields_ = [
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    ]


METH_FASTCALL = 0x0080
_entry_def: PyMethodDef | None = None  # one definition for every contract's entry (kept alive here)
_new_function: Callable[[int, int, None], Callable[[int, int, bytes], int | ExecutionResult]] | None = (
    None  # PyCFunction_NewEx
)


def native_entry(rt_py_entry: int, function: int) -> Callable[[int, int, bytes], int | ExecutionResult]:
    """The compiled function at address `function` as a Python builtin (ir/pyapi.ll rt_py_entry): called as
    entry(context address, gas, calldata bytes), it stores gas and calldata into the context, runs the
    contract and returns its ExecutionResult when it succeeded (STOP or RETURN), else the status. Only when
    `bind` succeeded."""
    global _entry_def, _new_function
    if _entry_def is None or _new_function is None:
        _entry_def = PyMethodDef(b"evm_mlir_entry", rt_py_entry, METH_FASTCALL, None)
        new = ctypes.cast(ctypes.pythonapi.PyCFunction_NewEx, ctypes.c_void_p).value
        assert new, "PyCFunction_NewEx"  # (bind found the C API: this is CPython)
        proto = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.py_object, ctypes.py_object)
        _new_function = proto(new)
    return _new_function(ctypes.addressof(_entry_def), function, None)


def result_layout() -> tuple[int, ...] | None:
    """The byte offset in an ExecutionResult of each of RESULT_SLOTS, measured on a probe instance whose
    fields are distinct objects (CPython places slots after the object header, in sorted order); None
    when the class is not laid out as plain object slots (then the C API is not used at all)."""
    from ..message import ExecutionResult

    if set(getattr(ExecutionResult, "__slots__", ())) != set(RESULT_SLOTS):
        return None
    if ExecutionResult.__dictoffset__ or ExecutionResult.__weakrefoffset__:  # (no __dict__, no __weakref__)
        return None
    n = len(RESULT_SLOTS)
    header = object.__basicsize__
    if ExecutionResult.__basicsize__ != header + n * ctypes.sizeof(ctypes.c_void_p):
        return None
    probe = ExecutionResult(*[object() for _ in RESULT_SLOTS])  # type: ignore[arg-type]
    stored = list((ctypes.c_void_p * n).from_address(id(probe) + header))
    where = {address: header + i * ctypes.sizeof(ctypes.c_void_p) for i, address in enumerate(stored)}
    try:
        return tuple(where[id(getattr(probe, name))] for name in RESULT_SLOTS)
    except KeyError:
        return None


def addresses() -> dict[str, int] | None:
    """{global name: address} for pyapi.ll, or None when this interpreter is not one it supports."""
    if not SUPPORTED or os.environ.get("EVM_MLIR_PYAPI", "1").strip() == "0":
        return None
    api = ctypes.pythonapi
    out: dict[str, int] = {}
    for name, symbol in _FUNCTIONS.items():
        fn = getattr(api, symbol, None)
        addr = ctypes.cast(fn, ctypes.c_void_p).value if fn is not None else None
        if not addr:
            return None
        out[name] = addr
    out["py_type_error"] = id(TypeError)
    out["py_true"] = id(True)
    out["py_int_type"] = id(int)
    out["py_bytes_type"] = id(bytes)
    from ..message import ExecutionResult

    out["py_result_type"] = id(ExecutionResult)
    out["py_success"] = id(_SUCCESS)
    out["py_none"] = id(None)
    out["py_empty"] = id(b"")
    return out


def bind(engine: llvm.ExecutionEngine) -> bool:
    """Store the C-API addresses in the runtime module's globals of MCJIT `engine`; False (globals left
    null: the Python paths) when this interpreter is not supported."""
    found = addresses()
    if found is None:
        log.debug(
            "pyapi.off",
            reason="EVM_MLIR_PYAPI=0" if SUPPORTED else "unsupported interpreter",
            python=sys.version.split()[0],
            implementation=sys.implementation.name,
        )
        return False
    layout = result_layout()
    if layout is None:
        log.debug("pyapi.off", reason="ExecutionResult is not laid out as object slots")
        return False
    for name, addr in found.items():
        ctypes.c_void_p.from_address(engine.get_global_value_address(name)).value = addr
    slots = (ctypes.c_int64 * len(layout)).from_address(engine.get_global_value_address("py_result_slots"))
    slots[:] = list(layout)
    return True
