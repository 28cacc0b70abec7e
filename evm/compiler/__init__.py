"""The MLIR compiler backend ("mlir"): EVM bytecode -> MLIR (func/cf/arith/llvm) -> LLVM ->
native code, cached by (code hash, fork). See docs/compiler.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backend import MlirBackend


def __getattr__(name: str) -> type[MlirBackend]:
    if name == "MlirBackend":
        from .backend import MlirBackend

        return MlirBackend
    raise AttributeError(name)


__all__ = ["MlirBackend"]
