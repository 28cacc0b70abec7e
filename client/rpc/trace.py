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


def trace_transaction(chain, header: Header, index: int, options: dict[str, Any]) -> dict[str, Any]:
    from ..executor import blob_schedule_at
    from ..miner import pre_block_calls

    if options.get("tracer") not in (None, "", "structLogger"):
        raise InvalidParams(f"tracer {options['tracer']!r} is not supported (struct logs only)")
    parent = chain.header_by_hash(header.parent_hash)
    if parent is None:
        raise ServerError("parent block not found")
    block = chain.block(header)
    state = JournaledState(chain.state(parent))
    env = chain.env(header)
    pre_block_calls(state, env, header, chain.backend)
    ctx = BlockContext(env, blob_schedule_at(chain.config, env.fork, header.timestamp))
    for tx in block.transactions[:index]:
        r = process_transaction(tx, state, ctx, chain.backend)
        ctx.gas_used += r.gas_used
        ctx.blob_gas_used += r.blob_gas_used
    tracer = StructLogger(memory=bool(options.get("enableMemory")), stack=not options.get("disableStack"),
                          storage=not options.get("disableStorage"),
                          return_data=bool(options.get("enableReturnData")), limit=MAX_STEPS)
    try:
        process_transaction(block.transactions[index], state, ctx, chain.backend, tracer=tracer)
    except TraceLimitExceeded as exc:
        raise ServerError(str(exc)) from None
    return tracer.geth_result()
