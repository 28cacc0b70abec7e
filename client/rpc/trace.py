"""debug_traceTransaction: geth's struct logs (EIP-3155 fields), from the EVM's tracer (evm/tracing.py).

The traced transaction is re-executed on the state it saw: the parent block's state, the block's system
calls, the block's earlier transactions (with the node's backend, untraced), then this one with a
`StructLogger` attached (the tracing interpreter runs it, nested frames included).
"""
from __future__ import annotations

from typing import Any

from evm.processor import BlockContext, process_transaction
from evm.tracing import StructLogger, TraceLimitExceeded
from state.journal import JournaledState

from ..header import Header
from .errors import InvalidParams, ServerError

MAX_STEPS = 500_000  # a larger trace is refused (its JSON would run into gigabytes)


def _logger(options: dict[str, Any]) -> StructLogger:
    if options.get("tracer") not in (None, "", "structLogger"):
        raise InvalidParams(f"tracer {options['tracer']!r} is not supported (struct logs only)")
    return StructLogger(memory=bool(options.get("enableMemory")), stack=not options.get("disableStack"),
                        storage=not options.get("disableStorage"),
                        return_data=bool(options.get("enableReturnData")), limit=MAX_STEPS)


def _replay(chain, header: Header, options: dict[str, Any], only: int | None = None) -> list[dict[str, Any]]:
    """Re-execute `header`'s block on its parent's state; struct logs of transaction `only` (or of all)."""
    from ..executor import blob_schedule_at
    from ..executor import pre_block_calls

    _logger(options)  # reject unsupported options before any work
    parent = chain.header_by_hash(header.parent_hash)
    if parent is None:
        raise ServerError("parent block not found")
    block = chain.block(header)
    state = JournaledState(chain.state(parent))
    env = chain.env(header)
    pre_block_calls(state, env, header, chain.backend)
    ctx = BlockContext(env, blob_schedule_at(chain.config, env.fork, header.timestamp))
    out = []
    last = len(block.transactions) - 1 if only is None else only
    for i, tx in enumerate(block.transactions[:last + 1]):
        traced = only is None or i == only
        tracer = _logger(options) if traced else None
        try:
            r = process_transaction(tx, state, ctx, chain.backend, tracer=tracer)
        except TraceLimitExceeded as exc:
            raise ServerError(str(exc)) from None
        ctx.gas_used += r.gas_used
        ctx.blob_gas_used += r.blob_gas_used
        if traced:
            out.append({"txHash": "0x" + tx.hash.hex(), "result": tracer.geth_result()})
    return out


def trace_transaction(chain, header: Header, index: int, options: dict[str, Any]) -> dict[str, Any]:
    return _replay(chain, header, options, only=index)[0]["result"]


def trace_block(chain, header: Header, options: dict[str, Any]) -> list[dict[str, Any]]:
    return _replay(chain, header, options)


def trace_call(api, args: Any, header: Header, options: dict[str, Any]) -> dict[str, Any]:
    """debug_traceCall: the call as eth_call runs it, traced."""
    tracer = _logger(options)
    if not isinstance(args, dict):
        raise InvalidParams("invalid argument 0: expected a transaction call object")
    state = JournaledState(api.chain.state(header))
    overrides = options.get("stateOverrides")
    if overrides is not None:
        from .eth import _apply_overrides

        _apply_overrides(state, overrides)
    tx = api._tx_from_args(args, header, state=state)
    no_fees = tx.gas_price == 0 and tx.max_fee_per_gas == 0 and tx.max_priority_fee_per_gas == 0
    try:
        api.chain.simulate(tx, header, no_fees, state=state, tracer=tracer)
    except TraceLimitExceeded as exc:
        raise ServerError(str(exc)) from None
    return tracer.geth_result()
