"""The native runtime's LLVM IR, one way: `.ll` files in this directory, loaded as package
resources. Context offsets and constants are written `{{NAME}}` and substituted from `layout.py`
(and, for the slot cache, runtime_slots.py: its SSTORE prices are rows of evm.gas.SSTORE_TABLE); a name with no value is an error, never
left in the text. The unrolled round functions are generated once by `generate.py` and committed.

The runtime module is these files joined: `runtime.ll` (memory growth, Keccak-256, EXP, padded
copies), `div_x86_64.ll` or `div_generic.ll` (the 256-bit division family), `keccak_f.ll`,
`absorb.ll`, `sha256.ll` (SHA-256 and the native precompile call) with `sha256_block.ll`, and
`slots.ll` (the slot cache and the LOG buffer), `pyapi.ll` (its calls into CPython: cold slots, write-back)."""

from __future__ import annotations

import re
from importlib import resources

from .. import layout as L

_NAME = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


def text(name: str) -> str:
    """The file `name`.ll as written."""
    return resources.files(__package__).joinpath(f"{name}.ll").read_text()


def fill(ir_text: str, names: dict[str, int]) -> str:
    """`ir_text` with every {{NAME}} replaced by names[NAME]; KeyError for a name without value."""

    def value(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in names:
            raise KeyError(f"runtime IR names {{{{{key}}}}}, which has no value")
        return str(names[key])

    return _NAME.sub(value, ir_text)


def layout_names() -> dict[str, int]:
    """Every upper-case integer constant of layout.py, by name."""
    return {k: v for k, v in vars(L).items() if k.isupper() and isinstance(v, int)}


def runtime_module(x86_64: bool) -> str:
    """The runtime module's text."""
    from ..runtime_slots import NAMES as SLOT_NAMES

    names = {**layout_names(), **SLOT_NAMES, "MIN256": -(1 << 255)}
    parts = [
        fill(text("runtime"), names),
        text("div_x86_64" if x86_64 else "div_generic"),
        text("keccak_f"),
        text("absorb"),
        fill(text("sha256"), names),
        text("sha256_block"),
        fill(text("slots"), names),
        fill(text("pyapi"), names),
    ]
    return "\n".join(parts)
