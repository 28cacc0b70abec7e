"""Pick a small set of state-test files that together contain every opcode byte present in the
public set, plus the smallest file of every category folder and files of every precompile family; copies them into tests/fixtures/state_tests.

Usage: python tests/tools/select_state_sample.py SRC_DIR DEST_DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# One small file from each precompile family's folder is added on top of the opcode cover.
PRECOMPILE_DIRS = [
    "stPreCompiledContracts2",
    "stZeroKnowledge",
    "stZeroKnowledge2",
    "eip2537_bls_12_381_precompiles",
    "eip7951_p256verify_precompiles",
    "eip7823_modexp_upper_bounds",
    "eip7883_modexp_gas_increase",
    "eip4844_blobs",
    "stPreCompiledContracts",
]


def opcodes(code: bytes) -> set[int]:
    seen = set()
    i = 0
    while i < len(code):
        op = code[i]
        seen.add(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return seen


def file_opcodes(path: Path) -> set[int]:
    data = json.loads(path.read_text())
    seen: set[int] = set()
    for test in data.values():
        for acc in test.get("pre", {}).values():
            seen |= opcodes(bytes.fromhex(acc.get("code", "0x")[2:]))
        tx = test.get("transaction", {})
        if not tx.get("to"):
            for d in tx.get("data", []):
                seen |= opcodes(bytes.fromhex(d[2:]))
    return seen


def main(src: str, dest: str) -> None:
    files = sorted(Path(src).rglob("*.json"))
    cover = {f: file_opcodes(f) for f in files}
    universe = set().union(*cover.values())
    chosen: list[Path] = []
    remaining = set(universe)
    while remaining:
        best = max(files, key=lambda f: len(cover[f] & remaining) / (f.stat().st_size ** 0.5))
        if not cover[best] & remaining:
            break
        chosen.append(best)
        remaining -= cover[best]
    # The smallest file of every category folder, so each area (calls, creates, EIP-7702, ...) is in.
    for folder in sorted({f.parent for f in files}):
        chosen.append(min((f for f in files if f.parent == folder), key=lambda f: f.stat().st_size))
    for d in PRECOMPILE_DIRS:
        group = sorted((f for f in files if d in f.parts), key=lambda f: f.stat().st_size)
        chosen.extend(group[:2])
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for f in dict.fromkeys(chosen):
        rel = f.relative_to(src)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        total += f.stat().st_size
    print(
        f"{len(set(chosen))} files, {total / 1e6:.1f} MB, opcodes covered {len(universe)}: missing {sorted(remaining)}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
