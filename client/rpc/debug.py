"""The debug topic: debug_traceTransaction, debug_traceCall, debug_traceBlockByNumber / ByHash with geth's tracers: the struct
logger (EIP-3155 fields; the default), callTracer, prestateTracer, 4byteTracer, noopTracer (evm/tracers.py).

The traced transaction is re-executed on the state it saw: the parent block's state, the block's system
calls, the block's earlier transactions (with the node's backend, untraced), then this one with the tracer
attached (the interpreter runs it, nested frames included, so every backend gives the same trace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evm.processor import BlockContext, process_transaction
from evm.tracing import StructLogger, TraceLimitExceeded, Tracer
from state.journal import JournaledState

from ..header import Header
from . import types as T
from .errors import InvalidParams, ServerError
from .overrides import apply_overrides
from .topic import Topic

if TYPE_CHECKING:
    from ..node.node import Node
    from .calls import CallsApi

MAX_STEPS = 500_000  # a larger trace is refused (its JSON would run into gigabytes)
TRACERS = ("structLogger", "callTracer", "prestateTracer", "4byteTracer", "noopTracer")


def _flag(config: dict[str, Any], name: str) -> bool:
    v = config.get(name, False)
    if not isinstance(v, bool):
        raise InvalidParams(f"invalid tracerConfig: {name} must be a boolean")
    return v


def make_tracer(options: dict[str, Any]) -> tuple[Tracer, Callable[[], Any]]:
    """The tracer `options` name (geth's TraceConfig: tracer, tracerConfig, the struct logger's flags) and the
    function giving its result."""
    from evm.tracers import CallTracer, FourByteTracer, PrestateTracer

    name = options.get("tracer")
    config = options.get("tracerConfig")
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise InvalidParams("invalid tracerConfig: expected an object")
    if name in (None, "", "structLogger"):
        t = StructLogger(
            memory=bool(options.get("enableMemory")),
            stack=not options.get("disableStack"),
            storage=not options.get("disableStorage"),
            return_data=bool(options.get("enableReturnData")),
            limit=MAX_STEPS,
        )
        return t, t.geth_result
    if name == "callTracer":
        c = CallTracer(_flag(config, "onlyTopCall"), _flag(config, "withLog"))
        return c, c.result
    if name == "prestateTracer":
        p = PrestateTracer(_flag(config, "diffMode"), _flag(config, "disableCode"), _flag(config, "disableStorage"))
        return p, p.result
    if name == "4byteTracer":
        f = FourByteTracer()
        return f, f.result
    if name == "noopTracer":
        return Tracer(), dict
    raise InvalidParams(
        f"tracer {name!r} is not supported (native tracers: {', '.join(TRACERS)}; no JavaScript tracers)"
    )


def _replay(node, header: Header, options: dict[str, Any], only: int | None = None) -> list[dict[str, Any]]:
    """Re-execute `header`'s block on its parent's state; struct logs of transaction `only` (or of all)."""
    from ..chain.transition import pre_block_calls

    make_tracer(options)  # reject unsupported options before any work
    root = node.dev.pre_state_root(header)
    if root is None:
        raise ServerError("parent block not found")
    block = node.block(header)
    state = JournaledState(node.state_at(root, header.number - 1))
    env = node.block_env(header)
    pre_block_calls(state, env, header, node.backend)
    ctx = BlockContext(env)
    out = []
    last = len(block.transactions) - 1 if only is None else only
    for i, tx in enumerate(block.transactions[: last + 1]):
        traced = only is None or i == only
        tracer, result = make_tracer(options) if traced else (None, None)
        try:
            r = process_transaction(tx, state, ctx, node.backend, tracer=tracer)
        except TraceLimitExceeded as exc:
            raise ServerError(str(exc)) from None
        ctx.gas_used += r.gas_used
        ctx.blob_gas_used += r.blob_gas_used
        if result is not None:
            out.append({"txHash": "0x" + tx.hash.hex(), "result": result()})
    return out


def trace_transaction(node, header: Header, index: int, options: dict[str, Any]) -> dict[str, Any]:
    return _replay(node, header, options, only=index)[0]["result"]


def trace_block(node, header: Header, options: dict[str, Any]) -> list[dict[str, Any]]:
    return _replay(node, header, options)


def trace_call(node: Node, calls: CallsApi, args: Any, header: Header, options: dict[str, Any]) -> dict[str, Any]:
    """debug_traceCall: the call as eth_call runs it, traced."""
    tracer, result = make_tracer(options)
    if not isinstance(args, dict):
        raise InvalidParams("invalid argument 0: expected a transaction call object")
    state = JournaledState(node.state(header))
    overrides = options.get("stateOverrides")
    if overrides is not None:
        apply_overrides(state, overrides)
    tx = calls.transaction_from_args(args, header, state=state)
    no_fees = tx.gas_price == 0 and tx.max_fee_per_gas == 0 and tx.max_priority_fee_per_gas == 0
    try:
        node.simulate(tx, header, no_fees, state=state, tracer=tracer)
    except TraceLimitExceeded as exc:
        raise ServerError(str(exc)) from None
    return result()


class DebugApi(Topic):
    def __init__(self, node: Node, calls: CallsApi) -> None:
        super().__init__(node)
        self.calls = calls  # debug_traceCall fills its transaction in as eth_call does

    def debug_traceCall(self, args: Any, block: Any = None, options: Any = None) -> dict[str, Any]:
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 2: expected a trace config object")
        return trace_call(self.node, self.calls, args, self._call_header(block, 1), options or {})

    def debug_traceBlockByNumber(self, block: Any, options: Any = None) -> list[dict[str, Any]]:
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        header = self._header(block, 0)
        if header.number == 0:
            raise ServerError("genesis is not traceable")
        return trace_block(self.node, header, options or {})

    def debug_traceBlockByHash(self, block_hash: Any, options: Any = None) -> list[dict[str, Any]]:
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        header = self.node.header_by_hash(T.hash32(block_hash, 0))
        if header is None:
            raise ServerError(f"block 0x{T.hash32(block_hash, 0).hex()} not found")
        if header.number == 0:
            raise ServerError("genesis is not traceable")
        return trace_block(self.node, header, options or {})

    def debug_traceTransaction(self, tx_hash: Any, options: Any = None) -> dict[str, Any]:
        h = T.hash32(tx_hash, 0)
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        loc = self.node.tx_location(h)
        if loc is None:
            raise ServerError("transaction not found")
        header, index = loc
        return trace_transaction(self.node, header, index, options or {})
