"""The MLIR compiler backend ("mlir"): EVM bytecode -> MLIR (func/cf/arith/llvm) -> LLVM ->
native code, cached by (code hash, fork). See docs/compiler.md."""
from __future__ import annotations


def __getattr__(name):
    if name == "MlirBackend":
        from .backend import MlirBackend
        return MlirBackend
    raise AttributeError(name)


__all__ = ["MlirBackend"]
