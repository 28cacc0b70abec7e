"""The runtime's IR is written one way (evm/compiler/ir/*.ll, names from layout.py): the
generated round functions are what generate.py writes, every {{NAME}} has a value, and the
assembled module parses and verifies."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import pytest

from evm.compiler import ir
from evm.compiler.ir import generate
from evm.compiler.runtime import RUNTIME_FUNCTIONS, runtime_ir


@pytest.mark.parametrize("name", sorted(generate.GENERATED))
def test_generated_files_are_the_generators_output(name):
    assert ir.text(name.removesuffix(".ll")) == generate.render(name), "run python -m evm.compiler.ir.generate"


def test_every_name_has_a_value_and_none_is_left():
    text = runtime_ir()
    assert "{{" not in text and "}}" not in text
    with pytest.raises(KeyError, match="NO_SUCH_OFFSET"):
        ir.fill("load i64, ptr {{NO_SUCH_OFFSET}}", ir.layout_names())


def test_names_come_from_layout_or_the_gas_table():
    from evm.compiler import layout as L
    from evm.compiler.runtime_slots import NAMES

    used = set()
    for f in ir.resources.files("evm.compiler.ir").iterdir():
        if f.name.endswith(".ll"):
            used |= set(re.findall(r"\{\{([A-Z][A-Z0-9_]*)\}\}", f.read_text()))
    assert used and used - {"MIN256"} - set(NAMES) <= set(vars(L))
    assert {"SET", "RESET", "WARM", "CLEAR", "RESTORE_SET", "RESTORE_RESET"} <= used  # the SSTORE prices


def test_runtime_module_parses_and_defines_its_functions():
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    mod = llvm.parse_assembly(runtime_ir())
    mod.verify()
    defined = {f.name for f in mod.functions if not f.is_declaration}
    assert set(RUNTIME_FUNCTIONS) <= defined
