"""Backends that only the Ray tests use, found by the Ray cluster's processes (and the driver) through
the `evm_mlir.backends` entry-point group when this folder is on their PYTHONPATH: a real plugin,
as a third party would ship one, because test code registered in the test process never reaches a
Ray worker.

- `crashy`: the interpreter, except that a frame whose calldata starts with 0xdeadbeef kills its
  process with SIGSEGV, as a crash in native code would.
- `gasleak`: the interpreter, except that an outermost frame that succeeds returns one gas fewer
  than it should: the fuzz harness must report it as a divergence.
"""

from __future__ import annotations

import os
import signal

from evm.interpreter import InterpreterBackend


class CrashyBackend(InterpreterBackend):
    name = "crashy"

    def run_frame(self, message, host):
        if message.data[:4] == b"\xde\xad\xbe\xef":
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().run_frame(message, host)


class GasLeakBackend(InterpreterBackend):
    name = "gasleak"

    def run_frame(self, message, host):
        result = super().run_frame(message, host)
        if message.depth == 0 and result.status == "success" and result.gas_left > 0:
            result.gas_left -= 1
        return result
