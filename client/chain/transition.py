"""Block application, the state transition (execution-specs' `apply_body`): the system calls before the
transactions (EIP-4788, EIP-2935), the transactions through `evm.processor.process_transaction`, the
withdrawals (EIP-4895), and the requests after them (EIP-6110 deposits from the logs, EIP-7002 and EIP-7251
system calls; EIP-7685). What it gives (receipts, gas used, bloom, requests) is checked against the header by
`validation.check_output` or, when a block is built, fills the header in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evm.blobs import blob_base_fee
from evm.message import SYSTEM_ADDRESS, BlockEnv, Message, TxEnv
from evm.processor import BlockContext, InvalidTransaction, process_transaction
from evm.rules import ForkRules
from state.journal import JournaledState

from ..blocks import GWEI, Block, Receipt, compute_requests_hash, logs_bloom_int, ordered_trie_root
from ..genesis import ChainConfig
from ..header import Header
from .validation import InvalidBlock, block_rules

SYSTEM_TRANSACTION_GAS = 30_000_000
MAINNET_DEPOSIT_CONTRACT = bytes.fromhex("00000000219ab540356cbb839cbe05303d7705fa")  # EIP-6110
DEPOSIT_EVENT_SIGNATURE = bytes.fromhex("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5")
DEPOSIT_REQUEST_TYPE = b"\x00"


@dataclass
class BlockOutput:
    receipts: list[Receipt] = field(default_factory=list)
    gas_used: int = 0
    blob_gas_used: int = 0
    bloom: int = 0
    requests: list[bytes] = field(default_factory=list)

    def receipts_root(self) -> bytes:
        return ordered_trie_root([r.encode() for r in self.receipts])

    @property
    def logs_bloom(self) -> bytes:
        return self.bloom.to_bytes(256, "big")

    @property
    def requests_hash(self) -> bytes:
        return compute_requests_hash(self.requests)


def system_call(
    state: JournaledState, block: BlockEnv, target: bytes, data: bytes, backend: str, checked: bool
) -> bytes:
    """execution-specs `process_(un)checked_system_transaction`: a call from SYSTEM_ADDRESS with 30M gas, no
    value, no fees, nothing pre-warmed, fresh transient storage; self-destructs are not applied. A checked call
    fails the block when the target has no code or the call does not succeed. Returns the output."""
    from evm import execute

    code = state.get_code(target)
    if not code:
        if checked:
            raise InvalidBlock("SYSTEM_CONTRACT_EMPTY", f"system contract 0x{target.hex()} has no code")
        return b""
    state.begin_transaction()
    tx = TxEnv(origin=SYSTEM_ADDRESS, gas_price=block.base_fee)
    message = Message(
        caller=SYSTEM_ADDRESS,
        target=target,
        value=0,
        data=data,
        gas=SYSTEM_TRANSACTION_GAS,
        code=code,
        code_address=target,
        should_transfer_value=False,
    )
    result = execute(message, state, block, tx, backend)
    state.finalize_transaction(delete_selfdestructed=False)  # the spec drops a system call's accounts_to_delete
    if checked and result.status != "success":
        raise InvalidBlock(
            "SYSTEM_CONTRACT_CALL_FAILED",
            f"system contract 0x{target.hex()} call failed: {result.status} {result.error or ''}",
        )
    return result.output


def _extract_deposit(data: bytes) -> bytes:
    """EIP-6110 DepositEvent data -> pubkey ‖ withdrawal credentials ‖ amount ‖ signature ‖ index."""
    if len(data) != 576:
        raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid deposit event data length")
    layout = ((160, 48), (256, 32), (320, 8), (384, 96), (512, 8))
    out = b""
    for i, (offset, size) in enumerate(layout):
        if int.from_bytes(data[32 * i : 32 * i + 32], "big") != offset:
            raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid offset in deposit log")
        if int.from_bytes(data[offset : offset + 32], "big") != size:
            raise InvalidBlock("INVALID_DEPOSIT_EVENT_LAYOUT", "invalid size in deposit log")
        out += data[offset + 32 : offset + 32 + size]
    return out


def block_env(
    config: ChainConfig, header: Header, block_hash: Callable[[int], bytes | None], rules: ForkRules | None = None
) -> BlockEnv:
    """The environment a block's transactions run in (also for eth_call and tracing on top of a block)."""
    if rules is None:
        rules = block_rules(config, header.number, header.timestamp)
    excess = header.excess_blob_gas or 0
    schedule = rules.blob_schedule
    return BlockEnv(
        fork=rules.fork,
        rules=rules,
        chain_id=config.chain_id,
        coinbase=header.coinbase,
        number=header.number,
        timestamp=header.timestamp,
        gas_limit=header.gas_limit,
        prev_randao=header.mix_hash,
        base_fee=header.base_fee_per_gas or 0,
        excess_blob_gas=excess,
        blob_base_fee=blob_base_fee(excess, schedule) if schedule is not None else 0,
        block_hash=block_hash,
    )


def pre_block_calls(state: JournaledState, block: BlockEnv, header: Header, backend: str) -> None:
    """The system calls before a block's transactions (EIP-4788 beacon root, EIP-2935 block-hash history):
    each passes a header field to its system contract."""
    for target, field_name in block.rules.pre_block_calls:
        system_call(state, block, target, getattr(header, field_name), backend, checked=False)


def apply_body(
    block: Block,
    rules: ForkRules,
    config: ChainConfig,
    state: JournaledState,
    block_hash: Callable[[int], bytes | None],
    backend: str = "interpreter",
) -> BlockOutput:
    """execution-specs `apply_body`: system calls, transactions, withdrawals, requests. Raises InvalidBlock
    for an invalid transaction or a failed checked system call."""
    header = block.header
    env = block_env(config, header, block_hash, rules)
    out = BlockOutput()
    pre_block_calls(state, env, header, backend)

    ctx = BlockContext(env)
    deposit_contract = config.deposit_contract_address or MAINNET_DEPOSIT_CONTRACT
    deposits = b""
    for i, tx in enumerate(block.transactions):
        if tx.type == 0 and tx.v not in (27, 28) and tx.chain_id != config.chain_id:
            reason = f"signed for chain {tx.chain_id}, not {config.chain_id}"
            raise InvalidBlock("TransactionException.INVALID_CHAINID", f"transaction {i}: {reason}", i, reason)
        ctx.gas_used = out.gas_used
        ctx.blob_gas_used = out.blob_gas_used
        try:
            result = process_transaction(tx, state, ctx, backend)
        except InvalidTransaction as exc:
            raise InvalidBlock(f"TransactionException.{exc.code}", f"transaction {i}: {exc}", i, str(exc)) from None
        out.gas_used += result.gas_used
        out.blob_gas_used += result.blob_gas_used
        receipt = Receipt.make(tx.type, result.status == "success", out.gas_used, result.logs)
        out.receipts.append(receipt)
        out.bloom |= logs_bloom_int(result.logs)
        if rules.requests:
            for address, topics, data in result.logs:
                if address == deposit_contract and topics and topics[0] == DEPOSIT_EVENT_SIGNATURE:
                    deposits += _extract_deposit(data)

    for w in block.withdrawals or ():
        state.add_balance(w.address, w.amount * GWEI)

    if rules.requests:
        if deposits:
            out.requests.append(DEPOSIT_REQUEST_TYPE + deposits)
        for request_type, target in rules.request_calls:
            data = system_call(state, env, target, b"", backend, checked=True)
            if data:
                out.requests.append(request_type + data)
    return out
