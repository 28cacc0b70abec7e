"""One benchmark table, side by side in one run: evm-mlir (mlir), evm-mlir (interpreter), pyrevm (revm)
and py-evm, on factorial/fibonacci (bench/programs.json) and host-stressing loops assembled here
(KECCAK256, MSTORE/MLOAD, SSTORE/SLOAD over 8 and over 64 slots, TSTORE/TLOAD, STATICCALL to a
precompile, mixed 256-bit arithmetic) plus an ERC-20 style transfer loop compiled with the installed vyper.

Every execution is a complete message call as `evm-mlir run --repeat` runs one (a new `Message`,
`evm.execute`: the top-level checks, value transfer, precompile lookup, code, result read back) inside
a journal snapshot that is reverted afterwards, so every call starts from the same state (storage
slots start cold in every call, on revm too: its gas is checked against ours). Compilation and
start-up are excluded (warm-up call first); the compile column is a separate, uncached
compile_to_object + JIT load of the program. Timing: `--rounds` rounds, in
each round every engine runs a batch of calls (engine order rotates per round); per engine the
median over rounds of the per-call mean. Every engine's output (and gas, where comparable) is
checked against the interpreter's; a mismatch is printed loudly and marked in the table.

py-evm conflicts with nothing we pin, but it is not one of our dependencies: it runs in a separate
venv ($PYEVM_PYTHON, default /tmp/pyevm/bin/python; create it with
`python3 -m venv /tmp/pyevm && /tmp/pyevm/bin/pip install py-evm`) as a subprocess worker driven
round by round; if that interpreter is missing the column says n/a.

Usage: python bench/suite.py [--n 1000] [--rounds 9] [--batch-s 0.15] [-k NAME] [--no-pyevm]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLER = bytes.fromhex("1000000000000000000000000000000000000001")
TARGET = bytes.fromhex("2000000000000000000000000000000000000002")
GAS = 100_000_000
PRECOMPILES = [i.to_bytes(20, "big") for i in range(1, 11)]

XFER_VY = """# pragma version ^0.4.0
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

balanceOf: public(HashMap[address, uint256])

@internal
def _transfer(_from: address, _to: address, _value: uint256):
    self.balanceOf[_from] -= _value
    self.balanceOf[_to] += _value
    log Transfer(sender=_from, receiver=_to, value=_value)

@external
def run(n: uint256) -> uint256:
    self.balanceOf[msg.sender] = n
    for i: uint256 in range(n, bound=1000000):
        self._transfer(msg.sender, convert(convert(i % 8 + 1, uint160), address), 1)
    return self.balanceOf[msg.sender]
"""


# ------------------------------------------------------------------------------------------ py-evm worker
def pyevm_worker() -> int:
    """Runs under py-evm's own venv: reads JSON requests on stdin, answers one JSON line each."""
    from eth.constants import BLANK_ROOT_HASH
    from eth.db.atomic import AtomicDB
    from eth.vm.execution_context import ExecutionContext
    from eth.vm.forks.cancun import CancunVM
    from eth.vm.message import Message

    state_cls = CancunVM._state_class
    ctx = ExecutionContext(
        coinbase=b"\0" * 20,
        timestamp=1,
        block_number=1,
        difficulty=0,
        mix_hash=b"\0" * 32,
        gas_limit=GAS * 2,
        prev_hashes=(),
        chain_id=1,
        base_fee_per_gas=0,
        excess_blob_gas=0,
    )
    state = state_cls(AtomicDB(), ctx, BLANK_ROOT_HASH)
    caller = CALLER
    state.set_balance(caller, 10**20)
    tctx_cls = state.get_transaction_context_class()
    tctx = tctx_cls(gas_price=0, origin=caller, blob_versioned_hashes=[])
    progs = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "setup":
            addr = bytes.fromhex(req["addr"])
            code = bytes.fromhex(req["code"])
            state.set_code(addr, code)
            state.persist()
            progs[req["name"]] = (addr, code)
            from importlib.metadata import version

            out = {"ok": True, "version": version("py-evm")}
        elif req["op"] == "run":
            addr, code = progs[req["name"]]
            data = bytes.fromhex(req["data"])
            reps = req["reps"]
            comp = None
            t = time.perf_counter()
            for _ in range(reps):
                snap = state.snapshot()
                for a in (caller, addr, *PRECOMPILES):
                    state.mark_address_warm(a)
                msg = Message(gas=GAS, to=addr, sender=caller, value=0, data=data, code=code, code_address=addr)
                comp = state.computation_class.apply_message(state, msg, tctx)
                state.revert(snap)
            dt = time.perf_counter() - t
            out = {
                "us": dt / reps * 1e6,
                "output": bytes(comp.output).hex(),
                "status": "error" if comp.is_error else "success",
                "gas_used": comp.get_gas_used(),
                "err": repr(comp.error) if comp.is_error else None,
            }
        else:
            break
        print(json.dumps(out), flush=True)
    return 0


class PyEvm:
    def __init__(self, python: str):
        self.proc = subprocess.Popen(
            [python, __file__, "--pyevm-worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def req(self, **kw):
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("py-evm worker died")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


# ------------------------------------------------------------------------------------------ workloads
def loop_program(prologue: bytes, body: bytes, epilogue: bytes) -> bytes:
    """prologue leaves [acc, n] (n on top); body maps [acc, n] -> [acc', n]; epilogue gets [acc, n]."""
    from tests.evm_helpers import ops, push_n

    head = prologue
    loop = len(head)
    # JUMPDEST DUP1 ISZERO PUSH2 end JUMPI body PUSH1 1 SWAP1 SUB PUSH2 loop JUMP JUMPDEST
    pre = ops("JUMPDEST", "DUP1", "ISZERO")
    tail = ops(1, "SWAP1", "SUB") + push_n(loop, 2) + ops("JUMP")
    end = loop + len(pre) + 3 + 1 + len(body) + len(tail)
    code = head + pre + push_n(end, 2) + ops("JUMPI") + body + tail
    assert len(code) == end
    return code + ops("JUMPDEST") + epilogue


def workloads(n: int) -> list[dict]:
    from tests.evm_helpers import ops, push_n

    progs = json.loads((ROOT / "bench" / "programs.json").read_text())
    word = n.to_bytes(32, "big")
    out = []
    for k in ("factorial", "fibonacci"):
        out.append(
            {
                "name": k,
                "code": bytes.fromhex(progs[k]["code"]),
                "data": word,
                "expect": (progs[k]["examples"].get(str(n)) or "")[2:] or None,
            }
        )
    seed = push_n(0x0123456789ABCDEF0FEDCBA9876543210123456789ABCDEF0FEDCBA987654321, 32)
    pro = seed + ops(0, "CALLDATALOAD")
    ret = ops("POP", 0, "MSTORE", 32, 0, "RETURN")
    loops = {
        "keccak256": ops("SWAP1", 0, "MSTORE", 32, 0, "KECCAK256", "SWAP1"),
        "mstore_mload": ops(
            "DUP2",
            "DUP2",
            "ADD",
            "DUP2",
            31,
            "AND",
            5,
            "SHL",
            "MSTORE",
            "DUP1",
            7,
            "AND",
            5,
            "SHL",
            "MLOAD",
            "DUP3",
            "ADD",
            "SWAP2",
            "POP",
        ),
        "sstore_sload": ops(
            "DUP2", "DUP2", "ADD", "DUP2", 7, "AND", "SSTORE", "DUP1", 3, "AND", "SLOAD", "DUP3", "ADD", "SWAP2", "POP"
        ),
        # 64 slots, cold at the start of every call (the snapshot revert un-warms them, on revm too: the gas
        # check below would catch a slot left warm)
        "sstore_sload_64": ops(
            "DUP2",
            "DUP2",
            "ADD",
            "DUP2",
            63,
            "AND",
            "SSTORE",
            "DUP1",
            63,
            "AND",
            "SLOAD",
            "DUP3",
            "ADD",
            "SWAP2",
            "POP",
        ),
        "tstore_tload": ops(
            "DUP2", "DUP2", "ADD", "DUP2", 7, "AND", "TSTORE", "DUP1", 3, "AND", "TLOAD", "DUP3", "ADD", "SWAP2", "POP"
        ),
        "staticcall_identity": ops(
            "DUP2", 0, "MSTORE", 32, 32, 32, 0, 4, "GAS", "STATICCALL", 32, "MLOAD", "ADD", "SWAP2", "POP"
        ),
        "staticcall_sha256": ops(
            "DUP2", 0, "MSTORE", 32, 32, 32, 0, 2, "GAS", "STATICCALL", 32, "MLOAD", "ADD", "SWAP2", "POP"
        ),
        "arith_256": ops("SWAP1")
        + push_n((1 << 255) - 19, 32)
        + ops("DUP3", "DUP3", "MULMOD", "ADD")
        + ops(7, "DUP3", "EXP", "XOR")
        + ops(3, "DUP2", "DIV", "ADD")
        + ops("DUP1", 5, "SAR", "XOR")
        + ops("DUP1", 17, "SHL", "XOR", "DUP1", 13, "SHR", "XOR")
        + ops("DUP2", "DUP2", "SDIV", "ADD")
        + push_n(0x9E3779B97F4A7C15F39CC0605CEDC8341082276BF3A27251F86C6A11D0C18E95, 32)
        + ops("ADD")
        + ops("SWAP1"),
    }
    for k, body in loops.items():
        out.append({"name": k, "code": loop_program(pro, body, ret), "data": word, "expect": None})
    out.append(vyper_workload(n))
    return out


def vyper_workload(n: int) -> dict:
    w = {"name": "vyper_erc20_xfer", "data": bytes.fromhex("a444f5e9") + n.to_bytes(32, "big"), "expect": None}
    try:
        vyper = Path(sys.executable).parent / "vyper"
        with tempfile.TemporaryDirectory() as d:
            src = Path(d) / "xfer.vy"
            src.write_text(XFER_VY)
            t = time.perf_counter()
            r = subprocess.run(
                [str(vyper), "-f", "bytecode_runtime,method_identifiers", str(src)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            w["vyper_s"] = time.perf_counter() - t
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip()[-300:])
        lines = r.stdout.split("\n")
        w["code"] = bytes.fromhex(lines[0].strip()[2:])
        sel = json.loads(lines[1])["run(uint256)"]
        w["data"] = bytes.fromhex(sel[2:]) + n.to_bytes(32, "big")
        w["expect"] = (0).to_bytes(32, "big").hex()
    except Exception as exc:  # reported in the table
        w["code"] = None
        w["skip"] = f"vyper compile failed: {exc}"
    return w


# ------------------------------------------------------------------------------------------ engines
class Ours:
    """An evm-mlir backend running complete message calls from CALLER (`fork`: Cancun unless given;
    `clock`: what times a batch), each the way `evm-mlir run --repeat` runs one: a new `Message`, a
    journal snapshot, `evm.execute` (the top-level path every transaction takes), the snapshot reverted."""

    def __init__(self, backend_name: str, fork=None, clock=time.perf_counter):
        from evm.backends import get_backend
        from evm.message import BlockEnv, TxEnv
        from evm.precompiles import precompiles_for
        from evm.spec import Fork
        from state.db import StateDB
        from state.journal import JournaledState
        from state.kv import MemoryStore

        fork = fork or Fork.CANCUN
        self.clock = clock
        self.state = JournaledState(StateDB(MemoryStore()))
        self.state.set_balance(CALLER, 10**20)
        self.state.commit()
        self.state.begin_transaction()
        for a in (CALLER, *precompiles_for(fork)):
            self.state.warm_address(a)
        self.backend_name = backend_name
        get_backend(backend_name)
        self.block, self.tx = BlockEnv(fork=fork), TxEnv(origin=CALLER)
        self.calls = {}

    def setup(self, name, addr, code, data):
        self.state.set_code(addr, code)
        self.state.warm_address(addr)
        self.calls[name] = (addr, code, data)

    def run(self, name, reps):
        from evm import execute
        from evm.message import Message

        (addr, code, data), state, clock = self.calls[name], self.state, self.clock
        block, tx, backend = self.block, self.tx, self.backend_name
        r = None
        t = clock()
        for _ in range(reps):
            msg = Message(CALLER, addr, 0, data, GAS, code, addr)
            snap = state.snapshot()
            r = execute(msg, state, block, tx, backend)
            state.revert(snap)
        dt = clock() - t
        return {"us": dt / reps * 1e6, "output": r.output.hex(), "status": r.status, "gas_used": GAS - r.gas_left}


class Revm:
    def __init__(self):
        import pyrevm

        self.pyrevm = pyrevm
        self.evm = pyrevm.EVM(spec_id="Cancun")  # "CANCUN" would silently mean latest
        self.caller = "0x" + CALLER.hex()
        self.evm.set_balance(self.caller, 10**20)
        self.calls = {}

    def setup(self, name, addr, code, data):
        a = "0x" + addr.hex()
        self.evm.insert_account_info(a, self.pyrevm.AccountInfo(code=code))
        self.calls[name] = (a, data)

    def run(self, name, reps):
        a, data = self.calls[name]
        evm, caller = self.evm, self.caller
        out, status = b"", "success"
        t = time.perf_counter()
        for _ in range(reps):
            cp = evm.snapshot()
            try:
                out = evm.message_call(caller, a, calldata=data, gas=GAS)
            except Exception as exc:  # revm raises on revert/halt
                out, status = str(exc).encode(), "error"
            evm.revert(cp)
        dt = time.perf_counter() - t
        res = evm.result
        gas = None
        if res is not None:
            # transaction gas: minus intrinsic (21000 + calldata), plus the applied refund
            intrinsic = 21000 + sum(16 if b else 4 for b in data)
            refunded = getattr(res, "gas_refunded", 0) or 0
            gas = res.gas_used - intrinsic + refunded
        return {"us": dt / reps * 1e6, "output": bytes(out).hex(), "status": status, "gas_used": gas}


class PyEvmEngine:
    def __init__(self, python):
        self.w = PyEvm(python)
        self.data = {}

    def setup(self, name, addr, code, data):
        self.version = self.w.req(op="setup", name=name, addr=addr.hex(), code=code.hex()).get("version")
        self.data[name] = data.hex()

    def run(self, name, reps):
        return self.w.req(op="run", name=name, data=self.data[name], reps=reps)


def compile_ms(code: bytes) -> float:
    from evm.compiler.compile import compile_to_object
    from evm.compiler.runtime import get_jit
    from evm.spec import Fork

    t = time.perf_counter()
    obj, sym = compile_to_object(code, Fork.CANCUN)
    get_jit().load_object(obj, sym)
    return (time.perf_counter() - t) * 1e3


# ------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--batch-s", type=float, default=0.15, help="target seconds per engine batch")
    ap.add_argument("-k", dest="only")
    ap.add_argument("--no-pyevm", action="store_true")
    ap.add_argument("--pyevm-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pyevm_worker:
        return pyevm_worker()
    sys.path.insert(0, str(ROOT))
    t_start = time.perf_counter()

    engines = {"mlir": Ours("mlir"), "interp": Ours("interpreter"), "revm": Revm()}
    notes = []
    pyevm_python = os.environ.get("PYEVM_PYTHON", "/tmp/pyevm/bin/python")
    if not args.no_pyevm:
        if os.path.exists(pyevm_python):
            try:
                engines["py-evm"] = PyEvmEngine(pyevm_python)
            except Exception as exc:
                notes.append(f"py-evm: failed to start ({exc})")
        else:
            notes.append(f"py-evm: n/a ({pyevm_python} missing; see the module docstring)")
    names = list(engines)

    rows = []
    mismatches = []
    for i, w in enumerate(workloads(args.n)):
        if args.only and args.only not in w["name"]:
            continue
        row = {"name": w["name"], "us": {}, "ok": {}, "note": w.get("skip", "")}
        if "vyper_s" in w and w.get("code") is not None:
            notes.append(
                f"{w['name']}: vyper {len(w['code'])}-byte runtime compiled in {w['vyper_s']:.2f} s "
                f"(contract source embedded in bench/suite.py)"
            )
        rows.append(row)
        if w.get("code") is None:
            continue
        addr = (0x3000 + i).to_bytes(20, "big")
        row["compile_ms"] = compile_ms(w["code"])
        first = {}
        for e in names:
            try:
                engines[e].setup(w["name"], addr, w["code"], w["data"])
                t = time.perf_counter()
                first[e] = engines[e].run(w["name"], 1)  # warm-up (mlir: compiles or loads from cache)
                first[e]["first_s"] = time.perf_counter() - t
            except Exception as exc:
                first[e] = {"error": repr(exc)}
        ref = first["interp"]
        if ref.get("status") != "success":
            print(f"!!! {w['name']}: interpreter status {ref.get('status')} {ref.get('error', '')}", file=sys.stderr)
        if w.get("expect") and ref.get("output") != w["expect"]:
            msg = f"!!! MISMATCH {w['name']}: interpreter output {ref.get('output')} != expected {w['expect']}"
            print(msg, file=sys.stderr)
            mismatches.append(msg)
        row["gas"] = ref.get("gas_used")
        for e in names:
            r = first[e]
            ok = "error" not in r and r["output"] == ref.get("output") and r["status"] == ref.get("status")
            gas_note = ""
            if ok and r.get("gas_used") is not None and r["gas_used"] != ref.get("gas_used"):
                ok = False
                gas_note = f" gas {r['gas_used']} != {ref.get('gas_used')}"
            if not ok:
                msg = (
                    f"!!! MISMATCH {w['name']} [{e}]: {r.get('status')} {r.get('output', r.get('error'))[:80]}"
                    f" vs interpreter {ref.get('status')} {str(ref.get('output'))[:80]}{gas_note}"
                )
                print(msg, file=sys.stderr)
                mismatches.append(msg)
            row["ok"][e] = ok
        live = [e for e in names if "error" not in first[e]]
        # reps per batch from the warm-up... re-measure one call after warm-up for a better estimate
        reps = {}
        for e in live:
            est = engines[e].run(w["name"], 1)["us"] / 1e6
            reps[e] = max(1, min(100_000, int(args.batch_s / max(est, 1e-7))))
        samples = {e: [] for e in live}
        for rnd in range(args.rounds):
            order = live[rnd % len(live) :] + live[: rnd % len(live)]
            for e in order:
                r = engines[e].run(w["name"], reps[e])
                samples[e].append(r["us"])
                if (r["output"], r["status"]) != (ref.get("output"), ref.get("status")) and row["ok"].get(e):
                    msg = f"!!! MISMATCH {w['name']} [{e}] round {rnd}: output {r['output'][:80]} ({r['status']})"
                    print(msg, file=sys.stderr)
                    mismatches.append(msg)
                    row["ok"][e] = False
        for e in live:
            row["us"][e] = statistics.median(samples[e])
        print(f"  {w['name']:22} done ({time.perf_counter() - t_start:5.1f} s)", file=sys.stderr, flush=True)

    if "py-evm" in engines:
        engines["py-evm"].w.close()
        notes.append(
            f"py-evm {getattr(engines['py-evm'], 'version', '?')} (CancunVM state, apply_message) run in a "
            f"worker subprocess under {pyevm_python}"
        )

    cols = ["mlir", "interp", "revm", "py-evm"]
    print(
        f"\nN = {args.n} iterations per call; us per execution = median over {args.rounds} interleaved rounds "
        f"of the mean of a batch; each execution a full message call with journal snapshot + revert; "
        f"fork Cancun."
    )
    hdr = (
        f"{'workload':22} {'gas':>9} {'mlir us':>10} {'interp us':>10} {'revm us':>10} {'py-evm us':>10} "
        f"{'revm/mlir':>9} {'compile ms':>10}  check"
    )
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        if not row["us"]:
            print(f"{row['name']:22} {'-':>9} {'':>10} {'':>10} {'':>10} {'':>10} {'':>9} {'':>10}  {row['note']}")
            continue
        cells = []
        for c in cols:
            v = row["us"].get(c)
            cells.append(f"{'n/a':>10}" if v is None else f"{v:10.2f}" if v < 100 else f"{v:10.1f}")
        m, r = row["us"].get("mlir"), row["us"].get("revm")
        ratio = f"{r / m:8.2f}x" if m and r else f"{'n/a':>9}"
        bad = [e for e, ok in row["ok"].items() if not ok]
        check = "ok" if not bad else "MISMATCH: " + ",".join(bad)
        print(
            f"{row['name']:22} {row['gas'] or 0:9d} {' '.join(cells)} {ratio} {row.get('compile_ms', 0):10.1f}  {check}"
        )
    print(
        "revm/mlir: how many times faster than revm the mlir backend is. gas = execution gas (interpreter); revm's "
        "transaction gas is compared after removing intrinsic gas and adding back the refund."
    )
    for n_ in notes:
        print("note:", n_)
    if mismatches:
        print(f"\n!!! {len(mismatches)} MISMATCH(ES):")
        for m in mismatches:
            print("   ", m)
    print(f"total wall time {time.perf_counter() - t_start:.0f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
