"""The transaction pool of the local node.

Transactions are kept per sender by nonce. The ones whose nonces follow the sender's state nonce without a
gap are *pending* (executable); the others wait as *queued* until the gap is filled. A transaction with the
same sender and nonce as one in the pool replaces it only when both its fee cap and its tip are at least
`price_bump` percent higher (geth's rule, 10 % by default). Rejections carry geth's messages, so tools that
match on them (web3.py, ethers, foundry) behave as against geth.

The pool reads the state through a small view (`nonce(address)`, `balance(address)`) at the current head and
never writes it; after each block `reset` drops what the block included (or made stale).

Threads: the node admits raw transactions on its event loop while the chain thread seals blocks. The checks
that need no pool (signature recovery, intrinsic gas, fork rules) run unlocked; what reads or changes more than
one entry holds `lock` (re-entrant: a caller that needs one view across calls, as the miner's selection and its
update after a block, holds it around them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from evm.blobs import GAS_PER_BLOB
from evm.processor import (
    InvalidTransaction,
    check_blobs,
    check_fee_caps,
    check_shape,
    intrinsic_gas,
    validate_transaction,
)
from evm.rules import ForkRules
from evm.transactions import InvalidSignature, Transaction

TX_MAX_SIZE = 128 * 1024  # geth: txMaxSize (4 * 32 KiB slots), blob sidecars excluded
MAX_NONCE_GAP = 1024  # queued transactions further ahead than this are refused


@dataclass(slots=True, frozen=True)
class BlobSidecar:
    """The blobs a blob transaction was submitted with (its network form), kept beside it in the pool for the
    consensus client (engine_getPayload's blobs bundle, engine_getBlobs). Version 0 (EIP-4844) has one KZG
    proof per blob; version 1 (EIP-7594, Osaka) has CELLS_PER_EXT_BLOB cell proofs per blob."""

    version: int
    blobs: tuple[bytes, ...]
    commitments: tuple[bytes, ...]
    proofs: tuple[bytes, ...]


class TxPoolError(Exception):
    """A transaction the pool refuses; the message is geth's."""


class StateView(Protocol):
    def nonce(self, address: bytes) -> int: ...
    def balance(self, address: bytes) -> int: ...


@dataclass(slots=True)
class PoolRules:
    """What validation needs from the chain at the head: the next block's fork rules, fees and gas limit."""

    chain_id: int
    fork_rules: ForkRules
    base_fee: int
    gas_limit: int
    blob_base_fee: int = 1


def _fee_cap(tx: Transaction) -> int:
    return tx.max_fee_per_gas if tx.type >= 2 else tx.gas_price


def _tip_cap(tx: Transaction) -> int:
    return tx.max_priority_fee_per_gas if tx.type >= 2 else tx.gas_price


def effective_tip(tx: Transaction, base_fee: int) -> int:
    return min(_tip_cap(tx), _fee_cap(tx) - base_fee)


def max_cost(tx: Transaction) -> int:
    """The most the sender can be charged: gas * fee cap + value (+ blob gas at its cap)."""
    cost = tx.gas * _fee_cap(tx) + tx.value
    if tx.type == 3:
        cost += len(tx.blob_versioned_hashes) * GAS_PER_BLOB * tx.max_fee_per_blob_gas
    return cost


class TxPool:
    def __init__(self, price_bump: int = 10, max_size: int = 4096) -> None:
        self.price_bump = price_bump
        self.max_size = max_size
        self.by_hash: dict[bytes, Transaction] = {}
        self.by_sender: dict[bytes, dict[int, Transaction]] = {}
        # extra data kept beside a transaction (e.g. a blob sidecar), by hash
        self.extras: dict[bytes, object] = {}
        self.lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.by_hash

    def get(self, tx_hash: bytes) -> Transaction | None:
        return self.by_hash.get(tx_hash)

    # -- admission -----------------------------------------------------------------------------------------
    def check_alone(self, tx: Transaction, rules: PoolRules, size: int | None = None) -> bytes:
        """The checks that need neither the pool nor the state (no lock): the transaction's own rules, written
        once in evm/processor.py (fork, intrinsic gas, nonce, init code, gas cap, fee caps, blobs, shape), and
        the pool's (size, the block's gas limit, chain id, signature); returns the sender. The messages are
        geth's pool's."""
        fork_rules = rules.fork_rules
        if size is None:
            size = len(tx.encode())
        if size > TX_MAX_SIZE:
            raise TxPoolError(f"oversized data: transaction size {size}, limit {TX_MAX_SIZE}")
        if tx.gas > rules.gas_limit:
            raise TxPoolError("exceeds block gas limit")
        try:
            validate_transaction(tx, fork_rules)
        except InvalidTransaction as exc:
            raise TxPoolError(_pool_message(exc.code, tx, fork_rules, rules)) from None
        if tx.type == 0 and tx.chain_id is not None and tx.chain_id != rules.chain_id:
            raise TxPoolError(f"invalid chain id for signer: have {tx.chain_id} want {rules.chain_id}")
        if tx.type != 0 and tx.chain_id != rules.chain_id:
            raise TxPoolError(f"invalid chain id for signer: have {tx.chain_id} want {rules.chain_id}")
        try:
            sender = tx.recover_sender()
        except InvalidSignature:
            raise TxPoolError("invalid sender") from None
        try:
            check_fee_caps(tx)
            check_blobs(tx, fork_rules, rules.blob_base_fee)
            check_shape(tx)
        except InvalidTransaction as exc:
            raise TxPoolError(_pool_message(exc.code, tx, fork_rules, rules, sender)) from None
        return sender

    def _check_in_pool(self, tx: Transaction, sender: bytes, state: StateView, rules: PoolRules) -> None:
        """The checks against the state and the pool (the caller holds the lock)."""
        if tx.hash in self.by_hash:
            raise TxPoolError("already known")
        state_nonce = state.nonce(sender)
        if tx.nonce < state_nonce:
            raise TxPoolError(f"nonce too low: next nonce {state_nonce}, tx nonce {tx.nonce}")
        if tx.nonce > state_nonce + MAX_NONCE_GAP:
            raise TxPoolError(f"nonce too high: next nonce {state_nonce}, tx nonce {tx.nonce}")
        if _fee_cap(tx) < rules.base_fee:
            what = "max fee per gas" if tx.type >= 2 else "gas price"
            raise TxPoolError(
                f"{what} less than block base fee: address 0x{sender.hex()}, "
                f"{'maxFeePerGas' if tx.type >= 2 else 'gasPrice'}: {_fee_cap(tx)}, "
                f"baseFee: {rules.base_fee}"
            )
        balance = state.balance(sender)
        # The sender must afford this one and every pending one before it (geth checks the spend of the
        # whole nonce run, minus a transaction this one replaces).
        own = self.by_sender.get(sender, {})
        spent = sum(max_cost(t) for n, t in own.items() if state_nonce <= n < tx.nonce)
        need = max_cost(tx)
        if balance < need + spent:
            raise TxPoolError(
                f"insufficient funds for gas * price + value: balance {balance}, tx cost {need}, "
                f"overshot {need + spent - balance}"
            )
        old = own.get(tx.nonce)
        if old is not None:
            bump = 100 + self.price_bump
            if _fee_cap(tx) * 100 < _fee_cap(old) * bump or _tip_cap(tx) * 100 < _tip_cap(old) * bump:
                raise TxPoolError("replacement transaction underpriced")
        elif len(self.by_hash) >= self.max_size:
            raise TxPoolError("txpool is full")

    def add(
        self,
        tx: Transaction,
        state: StateView | Callable[[], StateView],
        rules: PoolRules,
        size: int | None = None,
        extra: object = None,
    ) -> bytes:
        """Validate and insert; returns the transaction hash. TxPoolError if refused. `state` may be a function
        giving the head's view, called under the lock (so the view and the pool belong to one head)."""
        sender = self.check_alone(tx, rules, size)
        with self.lock:
            self._check_in_pool(tx, sender, state() if callable(state) else state, rules)
            old = self.by_sender.get(sender, {}).get(tx.nonce)
            if old is not None:
                self._drop(old)
            self.by_sender.setdefault(sender, {})[tx.nonce] = tx
            h = tx.hash
            self.by_hash[h] = tx
            if extra is not None:
                self.extras[h] = extra
        return h

    def _drop(self, tx: Transaction) -> None:
        h = tx.hash
        self.by_hash.pop(h, None)
        self.extras.pop(h, None)
        sender = tx.recover_sender()  # known since admission
        own = self.by_sender.get(sender)
        if own is not None and own.get(tx.nonce) is tx:
            del own[tx.nonce]
            if not own:
                del self.by_sender[sender]

    def remove(self, tx_hash: bytes) -> None:
        with self.lock:
            tx = self.by_hash.get(tx_hash)
            if tx is not None:
                self._drop(tx)

    def clear(self) -> None:
        with self.lock:
            self.by_hash.clear()
            self.by_sender.clear()
            self.extras.clear()

    def drop_sender_from(self, sender: bytes, nonce: int) -> None:
        """Remove the sender's transactions with nonce >= `nonce` (they can no longer run in order)."""
        with self.lock:
            for n, t in list(self.by_sender.get(sender, {}).items()):
                if n >= nonce:
                    self._drop(t)

    # -- views ---------------------------------------------------------------------------------------------
    def next_nonce(self, sender: bytes, state_nonce: int) -> int:
        """The nonce after the sender's contiguous pending run (eth_getTransactionCount "pending")."""
        with self.lock:
            own = self.by_sender.get(sender, {})
            n = state_nonce
            while n in own:
                n += 1
            return n

    def pending_by_sender(self, state: StateView) -> dict[bytes, list[Transaction]]:
        out = {}
        with self.lock:
            for sender, own in self.by_sender.items():
                n = state.nonce(sender)
                run = []
                while n in own:
                    run.append(own[n])
                    n += 1
                if run:
                    out[sender] = run
        return out

    def has_pending(self, state: StateView) -> bool:
        """Whether some sender's next nonce is in the pool (cheaper than pending_by_sender)."""
        with self.lock:
            return any(state.nonce(sender) in own for sender, own in self.by_sender.items())

    def queued_count(self, state: StateView) -> int:
        with self.lock:
            pending = sum(len(v) for v in self.pending_by_sender(state).values())
            return len(self.by_hash) - pending

    def ordered(self, state: StateView, base_fee: int) -> Iterator[tuple[bytes, Transaction]]:
        """Executable transactions by effective tip, highest first, each sender's in nonce order (geth's
        price-and-nonce ordering); ties go to the earlier arrival. A consumer that cannot include one
        transaction ignores the rest of that sender's (their nonces would no longer follow)."""
        with self.lock:  # one view of the pool; the caller may hold the lock for longer
            runs = self.pending_by_sender(state)
            order = {h: i for i, h in enumerate(self.by_hash)}
        heads = {s: 0 for s in runs}
        while heads:
            best = max(
                heads, key=lambda s: (effective_tip(runs[s][heads[s]], base_fee), -order[runs[s][heads[s]].hash])
            )
            i = heads[best]
            yield best, runs[best][i]
            if i + 1 < len(runs[best]):
                heads[best] = i + 1
            else:
                del heads[best]

    def reset(self, state: StateView) -> None:
        """After a new head: drop transactions whose nonce the state has passed."""
        with self.lock:
            for sender in list(self.by_sender):
                n = state.nonce(sender)
                for nonce, t in list(self.by_sender.get(sender, {}).items()):
                    if nonce < n:
                        self._drop(t)

    def content(self, state: StateView) -> tuple[dict[bytes, list[Transaction]], dict[bytes, list[Transaction]]]:
        with self.lock:
            pending = self.pending_by_sender(state)
            queued: dict[bytes, list[Transaction]] = {}
            for sender, own in self.by_sender.items():
                ids = {t.hash for t in pending.get(sender, [])}
                rest = [t for n, t in sorted(own.items()) if t.hash not in ids]
                if rest:
                    queued[sender] = rest
        return pending, queued

    def snapshot(self) -> list[Transaction]:
        """Every transaction, by sender and nonce (evm_snapshot keeps them)."""
        with self.lock:
            return [tx for _, txs in sorted(self.by_sender.items()) for _, tx in sorted(txs.items())]

    def restore(self, txs: list[Transaction], state: StateView) -> None:
        """The pool becomes `txs` (a snapshot's), less what `state` has passed (evm_revert)."""
        with self.lock:
            self.clear()
            for tx in txs:
                self.by_sender.setdefault(tx.recover_sender(), {})[tx.nonce] = tx
                self.by_hash[tx.hash] = tx
            self.reset(state)

    def sidecars(self) -> list[tuple[Transaction, object]]:
        """(transaction, extra) for the transactions kept with extra data (blob sidecars)."""
        with self.lock:
            return [(self.by_hash[h], x) for h, x in self.extras.items() if h in self.by_hash]


def _pool_message(code: str, tx: Transaction, fork_rules: ForkRules, rules: PoolRules, sender: bytes = b"") -> str:
    """geth's txpool wording for a transaction `evm.processor` refused with `code`."""
    if code == "TYPE_NOT_SUPPORTED":
        return "transaction type not supported"
    if code == "INTRINSIC_GAS_TOO_LOW":
        gas, floor = intrinsic_gas(tx, fork_rules)
        return f"intrinsic gas too low: gas {tx.gas}, minimum needed {max(gas, floor)}"
    if code == "NONCE_IS_MAX":
        return "nonce has max value"
    if code == "INITCODE_SIZE_EXCEEDED":
        return f"max initcode size exceeded: code size {len(tx.data)}, limit {fork_rules.max_initcode_size}"
    if code == "GAS_LIMIT_EXCEEDS_MAXIMUM":
        return f"transaction gas limit too high (cap: {fork_rules.tx_gas_cap}, tx: {tx.gas})"
    if code == "PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS":
        return "max priority fee per gas higher than max fee per gas"
    if code == "TYPE_3_TX_ZERO_BLOBS":
        return "blobless blob transaction"
    if code == "TYPE_3_TX_BLOB_COUNT_EXCEEDED":
        return (
            f"too many blobs in transaction: have {len(tx.blob_versioned_hashes)}, "
            f"permitted {fork_rules.blob_limit_per_tx}"
        )
    if code == "TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH":
        return "invalid blob versioned hash"
    if code == "INSUFFICIENT_MAX_FEE_PER_BLOB_GAS":
        return (
            f"max fee per blob gas less than block blob gas fee: address 0x{sender.hex()} "
            f"blobGasFeeCap: {tx.max_fee_per_blob_gas}, blobBaseFee: {rules.blob_base_fee}"
        )
    if code in ("TYPE_3_TX_CONTRACT_CREATION", "TYPE_4_TX_CONTRACT_CREATION"):
        return "transaction type cannot create contracts"
    if code == "TYPE_4_EMPTY_AUTHORIZATION_LIST":
        return "EIP-7702 transaction with empty auth list"
    return code.lower().replace("_", " ")
