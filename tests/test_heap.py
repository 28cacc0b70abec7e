"""common.heap: what set-up leaves alive is exempt from later full collections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_freeze_collects_first_then_freezes_the_survivors():
    """In a fresh process: a garbage cycle made before is collected (not frozen, so not leaked), a live
    object is frozen; creating the JIT freezes its modules the same way."""
    probe = (
        "import gc, sys\n"
        "from common.heap import freeze_long_lived\n"
        "class Node: pass\n"
        "a = Node(); a.me = a; del a  # a cycle: only the collector can free it\n"
        "live = [Node() for _ in range(1000)]\n"
        "n = freeze_long_lived()\n"
        "assert n == gc.get_freeze_count() > 1000, n\n"
        "assert not any(type(o) is Node and hasattr(o, 'me') for o in gc.get_objects())\n"
        "assert not any(o is live for o in gc.get_objects())  # frozen: no longer tracked by collections\n"
        "gc.unfreeze(); assert any(o is live for o in gc.get_objects())\n"
        "gc.unfreeze()\n"
        "from evm.compiler.runtime import get_jit\n"
        "get_jit()\n"
        "assert gc.get_freeze_count() > n, (gc.get_freeze_count(), n)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
