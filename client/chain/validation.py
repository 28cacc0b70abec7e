"""Block validation: what a block must satisfy before and after it is executed, in execution-specs' order
(forks/*/fork.py: `validate_header`, the body checks of `state_transition`, and the header's commitments
against what `apply_body` gave). What differs between forks (header fields, withdrawals, blob parameters, block
size) is read from the block's `ForkRules` (evm/rules.py, client/forks.py).

A rejected block raises `InvalidBlock`; its `code` names the reason as execution-spec-tests'
`BlockException`/`TransactionException` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.constants import EMPTY_OMMERS_HASH, U64_MAX
from evm.blobs import next_excess_blob_gas
from evm.rules import ForkRules

from ..blocks import Block, BlockDecodeError
from ..forks import UnsupportedFork, rules_at
from ..genesis import ChainConfig
from ..header import OPTIONAL_FIELDS, Header

if TYPE_CHECKING:
    from .transition import BlockOutput

ELASTICITY_MULTIPLIER = 2
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8
GAS_LIMIT_ADJUSTMENT_FACTOR = 1024
GAS_LIMIT_MINIMUM = 5000
MAX_EXTRA_DATA = 32
MAX_GAS_LIMIT = 2**63 - 1  # as geth and the other clients cap it (execution-specs does not)


class InvalidBlock(Exception):
    """The block cannot be part of the chain. `code` is e.g. "BlockException.INVALID_STATE_ROOT" or
    "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"."""

    def __init__(self, code: str, message: str = "", tx_index: int | None = None, reason: str = "") -> None:
        super().__init__(message or code)
        self.code = code if "." in code else f"BlockException.{code}"
        # Which transaction made the block invalid, and why (the miner drops it and builds again).
        self.tx_index = tx_index
        self.reason = reason


def block_rules(config: ChainConfig, number: int, timestamp: int) -> ForkRules:
    """The rules of a block at (number, timestamp); a fork this client does not run makes it invalid."""
    try:
        return rules_at(config, number, timestamp)
    except UnsupportedFork as exc:
        raise InvalidBlock("UNSUPPORTED_FORK", str(exc)) from None


def expected_base_fee(gas_limit: int, parent: Header) -> int:
    """EIP-1559 base fee of a child of `parent` (execution-specs `calculate_base_fee_per_gas`)."""
    parent_target = parent.gas_limit // ELASTICITY_MULTIPLIER
    parent_base_fee = parent.base_fee_per_gas or 0
    if parent.gas_used == parent_target:
        return parent_base_fee
    if parent.gas_used > parent_target:
        delta = parent_base_fee * (parent.gas_used - parent_target) // parent_target // BASE_FEE_MAX_CHANGE_DENOMINATOR
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (parent_target - parent.gas_used) // parent_target // BASE_FEE_MAX_CHANGE_DENOMINATOR
    return parent_base_fee - delta


def check_gas_limit(gas_limit: int, parent_gas_limit: int) -> bool:
    delta = parent_gas_limit // GAS_LIMIT_ADJUSTMENT_FACTOR
    return parent_gas_limit - delta < gas_limit < parent_gas_limit + delta and gas_limit >= GAS_LIMIT_MINIMUM


def expected_excess_blob_gas(rules: ForkRules, parent: Header) -> int:
    """Excess blob gas of a block under `rules` (EIP-4844, EIP-7918 from Osaka, the block's own fork's blob
    schedule); a parent from before Cancun counts as zero excess and zero used."""
    return next_excess_blob_gas(
        rules, parent.excess_blob_gas or 0, parent.blob_gas_used or 0, parent.base_fee_per_gas or 0
    )


def _check_shape(header: Header, rules: ForkRules) -> None:
    """The header has exactly the fields of its fork."""
    for name in OPTIONAL_FIELDS:
        present = name in rules.header_fields
        if (getattr(header, name) is not None) != present:
            raise InvalidBlock(
                "INCORRECT_BLOCK_FORMAT",
                f"header field {name} {'missing' if present else 'not allowed'} in {rules.name}",
            )
    if rules.blob_schedule is not None and (
        (header.blob_gas_used or 0) > U64_MAX or (header.excess_blob_gas or 0) > U64_MAX
    ):
        raise InvalidBlock("RLP_INVALID_FIELD_OVERFLOW_64", "blob gas field overflows 64 bits")


def validate_header(header: Header, parent: Header, config: ChainConfig) -> ForkRules:
    """Checks of execution-specs' `validate_header` (in its order); returns the block's fork rules."""
    rules = block_rules(config, header.number, header.timestamp)
    _check_shape(header, rules)
    if header.number < 1:
        raise InvalidBlock("INVALID_BLOCK_NUMBER", "block number 0 is the genesis")
    if rules.blob_schedule is not None:
        want = expected_excess_blob_gas(rules, parent)
        if header.excess_blob_gas != want:
            raise InvalidBlock("INCORRECT_EXCESS_BLOB_GAS", f"excess blob gas {header.excess_blob_gas} != {want}")
    if header.gas_used > header.gas_limit:
        raise InvalidBlock("GAS_USED_OVERFLOW", f"gas used {header.gas_used} > gas limit {header.gas_limit}")
    if header.gas_limit > MAX_GAS_LIMIT:
        raise InvalidBlock("GASLIMIT_TOO_BIG", f"gas limit {header.gas_limit} > 2**63 - 1")
    if not check_gas_limit(header.gas_limit, parent.gas_limit):
        raise InvalidBlock("INVALID_GASLIMIT", f"gas limit {header.gas_limit} not allowed after {parent.gas_limit}")
    want = expected_base_fee(header.gas_limit, parent)
    if header.base_fee_per_gas != want:
        raise InvalidBlock("INVALID_BASEFEE_PER_GAS", f"base fee {header.base_fee_per_gas} != {want}")
    if header.timestamp <= parent.timestamp:
        raise InvalidBlock(
            "INVALID_BLOCK_TIMESTAMP_OLDER_THAN_PARENT", f"timestamp {header.timestamp} <= parent's {parent.timestamp}"
        )
    if header.number != parent.number + 1:
        raise InvalidBlock("INVALID_BLOCK_NUMBER", f"number {header.number} != parent's + 1 ({parent.number + 1})")
    if len(header.extra_data) > MAX_EXTRA_DATA:
        raise InvalidBlock("EXTRA_DATA_TOO_BIG", f"extra data of {len(header.extra_data)} bytes")
    if header.difficulty != 0:
        raise InvalidBlock("IMPROPER_DIFFICULTY", "difficulty must be 0 after the Merge")
    if header.nonce != b"\x00" * 8:
        raise InvalidBlock("INVALID_NONCE", "nonce must be 0 after the Merge")
    if header.ommers_hash != EMPTY_OMMERS_HASH:
        raise InvalidBlock("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers hash must be that of an empty list")
    return rules


def validate_body(block: Block, rules: ForkRules, encoded_size: int | None = None) -> None:
    """What can be checked without executing: ommers, withdrawals presence, transactions/withdrawals roots,
    the Osaka block size (EIP-7934)."""
    if rules.max_block_rlp_size is not None:
        size = encoded_size if encoded_size is not None else len(block.encode())
        if size > rules.max_block_rlp_size:
            raise InvalidBlock("RLP_BLOCK_LIMIT_EXCEEDED", f"block RLP of {size} bytes")
    if block.ommers:
        raise InvalidBlock("IMPORT_IMPOSSIBLE_UNCLES_OVER_PARIS", "ommers not allowed after the Merge")
    if (block.withdrawals is not None) != rules.withdrawals:
        raise InvalidBlock(
            "RLP_WITHDRAWALS_NOT_READ" if block.withdrawals is None else "INCORRECT_BLOCK_FORMAT",
            "withdrawals list " + ("missing" if block.withdrawals is None else "not allowed"),
        )
    root = block.transactions_root()
    if root != block.header.transactions_root:
        raise InvalidBlock(
            "INVALID_TRANSACTIONS_ROOT",
            f"transactions root 0x{root.hex()} != header 0x{block.header.transactions_root.hex()}",
        )
    if rules.withdrawals:
        wroot = block.withdrawals_root()
        if wroot != block.header.withdrawals_root:
            raise InvalidBlock(
                "INVALID_WITHDRAWALS_ROOT",
                f"withdrawals root 0x{(wroot or b'').hex()} != header 0x{(block.header.withdrawals_root or b'').hex()}",
            )


def check_output(block: Block, rules: ForkRules, out: BlockOutput) -> None:
    """The header's commitments against what executing the body gave (state root is checked by the caller)."""
    h = block.header
    if out.gas_used != h.gas_used:
        raise InvalidBlock("INVALID_GAS_USED", f"gas used {out.gas_used} != header {h.gas_used}")
    if rules.blob_schedule is not None and out.blob_gas_used != h.blob_gas_used:
        raise InvalidBlock("INCORRECT_BLOB_GAS_USED", f"blob gas used {out.blob_gas_used} != header {h.blob_gas_used}")
    root = out.receipts_root()
    if root != h.receipts_root:
        raise InvalidBlock("INVALID_RECEIPTS_ROOT", f"receipts root 0x{root.hex()} != header 0x{h.receipts_root.hex()}")
    if out.logs_bloom != h.logs_bloom:
        raise InvalidBlock("INVALID_LOG_BLOOM", "logs bloom differs from the header's")
    if rules.requests and out.requests_hash != h.requests_hash:
        raise InvalidBlock(
            "INVALID_REQUESTS",
            f"requests hash 0x{out.requests_hash.hex()} != header 0x{(h.requests_hash or b'').hex()}",
        )


def decode_block(raw: bytes) -> Block:
    """Block.decode with decoding errors as InvalidBlock."""
    try:
        return Block.decode(raw)
    except BlockDecodeError as exc:
        raise InvalidBlock(exc.code, str(exc)) from None
