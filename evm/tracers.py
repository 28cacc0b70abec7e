"""geth's native tracers on the host's hooks (evm.tracing.Tracer): callTracer, prestateTracer, 4byteTracer.

They follow the rules of go-ethereum's native tracers (eth/tracers/native) so the results have geth's shape: addresses and hashes in lowercase hex, quantities in 0x-hex (prestate nonces as JSON numbers), empty
fields left out. They run on the interpreter (`Tracer.backend`), whatever backend the node uses, so a trace is
the same under every backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .host import create2_address, create_address
from .message import BlockEnv, to_address
from .revert import revert_reason
from .tracing import OpcodeHookBackend, Tracer, geth_error

if TYPE_CHECKING:
    from .interfaces import FrameHost, StateReader
    from .interpreter.frame import Frame
    from .transactions import Transaction

_CALLS = ("CALL", "CALLCODE", "DELEGATECALL", "STATICCALL")


def _hb(b: bytes) -> str:
    return "0x" + b.hex()


class _Frame:
    __slots__ = (
        "kind",
        "sender",
        "to",
        "value",
        "gas",
        "gas_used",
        "input",
        "output",
        "error",
        "reason",
        "calls",
        "logs",
    )

    def __init__(self, kind: str, sender: bytes, to: bytes | None, value: int | None, gas: int, data: bytes):
        self.kind, self.sender, self.to, self.value, self.gas, self.input = kind, sender, to, value, gas, data
        self.gas_used = 0
        self.output = b""
        self.error: str | None = None
        self.reason: str | None = None
        self.calls: list[_Frame] = []
        self.logs: list[dict[str, Any]] = []

    def done(self, output: bytes, error: str | None, reverted: bool) -> None:
        """geth's callFrame.processOutput."""
        if error is not None and not reverted:
            error = None
        if error is None:
            self.output = bytes(output)
            return
        self.error = error
        if self.kind in ("CREATE", "CREATE2"):
            self.to = None
        if error != "execution reverted" or not output:
            return
        self.output = bytes(output)
        self.reason = revert_reason(self.output)

    def clear_failed_logs(self, parent_failed: bool = False) -> None:
        failed = self.error is not None or parent_failed
        if failed:
            self.logs = []
        for c in self.calls:
            c.clear_failed_logs(failed)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": _hb(self.sender), "gas": hex(self.gas), "gasUsed": hex(self.gas_used)}
        if self.to is not None:
            out["to"] = _hb(self.to)
        out["input"] = _hb(self.input)
        if self.output:
            out["output"] = _hb(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.reason is not None:
            out["revertReason"] = self.reason
        if self.calls:
            out["calls"] = [c.to_json() for c in self.calls]
        if self.logs:
            out["logs"] = self.logs
        if self.value is not None:
            out["value"] = hex(self.value)
        out["type"] = self.kind
        return out


class CallTracer(Tracer):
    """geth's callTracer: the tree of frames; `only_top_call` (onlyTopCall) and `with_log` (withLog)."""

    def __init__(self, only_top_call: bool = False, with_log: bool = False) -> None:
        self.only_top_call = only_top_call
        self.with_log = with_log
        self.stack: list[_Frame] = []
        self.depth = 0

    def start(self, tx: Transaction, sender: bytes, state: StateReader, block: BlockEnv) -> None:
        to = tx.to if tx.to is not None else create_address(sender, tx.nonce)
        self.stack = [_Frame("CALL" if tx.to is not None else "CREATE", sender, to, tx.value, tx.gas, tx.data)]

    def enter(self, kind: str, sender: bytes, to: bytes | None, value: int | None, gas: int, data: bytes) -> None:
        self.depth += 1
        if not self.only_top_call:
            self.stack.append(_Frame(kind, sender, to, value, gas, data))

    def exit(self, output: bytes, gas_used: int, error: str | None, reverted: bool) -> None:
        self.depth -= 1
        if self.only_top_call or len(self.stack) <= 1:
            return
        frame = self.stack.pop()
        frame.gas_used = gas_used
        frame.done(output, error, reverted)
        self.stack[-1].calls.append(frame)

    def log(self, address: bytes, topics: tuple[bytes, ...], data: bytes) -> None:
        if not self.with_log or (self.only_top_call and self.depth > 0):
            return
        top = self.stack[-1]
        top.logs.append(
            {
                "address": _hb(address),
                "topics": [_hb(t) for t in topics],
                "data": _hb(data),
                "position": hex(len(top.calls)),
            }
        )

    def finish(self, output: bytes, gas_used: int, status: str, error: str | None = None) -> None:
        top = self.stack[0]
        top.gas_used = gas_used
        top.done(output, geth_error(status, error), status != "success")
        if self.with_log:
            top.clear_failed_logs()

    def result(self) -> dict[str, Any]:
        return self.stack[0].to_json()


class FourByteTracer(Tracer):
    """geth's 4byteTracer: how often each selector was called with each calldata size ("0x<sel>-<size>")."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.precompiles: set[bytes] = set()

    def _store(self, kind: str, to: bytes | None, data: bytes) -> None:
        if len(data) < 4 or kind not in _CALLS or to in self.precompiles:
            return
        key = f"0x{data[:4].hex()}-{len(data) - 4}"
        self.ids[key] = self.ids.get(key, 0) + 1

    def start(self, tx: Transaction, sender: bytes, state: StateReader, block: BlockEnv) -> None:
        from .precompiles import precompiles_for

        self.precompiles = set(precompiles_for(block.rules.evm))
        if tx.to is not None:
            self._store("CALL", tx.to, tx.data)

    def enter(self, kind: str, sender: bytes, to: bytes | None, value: int | None, gas: int, data: bytes) -> None:
        self._store(kind, to, data)

    def result(self) -> dict[str, int]:
        return dict(self.ids)


class PrestateTracer(Tracer):
    """geth's prestateTracer: every account (and slot) the transaction touched, as it was before; with
    `diff_mode` only what changed, as {"pre": ..., "post": ...}. `disable_code` / `disable_storage` as geth's."""

    def __init__(self, diff_mode: bool = False, disable_code: bool = False, disable_storage: bool = False) -> None:
        self.diff_mode = diff_mode
        self.disable_code = disable_code
        self.disable_storage = disable_storage
        self.pre: dict[bytes, dict[str, Any]] = {}
        self.post: dict[bytes, dict[str, Any]] = {}
        self.created: set[bytes] = set()
        self.deleted: set[bytes] = set()
        # The state before the transaction (read in `start`) and after it (`finish`); while frames run the
        # tracer reads through the frame's host.
        self.state: StateReader | None = None

    def backend(self) -> OpcodeHookBackend:
        return OpcodeHookBackend(self)

    def _account(self, address: bytes, host: FrameHost | None = None) -> None:
        """Record `address` as it is now: read through `host` inside a frame, else the state `start` gave."""
        if address in self.pre:
            return
        if host is not None:
            code, balance, nonce = host.code(address), host.balance(address), host.nonce(address)
        else:
            st = self._reader()
            code, balance, nonce = st.get_code(address), st.get_balance(address), st.get_nonce(address)
        acc: dict[str, Any] = {"balance": balance, "nonce": nonce, "code": code, "storage": {}}
        acc["empty"] = not (acc["nonce"] or code or acc["balance"])
        if self.disable_code:
            acc["code"] = b""
        self.pre[address] = acc

    def _reader(self) -> StateReader:
        if self.state is None:
            raise RuntimeError("prestateTracer used before start()")
        return self.state

    def _slot(self, address: bytes, slot: int, host: FrameHost) -> None:
        if self.disable_storage:
            return
        self._account(address, host)
        storage = self.pre[address]["storage"]
        if slot not in storage:
            storage[slot] = host.sload(address, slot)

    def start(self, tx: Transaction, sender: bytes, state: StateReader, block: BlockEnv) -> None:
        self.state = state
        if tx.to is None:
            to = create_address(sender, state.get_nonce(sender))
            self.created.add(to)
        else:
            to = tx.to
        for address in (sender, to, block.coinbase):
            self._account(address)
        for auth in tx.authorizations:
            try:
                self._account(auth.authority())
            except Exception:  # an authorization whose signature recovers nothing: the EVM skips it too
                continue

    def opcode(self, f: Frame, op: int) -> None:
        stack = f.stack
        n = len(stack)
        host = f.host
        if op in (0x54, 0x55) and n >= 1:  # SLOAD SSTORE
            self._slot(f.target, stack[-1], host)
        elif (
            op in (0x3C, 0x3F, 0x3B, 0x31, 0xFF) and n >= 1
        ):  # EXTCODECOPY EXTCODEHASH EXTCODESIZE BALANCE SELFDESTRUCT
            self._account(to_address(stack[-1]), host)
            if op == 0xFF:
                self.deleted.add(f.target)
        elif op in (0xF1, 0xF2, 0xF4, 0xFA) and n >= 5:  # CALL CALLCODE DELEGATECALL STATICCALL
            self._account(to_address(stack[-2]), host)
        elif op == 0xF0:  # CREATE
            address = create_address(f.target, host.nonce(f.target))
            self._account(address, host)
            self.created.add(address)
        elif op == 0xF5 and n >= 4:  # CREATE2
            offset, size, salt = stack[-2], stack[-3], stack[-4]
            if size > 1 << 32 or offset > 1 << 32:
                return  # cannot run (out of gas): geth's copy fails the same way
            memory = bytes(f.memory[offset : offset + size])
            init = memory + b"\x00" * (size - len(memory))
            address = create2_address(f.target, salt, init)
            self._account(address, host)
            self.created.add(address)

    def finish(self, output: bytes, gas_used: int, status: str, error: str | None = None) -> None:
        if self.diff_mode:
            self._diff()
        for address in self.created:
            acc = self.pre.get(address)
            if acc is not None and acc["empty"]:
                del self.pre[address]

    def _diff(self) -> None:
        st = self._reader()
        for address, acc in list(self.pre.items()):
            if address in self.deleted:
                continue
            post: dict[str, Any] = {"storage": {}}
            modified = False
            balance, nonce, code = st.get_balance(address), st.get_nonce(address), st.get_code(address)
            if balance != acc["balance"]:
                post["balance"], modified = balance, True
            if nonce != acc["nonce"]:
                post["nonce"], modified = nonce, True
            if not self.disable_code and code != acc["code"]:
                post["code"], modified = code, True
            for slot, value in list(acc["storage"].items()):
                if value == 0:
                    del acc["storage"][slot]
                new = st.get_storage(address, slot)
                if new == value:
                    acc["storage"].pop(slot, None)
                else:
                    modified = True
                    if new:
                        post["storage"][slot] = new
            if modified:
                self.post[address] = post
            else:
                del self.pre[address]

    @staticmethod
    def _json(accounts: dict[bytes, dict[str, Any]], pre: bool) -> dict[str, Any]:
        out = {}
        for address in sorted(accounts):
            acc = accounts[address]
            j: dict[str, Any] = {}
            if pre or "balance" in acc:
                j["balance"] = hex(acc["balance"])
            if acc.get("code"):
                j["code"] = _hb(acc["code"])
            if acc.get("nonce"):
                j["nonce"] = acc["nonce"]
            if acc["storage"]:
                j["storage"] = {
                    _hb(k.to_bytes(32, "big")): _hb(v.to_bytes(32, "big")) for k, v in sorted(acc["storage"].items())
                }
            out[_hb(address)] = j
        return out

    def result(self) -> dict[str, Any]:
        if self.diff_mode:
            return {"post": self._json(self.post, False), "pre": self._json(self.pre, True)}
        return self._json(self.pre, True)
