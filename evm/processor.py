"""Transaction processing: validation, buying gas, the top-level message, refunds, fees.

Follows execution-specs' `process_transaction` / `check_transaction` / `process_message_call`,
with fork differences read from the fork's rules (evm/rules.py: EIP-3651 warm coinbase, EIP-3860 initcode,
EIP-4844 blobs, EIP-7623 calldata floor, EIP-7702 authorizations, EIP-7825 gas cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from common import rlp
from common.constants import MAX_NONCE
from common.keccak import keccak

from .blobs import GAS_PER_BLOB, VERSIONED_HASH_VERSION_KZG
from .host import DELEGATION_PREFIX, create_address, is_delegation
from .message import BlockEnv, Message, TxEnv
from .rules import ForkRules
from .transactions import InvalidSignature, Transaction

if TYPE_CHECKING:
    from .interfaces import Log, StateReader, TransactionState
    from .tracing import Tracer

TX_BASE_COST = 21000
TX_CREATE_COST = 32000
STANDARD_CALLDATA_TOKEN_COST = 4
TX_ACCESS_LIST_ADDRESS_COST = 2400
TX_ACCESS_LIST_STORAGE_KEY_COST = 1900
PER_EMPTY_ACCOUNT_COST = 25000  # EIP-7702
PER_AUTH_BASE_COST = 12500

REFUND_QUOTIENT = 5  # EIP-3529


class InvalidTransaction(Exception):
    """A transaction that cannot be included; `code` names it as execution-spec-tests do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class TxResult:
    gas_used: int  # charged to the block (after refund and floor)
    status: str  # success | revert | error
    output: bytes
    logs: list[Log]
    error: str | None = None
    created_address: bytes | None = None
    blob_gas_used: int = 0
    gas_refunded: int = 0


@dataclass(slots=True)
class BlockContext:
    """What transaction validation needs from the block it goes in (its fork's rules are `block.rules`)."""

    block: BlockEnv
    gas_used: int = 0  # by earlier transactions of the block
    blob_gas_used: int = 0


def intrinsic_gas(tx: Transaction, rules: ForkRules) -> tuple[int, int]:
    """(intrinsic gas, EIP-7623 calldata floor) of a transaction."""
    zeros = tx.data.count(0)
    tokens = zeros + (len(tx.data) - zeros) * 4
    gas = TX_BASE_COST + tokens * STANDARD_CALLDATA_TOKEN_COST
    if tx.to is None:
        gas += TX_CREATE_COST + rules.initcode_word_cost * ((len(tx.data) + 31) // 32)
    for _, slots in tx.access_list:
        gas += TX_ACCESS_LIST_ADDRESS_COST + TX_ACCESS_LIST_STORAGE_KEY_COST * len(slots)
    gas += PER_EMPTY_ACCOUNT_COST * len(tx.authorizations)
    floor = TX_BASE_COST + tokens * rules.calldata_floor_cost if rules.calldata_floor_cost else 0
    return gas, floor


def validate_transaction(tx: Transaction, rules: ForkRules) -> tuple[int, int]:
    """Checks that need no state; returns (intrinsic gas, calldata floor)."""
    if tx.type not in rules.tx_types:
        raise InvalidTransaction("TYPE_NOT_SUPPORTED", f"transaction type {tx.type} not supported")
    gas, floor = intrinsic_gas(tx, rules)
    if max(gas, floor) > tx.gas:
        raise InvalidTransaction(
            "INTRINSIC_GAS_TOO_LOW", f"intrinsic gas too low: have {tx.gas}, want {max(gas, floor)}"
        )
    if tx.nonce >= MAX_NONCE:
        raise InvalidTransaction("NONCE_IS_MAX", "nonce has max value")
    limit = rules.max_initcode_size
    if limit is not None and tx.to is None and len(tx.data) > limit:
        raise InvalidTransaction("INITCODE_SIZE_EXCEEDED", f"max initcode size exceeded: {len(tx.data)}")
    if rules.tx_gas_cap is not None and tx.gas > rules.tx_gas_cap:
        raise InvalidTransaction("GAS_LIMIT_EXCEEDS_MAXIMUM", f"transaction gas limit too high: {tx.gas}")
    return gas, floor


def check_fee_caps(tx: Transaction) -> None:
    """EIP-1559: the tip may not exceed the fee cap."""
    if tx.type >= 2 and tx.max_fee_per_gas < tx.max_priority_fee_per_gas:
        raise InvalidTransaction(
            "PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS", "max priority fee per gas higher than max fee per gas"
        )


def check_blobs(tx: Transaction, rules: ForkRules, blob_base_fee: int) -> None:
    """EIP-4844 (and EIP-7594's per-transaction cap): a blob transaction carries at least one blob, at most the
    fork's limit, every versioned hash of a KZG commitment, and a blob fee cap the block's blob base fee fits."""
    if tx.type != 3:
        return
    count = len(tx.blob_versioned_hashes)
    if count == 0:
        raise InvalidTransaction("TYPE_3_TX_ZERO_BLOBS", "blob transaction without blobs")
    if rules.blob_schedule is not None and count > rules.blob_limit_per_tx:
        raise InvalidTransaction("TYPE_3_TX_BLOB_COUNT_EXCEEDED", f"too many blobs in transaction: {count}")
    if any(h[:1] != bytes([VERSIONED_HASH_VERSION_KZG]) for h in tx.blob_versioned_hashes):
        raise InvalidTransaction("TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH", "invalid blob versioned hash")
    if tx.max_fee_per_blob_gas < blob_base_fee:
        raise InvalidTransaction(
            "INSUFFICIENT_MAX_FEE_PER_BLOB_GAS",
            f"max fee per blob gas less than block blob gas fee: {tx.max_fee_per_blob_gas} < {blob_base_fee}",
        )


def check_shape(tx: Transaction) -> None:
    """Blob and set-code transactions cannot create contracts; a set-code one carries authorizations."""
    if tx.type in (3, 4) and tx.to is None:
        raise InvalidTransaction(
            "TYPE_3_TX_CONTRACT_CREATION" if tx.type == 3 else "TYPE_4_TX_CONTRACT_CREATION",
            "transaction type cannot create contracts",
        )
    if tx.type == 4 and not tx.authorizations:
        raise InvalidTransaction("TYPE_4_EMPTY_AUTHORIZATION_LIST", "empty authorization list")


def check_transaction(
    tx: Transaction, state: StateReader, ctx: BlockContext, skip_account_checks: bool = False
) -> tuple[bytes, int, int]:
    """Checks against the block and the sender's account; returns
    (sender, effective gas price, blob gas used).
    `skip_account_checks` leaves out the nonce and EIP-3607 sender-code checks, as geth does for
    simulated calls (eth_call, eth_estimateGas): a call may come from a contract's address."""
    env = ctx.block
    rules = env.rules
    schedule = rules.blob_schedule
    if tx.gas > env.gas_limit - ctx.gas_used:
        raise InvalidTransaction("GAS_ALLOWANCE_EXCEEDED", "gas limit reached")
    blob_gas = GAS_PER_BLOB * len(tx.blob_versioned_hashes) if tx.type == 3 else 0
    if blob_gas and schedule is not None and blob_gas > schedule.max_blob_gas - ctx.blob_gas_used:
        raise InvalidTransaction("TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED", "blob gas limit exceeded")
    try:
        sender = tx.recover_sender()
    except InvalidSignature as exc:
        raise InvalidTransaction("INVALID_SIGNATURE", f"invalid sender: {exc}") from None
    check_fee_caps(tx)
    if tx.type >= 2:
        if tx.max_fee_per_gas < env.base_fee:
            raise InvalidTransaction(
                "INSUFFICIENT_MAX_FEE_PER_GAS",
                f"max fee per gas less than block base fee: maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {env.base_fee}",
            )
        price = min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - env.base_fee) + env.base_fee
        max_fee = tx.gas * tx.max_fee_per_gas
    else:
        if tx.gas_price < env.base_fee:
            raise InvalidTransaction(
                "INSUFFICIENT_MAX_FEE_PER_GAS",
                f"gas price less than block base fee: gasPrice: {tx.gas_price}, baseFee: {env.base_fee}",
            )
        price = tx.gas_price
        max_fee = tx.gas * tx.gas_price
    check_blobs(tx, rules, env.blob_base_fee)
    if tx.type == 3:
        max_fee += blob_gas * tx.max_fee_per_blob_gas
    check_shape(tx)
    if not skip_account_checks:
        nonce = state.get_nonce(sender)
        if nonce > tx.nonce:
            raise InvalidTransaction(
                "NONCE_MISMATCH_TOO_LOW", f"nonce too low: address 0x{sender.hex()}, tx: {tx.nonce} state: {nonce}"
            )
        if nonce < tx.nonce:
            raise InvalidTransaction(
                "NONCE_MISMATCH_TOO_HIGH", f"nonce too high: address 0x{sender.hex()}, tx: {tx.nonce} state: {nonce}"
            )
    balance = state.get_balance(sender)
    if balance < max_fee + tx.value:
        raise InvalidTransaction(
            "INSUFFICIENT_ACCOUNT_FUNDS",
            f"insufficient funds for gas * price + value: address 0x{sender.hex()} have {balance} want {max_fee + tx.value}",
        )
    if not skip_account_checks:
        code = state.get_code(sender)
        # EIP-3607; from Prague an EIP-7702 delegation designator still counts as an EOA
        if code and not (rules.delegation and is_delegation(code)) and not tx.impersonated:
            raise InvalidTransaction("SENDER_NOT_EOA", f"sender not an eoa: address 0x{sender.hex()}")
    return sender, price, blob_gas


def _set_delegations(tx: Transaction, state: TransactionState, block: BlockEnv) -> int:
    """Apply EIP-7702 authorizations; returns the refund for authorities that already existed."""
    refund = 0
    for auth in tx.authorizations:
        if auth.chain_id not in (block.chain_id, 0) or auth.nonce >= MAX_NONCE:
            continue
        try:
            authority = auth.authority()
        except InvalidSignature:
            continue
        state.warm_address(authority)
        code = state.get_code(authority)
        if code and not is_delegation(code):
            continue
        if state.get_nonce(authority) != auth.nonce:
            continue
        if state.account_exists(authority):
            refund += PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE_COST
        state.set_code(authority, b"" if auth.address == b"\x00" * 20 else DELEGATION_PREFIX + auth.address)
        state.increment_nonce(authority)
    return refund


def process_transaction(
    tx: Transaction,
    state: TransactionState,
    ctx: BlockContext,
    backend: str = "interpreter",
    tracer: Tracer | None = None,
    skip_account_checks: bool = False,
) -> TxResult:
    """Apply one transaction to the journaled state. InvalidTransaction leaves the state untouched.
    With a `tracer` (`evm.tracing.Tracer`) the transaction runs on the interpreter with the tracer's hooks:
    `start` before the gas is bought, the frames' hooks, and `finish` with its output and gas used."""
    from . import execute
    from .precompiles import precompiles_for

    block = ctx.block
    rules = block.rules
    intrinsic, floor = validate_transaction(tx, rules)
    sender, price, blob_gas = check_transaction(tx, state, ctx, skip_account_checks)
    if tracer is not None:
        tracer.start(tx, sender, state, block)

    state.begin_transaction()
    blob_fee = blob_gas * block.blob_base_fee
    state.increment_nonce(sender)
    state.sub_balance(sender, tx.gas * price + blob_fee)

    tx_env = TxEnv(origin=sender, gas_price=price, blob_hashes=tuple(tx.blob_versioned_hashes))

    # Pre-warmed addresses and slots (EIP-2929, EIP-2930, EIP-3651).
    state.warm_address(sender)
    for address in precompiles_for(rules.evm):
        state.warm_address(address)
    if rules.warm_coinbase:
        state.warm_address(block.coinbase)
    for address, slots in tx.access_list:
        state.warm_address(address)
        for slot in slots:
            state.warm_slot(address, slot)

    gas = tx.gas - intrinsic
    refund = 0
    # `execute` checks a create for collisions and follows an EIP-7702 delegation of the target.
    if tx.to is None:
        target = create_address(sender, tx.nonce)
        state.warm_address(target)
        message = Message(
            caller=sender,
            target=target,
            value=tx.value,
            data=b"",
            gas=gas,
            code=tx.data,
            code_address=target,
            is_create=True,
        )
    else:
        state.warm_address(tx.to)
        if tx.authorizations:
            refund += _set_delegations(tx, state, block)
        message = Message(
            caller=sender,
            target=tx.to,
            value=tx.value,
            data=tx.data,
            gas=gas,
            code=state.get_code(tx.to),
            code_address=tx.to,
        )
    result = execute(message, state, block, tx_env, backend, tracer)

    # The journal reverted refunds and logs of a failed top-level frame, so `state.refund` is
    # the frame's refund counter only when it succeeded.
    if result.status == "success":
        refund += state.refund
    used_before_refund = tx.gas - result.gas_left
    refunded = min(used_before_refund // REFUND_QUOTIENT, refund)
    used = max(used_before_refund - refunded, floor)
    state.add_balance(sender, (tx.gas - used) * price)
    state.add_balance(block.coinbase, used * (price - block.base_fee))
    logs = list(state.logs)  # empty unless the frame succeeded: the journal dropped the others
    state.finalize_transaction()
    if tracer is not None:
        tracer.finish(result.output, used, result.status, result.error)
    return TxResult(
        used,
        result.status,
        result.output,
        logs,
        result.error,
        result.created_address if tx.to is None and result.status == "success" else None,
        blob_gas,
        refunded,
    )


def logs_hash(logs: list[Log]) -> bytes:
    """keccak256 of the RLP of a transaction's logs, as state tests check it."""
    return keccak(rlp.encode([[address, list(topics), data] for address, topics, data in logs]))
