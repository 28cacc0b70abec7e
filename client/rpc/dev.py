"""The test methods of anvil and the Hardhat network: evm_*, anvil_*, hardhat_* (snapshots, time, mining modes,
state edits, impersonation, reset, state dumps, node info).

Names and parameters are anvil's (crates/anvil/core/src/eth/mod.rs) with their Hardhat aliases; numbers are
taken as anvil takes them (a JSON integer, a hex or a decimal string). Where the two answer differently the
name family decides: `anvil_*` answer as anvil (mostly null), `hardhat_*` as Hardhat (mostly true), `evm_*` as
Hardhat, whose namespace it is, except where anvil's answer is the documented one (evm_snapshot's id,
evm_mine's "0x0"). One unit differs: evm_setIntervalMining takes milliseconds (Hardhat; a [min, max] range
too), anvil_setIntervalMining seconds (anvil).

The node-side work is in client/node/devchain.py; these methods parse, check and answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import statedump
from . import types as T
from .errors import InvalidParams, ServerError
from .format import block_json
from .net import CLIENT_VERSION

if TYPE_CHECKING:
    from ..node.node import Node
    from .calls import CallsApi


MAX_MINE_BLOCKS = 100_000  # each block is sealed for real (about 2 ms an empty one)


def _returning(fn: Callable[..., Any], value: Any) -> Callable[..., Any]:
    """`fn` with its parameters (the dispatcher reads them), answering `value`."""

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        fn(*args)
        return value

    return wrapper


class DevApi:
    def __init__(self, node: Node, calls: CallsApi) -> None:
        self.node = node
        self.calls = calls  # transaction arguments are filled in as eth_sendTransaction fills them
        self.dev = node.dev

    def methods(self) -> dict[str, Callable[..., Any]]:
        # (implementation, anvil name and its answer, Hardhat/evm names and their answer)
        null, true = None, True
        m: dict[str, Callable[..., Any]] = {}

        def both(fn, anvil: str | None, anvil_result, others: tuple[str, ...], others_result) -> None:
            if anvil:
                m[anvil] = _returning(fn, anvil_result) if anvil_result is not _SAME else fn
            for name in others:
                m[name] = _returning(fn, others_result) if others_result is not _SAME else fn

        both(self.snapshot, "anvil_snapshot", _SAME, ("evm_snapshot",), _SAME)
        both(self.revert, "anvil_revert", _SAME, ("evm_revert",), _SAME)
        both(self.increase_time, "anvil_increaseTime", _SAME, ("evm_increaseTime",), _SAME)
        both(self.set_next_block_timestamp, "anvil_setNextBlockTimestamp", null, ("evm_setNextBlockTimestamp",), null)
        both(self.set_time, "anvil_setTime", _SAME, ("evm_setTime",), _SAME)
        both(self.set_block_timestamp_interval, "anvil_setBlockTimestampInterval", null, (), null)
        both(self.remove_block_timestamp_interval, "anvil_removeBlockTimestampInterval", _SAME, (), null)
        both(self.set_automine, "anvil_setAutomine", null, ("evm_setAutomine",), true)
        both(self.get_automine, "anvil_getAutomine", _SAME, ("hardhat_getAutomine",), _SAME)
        both(self.set_interval_mining_seconds, "anvil_setIntervalMining", null, (), null)
        both(self.set_interval_mining_ms, None, null, ("evm_setIntervalMining",), true)
        both(self.get_interval_mining, "anvil_getIntervalMining", _SAME, (), null)
        both(self.set_block_gas_limit, "anvil_setBlockGasLimit", true, ("evm_setBlockGasLimit",), true)
        both(self.evm_mine, None, null, ("evm_mine",), "0x0")
        both(self.mine_detailed, "anvil_mine_detailed", _SAME, ("evm_mine_detailed",), _SAME)
        both(self.mine_blocks, "anvil_mine", null, ("hardhat_mine",), true)
        both(self.set_balance, "anvil_setBalance", null, ("hardhat_setBalance",), true)
        both(self.set_code, "anvil_setCode", null, ("hardhat_setCode",), true)
        both(self.set_nonce, "anvil_setNonce", null, ("hardhat_setNonce", "evm_setAccountNonce"), true)
        both(self.set_storage_at, "anvil_setStorageAt", true, ("hardhat_setStorageAt",), true)
        both(self.impersonate, "anvil_impersonateAccount", null, ("hardhat_impersonateAccount",), true)
        both(
            self.stop_impersonating, "anvil_stopImpersonatingAccount", null, ("hardhat_stopImpersonatingAccount",), true
        )
        both(self.auto_impersonate, "anvil_autoImpersonateAccount", null, ("hardhat_autoImpersonateAccount",), true)
        both(self.reset, "anvil_reset", null, ("hardhat_reset",), true)
        both(self.dump_state, "anvil_dumpState", _SAME, ("hardhat_dumpState",), _SAME)
        both(self.load_state, "anvil_loadState", true, ("hardhat_loadState",), true)
        both(
            self.set_next_base_fee,
            "anvil_setNextBlockBaseFeePerGas",
            null,
            ("hardhat_setNextBlockBaseFeePerGas",),
            true,
        )
        both(self.set_coinbase, "anvil_setCoinbase", null, ("hardhat_setCoinbase",), true)
        both(self.drop_transaction, "anvil_dropTransaction", _SAME, (), _SAME)
        m["hardhat_dropTransaction"] = self.hardhat_drop_transaction
        both(self.drop_all_transactions, "anvil_dropAllTransactions", null, ("hardhat_dropAllTransactions",), true)
        both(self.remove_pool_transactions, "anvil_removePoolTransactions", null, (), null)
        both(self.rollback, "anvil_rollback", null, (), null)
        m["eth_sendUnsignedTransaction"] = self.send_unsigned_transaction
        both(self.node_info, "anvil_nodeInfo", _SAME, (), _SAME)
        both(self.metadata, "anvil_metadata", _SAME, ("hardhat_metadata",), _SAME)
        return m

    # -- snapshots ------------------------------------------------------------------------------------------
    def snapshot(self) -> str:
        return hex(self.dev.snapshot())

    def revert(self, sid: Any) -> bool:
        return self.dev.revert(T.number(sid, 0, 64))

    # -- time -----------------------------------------------------------------------------------------------
    def increase_time(self, seconds: Any) -> int:
        """Move the clock forward; answers the total offset in seconds (anvil)."""
        n = T.number(seconds, 0, 63)
        if self.dev.now() + n >= 2**63:
            raise InvalidParams("invalid argument 0: the clock would pass 2^63 seconds")
        self.dev.settings.time_offset += n
        return self.dev.settings.time_offset

    def set_next_block_timestamp(self, ts: Any) -> None:
        self.dev.set_next_timestamp(T.number(ts, 0, 63))

    def set_time(self, ts: Any) -> int:
        """Set the clock so that now is `ts` (seconds); answers the offset from the wall clock."""
        n = T.number(ts, 0, 63)
        self.dev.settings.time_offset = n - int(time.time())
        return self.dev.settings.time_offset

    def set_block_timestamp_interval(self, seconds: Any) -> None:
        self.dev.settings.timestamp_interval = T.number(seconds, 0, 32)

    def remove_block_timestamp_interval(self) -> bool:
        had = self.dev.settings.timestamp_interval is not None
        self.dev.settings.timestamp_interval = None
        return had

    # -- mining ---------------------------------------------------------------------------------------------
    def set_automine(self, on: Any) -> None:
        self.dev.settings.automine = T.boolean(on, 0)
        if on:  # what waited in the pool goes now, as anvil and Hardhat do
            self.node.pool_dirty = True
        self._mode_changed()

    def get_automine(self) -> bool:
        return self.dev.settings.automine

    def set_interval_mining_seconds(self, seconds: Any) -> None:
        self.dev.settings.interval = float(T.number(seconds, 0, 32))
        self.dev.settings.interval_range = None
        self._mode_changed()

    def set_interval_mining_ms(self, interval: Any) -> None:
        s = self.dev.settings
        if isinstance(interval, list):
            if len(interval) != 2:
                raise InvalidParams("invalid argument 0: expected a number of milliseconds or a [min, max] pair")
            lo, hi = T.number(interval[0], 0, 32), T.number(interval[1], 0, 32)
            if lo > hi:
                raise InvalidParams("invalid argument 0: the range's minimum is above its maximum")
            s.interval_range = (lo / 1000, hi / 1000)
            s.interval = lo / 1000
        else:
            s.interval = T.number(interval, 0, 32) / 1000
            s.interval_range = None
        self._mode_changed()

    def get_interval_mining(self) -> float | int | None:
        seconds = self.dev.settings.interval
        if not seconds:
            return None
        return int(seconds) if seconds == int(seconds) else seconds

    def _mode_changed(self) -> None:
        if self.node.on_mode_change is not None:
            self.node.on_mode_change()

    def set_block_gas_limit(self, limit: Any) -> None:
        n = T.number(limit, 0, 63)
        if n < 5000:
            raise InvalidParams("invalid argument 0: gas limit must be at least 5000")
        self.dev.settings.gas_limit = n

    def evm_mine(self, options: Any = None) -> None:
        """evm_mine([timestamp]) or evm_mine([{"timestamp": T, "blocks": N}]) (anvil's MineOptions)."""
        ts, blocks = None, 1
        if isinstance(options, dict):
            if options.get("timestamp") is not None:
                ts = T.number(options["timestamp"], 0, 64)
            if options.get("blocks") is not None:
                blocks = T.number(options["blocks"], 0, 32)
        elif options is not None:
            ts = T.number(options, 0, 64)
        if ts is not None:
            self._check_timestamp(ts)
        for i in range(blocks):
            self.node.mine(ts if i == 0 else None)

    def mine_detailed(self, options: Any = None) -> list[dict[str, Any]]:
        """evm_mine's work, answering the blocks sealed (with their transactions), as anvil's
        anvil_mine_detailed does."""
        head = self.node.head().number
        self.evm_mine(options)
        return [
            block_json(self.node, self.node.canonical_header(n), True)
            for n in range(head + 1, self.node.head().number + 1)
        ]

    def _check_timestamp(self, ts: int) -> None:
        head = self.node.head()
        if ts <= head.timestamp:
            raise ServerError(f"Timestamp error: {ts} is lower than or equal to previous block's timestamp")

    def mine_blocks(self, blocks: Any = None, interval: Any = None) -> None:
        """anvil_mine / hardhat_mine: `blocks` (default 1) blocks, each `interval` seconds (default 1) after
        the one before; the first at the clock's time."""
        n = 1 if blocks is None else T.number(blocks, 0, 32)
        step = 1 if interval is None else T.number(interval, 1, 32)
        if n == 0:
            raise InvalidParams("invalid argument 0: the number of blocks must be at least 1")
        if n > MAX_MINE_BLOCKS:
            raise InvalidParams(f"invalid argument 0: at most {MAX_MINE_BLOCKS} blocks at once")
        ts = None
        for _i in range(n):
            mined = self.node.mine(ts)
            ts = mined.block.header.timestamp + step if step else mined.block.header.timestamp + 1

    # -- state edits ----------------------------------------------------------------------------------------
    def set_balance(self, address: Any, value: Any) -> None:
        a, v = T.address(address, 0), T.number(value, 1)
        self.dev.edit_state(lambda s: s.set_balance(a, v))

    def set_code(self, address: Any, code: Any) -> None:
        a, c = T.address(address, 0), T.data(code, 1)
        self.dev.edit_state(lambda s: s.set_code(a, c))

    def set_nonce(self, address: Any, nonce: Any) -> None:
        a, n = T.address(address, 0), T.number(nonce, 1, 64)
        self.dev.edit_state(lambda s: s.set_nonce(a, n))

    def set_storage_at(self, address: Any, slot: Any, value: Any) -> None:
        a, k = T.address(address, 0), T.number(slot, 1)
        if isinstance(value, str) and value.startswith(("0x", "0X")) and len(value) == 66:
            v = int.from_bytes(T.hash32(value, 2), "big")
        else:  # Hardhat wants 32 bytes; anvil takes a B256 only, but a number is unambiguous
            v = T.number(value, 2)

        def edit(state) -> None:
            if not state.account_exists(a):
                state.touch(a)
            state.set_storage(a, k, v)

        self.dev.edit_state(edit)

    def set_coinbase(self, address: Any) -> None:
        self.dev.settings.coinbase = T.address(address, 0)

    def set_next_base_fee(self, fee: Any) -> None:
        self.dev.settings.next_base_fee = T.number(fee, 0)

    # -- impersonation --------------------------------------------------------------------------------------
    def impersonate(self, address: Any) -> None:
        self.dev.settings.impersonated.add(T.address(address, 0))

    def stop_impersonating(self, address: Any) -> None:
        self.dev.settings.impersonated.discard(T.address(address, 0))

    def auto_impersonate(self, on: Any) -> None:
        self.dev.settings.auto_impersonate = T.boolean(on, 0)

    # -- pool -----------------------------------------------------------------------------------------------
    def drop_transaction(self, tx_hash: Any) -> str | None:
        h = T.hash32(tx_hash, 0)
        if h not in self.node.pool:
            return None
        self.node.pool.remove(h)
        return "0x" + h.hex()

    def hardhat_drop_transaction(self, tx_hash: Any) -> bool:
        return self.drop_transaction(tx_hash) is not None

    def drop_all_transactions(self) -> None:
        self.node.pool.clear()

    def remove_pool_transactions(self, address: Any) -> None:
        self.node.pool.drop_sender_from(T.address(address, 0), 0)

    def send_unsigned_transaction(self, args: Any) -> str:
        """anvil's eth_sendUnsignedTransaction: sent as `from` without its key (impersonated for this one)."""
        if not isinstance(args, dict) or args.get("from") is None:
            raise InvalidParams('invalid argument 0: expected a transaction object with "from"')
        sender = T.address(args["from"], 0)
        tx = self.calls.transaction_from_args(args, self.node.head(), sign=True)
        self.dev.placeholder_sign(tx, sender)
        return "0x" + self.node.submit(tx).hex()

    def rollback(self, depth: Any = None) -> None:
        """anvil_rollback: drop the last `depth` blocks (default 1)."""
        n = 1 if depth is None else T.number(depth, 0, 64)
        head = self.node.head()
        if n > head.number:
            raise ServerError(f"cannot roll back {n} blocks: the head is block {head.number}")
        self.dev.rewind(self.node.canonical_header(head.number - n))
        self.node.pool.reset(self.node.pool_state())

    # -- reset, dumps ---------------------------------------------------------------------------------------
    def reset(self, options: Any = None) -> None:
        if isinstance(options, dict) and any(options.get(k) for k in ("forking", "jsonRpcUrl", "blockNumber")):
            raise InvalidParams('forking is not supported by this node (reset without "forking" only)')
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 0: expected a reset options object")
        self.dev.reset()

    def dump_state(self, preserve_history: Any = None) -> str:
        return statedump.dump_bytes(self.node)

    def load_state(self, blob: Any) -> None:
        statedump.load(self.node, statedump.parse(T.data(blob, 0)))

    # -- node information -----------------------------------------------------------------------------------
    def node_info(self) -> dict[str, Any]:
        head = self.node.head()
        rules = self.node.next_block_rules()
        fork = self.node.rules(head).fork
        return {
            "currentBlockNumber": hex(head.number),
            "currentBlockTimestamp": head.timestamp,
            "currentBlockHash": "0x" + head.hash.hex(),
            "hardFork": fork.name.lower(),
            "transactionOrder": "fees",
            "environment": {
                "baseFee": rules.base_fee,
                "chainId": self.node.chain_id,
                "gasLimit": rules.gas_limit,
                "gasPrice": rules.base_fee + 10**9,
            },
            "forkConfig": {"forkUrl": None, "forkBlockNumber": None, "forkRetryBackoff": None},
        }

    def metadata(self) -> dict[str, Any]:
        head = self.node.head()
        snaps = {}
        for sid, snap in self.dev.snapshots.items():
            h = self.node.header_by_hash(snap.head)
            snaps[str(sid)] = [h.number if h else None, "0x" + snap.head.hex()]
        return {
            "clientVersion": CLIENT_VERSION,
            "chainId": self.node.chain_id,
            "instanceId": "0x" + self.node.genesis_hash.hex(),
            "latestBlockNumber": head.number,
            "latestBlockHash": "0x" + head.hash.hex(),
            "forkedNetwork": None,
            "snapshots": snaps,
        }


_SAME = object()  # answer what the implementation returns
