"""The JSON-RPC methods: web3_*, net_*, eth_*, txpool_*, debug_trace* (trace.py does the tracing); `methods()`
adds the other topics: dev methods (dev.py), signing (signing.py), proofs (proof.py). Parameters are parsed as
geth does (types.py) and results shaped as geth gives them, so web3.py / ethers / curl scripts work unchanged."""
from __future__ import annotations

import os
import platform
import time
from typing import Any, Callable

from common import rlp
from common.keccak import keccak

from evm.blobs import GAS_PER_BLOB
from evm.host import create_address as contract_address
from evm.transactions import Authorization, Transaction, decode_transaction
from common.constants import EMPTY_CODE_HASH, EMPTY_ROOT, ZERO_ADDRESS
from state.journal import JournaledState

from ..blocks import Receipt, logs_bloom
from ..header import Header
from ..txpool import BlobSidecar
from . import types as T
from .chain import Chain
from .errors import ExecutionReverted, InvalidParams, ServerError
from .overrides import apply_overrides

CLIENT_VERSION = f"evm-mlir/v0.1.0/{platform.system().lower()}-{platform.machine()}/python{platform.python_version()}"
DEFAULT_TIP = 1_000_000_000  # 1 gwei: what the node suggests as priority fee when recent blocks say nothing
MAX_LOG_RANGE = 10_000
GAS_ESTIMATE_ERROR_RATIO = 0.015  # geth's estimateGasErrorRatio
FILTER_TIMEOUT = 300  # seconds an unpolled filter lives (geth: 5 minutes)

# Methods the server may run on its event loop while the chain thread seals (server.py): they read committed
# data only (blocks, receipts, lookups and the head land in one write batch; a state root read stays whole) or
# admit a raw transaction (the pool locks itself). Everything else (dev methods, filters, eth_sendTransaction,
# tracing, signing) runs on the chain thread, one at a time.
CONCURRENT_METHODS = frozenset({
    "web3_clientVersion", "web3_sha3", "net_version", "net_listening", "net_peerCount", "rpc_modules",
    "eth_chainId", "eth_networkId", "eth_blockNumber", "eth_syncing", "eth_mining", "eth_hashrate",
    "eth_coinbase", "eth_accounts", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_blobBaseFee",
    "eth_feeHistory", "eth_getBalance", "eth_getAccount", "eth_getTransactionCount", "eth_getCode",
    "eth_getStorageAt", "eth_getProof", "eth_getBlockByNumber", "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber", "eth_getBlockTransactionCountByHash", "eth_getUncleCountByBlockNumber",
    "eth_getUncleCountByBlockHash", "eth_getUncleByBlockNumberAndIndex", "eth_getUncleByBlockHashAndIndex",
    "eth_getBlockReceipts", "eth_getTransactionByHash", "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex", "eth_getRawTransactionByHash", "debug_getRawTransaction",
    "eth_getRawTransactionByBlockNumberAndIndex", "eth_getRawTransactionByBlockHashAndIndex",
    "eth_getTransactionReceipt", "eth_call", "eth_estimateGas", "eth_createAccessList", "eth_getLogs",
    "eth_sendRawTransaction",
})


def _hx(n: int) -> str:
    return hex(n)


def _hb(b: bytes) -> str:
    return "0x" + b.hex()


# -- formatting ---------------------------------------------------------------------------------------------

def effective_gas_price(tx: Transaction, base_fee: int | None) -> int:
    if tx.type >= 2:
        if base_fee is None:
            return tx.max_fee_per_gas
        return base_fee + min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)
    return tx.gas_price


def format_tx(tx: Transaction, header: Header | None = None, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "blockHash": _hb(header.hash) if header else None,
        "blockNumber": _hx(header.number) if header else None,
        "from": T.checksum(tx.recover_sender()),
        "gas": _hx(tx.gas),
        "gasPrice": _hx(effective_gas_price(tx, header.base_fee_per_gas if header else None)),
        "hash": _hb(tx.hash),
        "input": _hb(tx.data),
        "nonce": _hx(tx.nonce),
        "to": T.checksum(tx.to) if tx.to is not None else None,
        "transactionIndex": _hx(index) if index is not None else None,
        "value": _hx(tx.value),
        "type": _hx(tx.type),
        "v": _hx(tx.v),
        "r": _hx(tx.r),
        "s": _hx(tx.s),
    }
    if tx.chain_id is not None:
        out["chainId"] = _hx(tx.chain_id)
    if tx.type >= 1:
        out["accessList"] = [{"address": T.checksum(a), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in slots]}
                             for a, slots in tx.access_list]
        out["yParity"] = _hx(tx.v)
    if tx.type >= 2:
        out["maxFeePerGas"] = _hx(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = _hx(tx.max_priority_fee_per_gas)
    if tx.type == 3:
        out["maxFeePerBlobGas"] = _hx(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [_hb(h) for h in tx.blob_versioned_hashes]
    if tx.type == 4:
        out["authorizationList"] = [
            {"chainId": _hx(a.chain_id), "address": T.checksum(a.address), "nonce": _hx(a.nonce),
             "yParity": _hx(a.y_parity), "r": _hx(a.r), "s": _hx(a.s)} for a in tx.authorizations]
    return out


def format_log(log: tuple, header: Header, tx_hash: bytes, tx_index: int, log_index: int) -> dict[str, Any]:
    address, topics, data = log
    return {
        "address": T.checksum(address),
        "topics": [_hb(t) for t in topics],
        "data": _hb(data),
        "blockNumber": _hx(header.number),
        "blockHash": _hb(header.hash),
        "blockTimestamp": _hx(header.timestamp),
        "transactionHash": _hb(tx_hash),
        "transactionIndex": _hx(tx_index),
        "logIndex": _hx(log_index),
        "removed": False,
    }


class Api:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.filters: dict[str, dict[str, Any]] = {}

    def methods(self) -> dict[str, Callable[..., Any]]:
        """Every RPC method of the node, by topic: this module's (web3, net, eth, txpool, debug) and the dev
        methods (evm, anvil, hardhat; dev.py)."""
        from .dev import DevApi
        from .proof import eth_get_proof
        from .signing import SigningApi

        own = {name: getattr(self, name) for name in dir(self)
               if name.split("_", 1)[0] in ("web3", "net", "eth", "debug", "txpool")
               and callable(getattr(self, name))}
        own.update(DevApi(self).methods())
        own.update(SigningApi(self).methods())
        own["eth_getProof"] = lambda address, keys, block=None: eth_get_proof(self, address, keys, block)
        own["rpc_modules"] = self.rpc_modules
        own["eth_networkId"] = self.net_version  # anvil's names for these two
        own["eth_requestAccounts"] = self.eth_accounts
        return own

    def rpc_modules(self) -> dict[str, str]:
        return {name: "1.0" for name in ("anvil", "debug", "eth", "evm", "hardhat", "net", "personal", "rpc",
                                         "txpool", "web3")}

    # -- helpers ------------------------------------------------------------------------------------------------
    def _call_header(self, v: Any, i: int, default: str = "latest") -> Header:
        """The block a call runs on: "pending" (eth_estimateGas's default, as in Hardhat and anvil) is the next
        block as it would be sealed now (number, timestamp after evm_increaseTime, base fee) on the head's state."""
        if (v is None and default == "pending") or v == "pending":
            return self.chain.pending_header()
        return self._header(v, i)

    def _header(self, v: Any, i: int) -> Header:
        return self.chain.resolve(T.block_id(v, i))

    def _state(self, v: Any, i: int):
        return self.chain.state(self._header(v, i))

    def _block_json(self, header: Header, full: bool) -> dict[str, Any]:
        block = self.chain.block(header)
        out = header.to_json(rpc=True)
        raw = self.chain.store.get_block_rlp(header.hash)  # stored as sealed: no need to encode it again
        out["size"] = _hx(len(raw) if raw is not None else len(block.encode()))
        out["totalDifficulty"] = _hx(0)
        out["uncles"] = []
        if full:
            out["transactions"] = [format_tx(tx, header, i) for i, tx in enumerate(block.transactions)]
        else:
            out["transactions"] = [_hb(tx.hash) for tx in block.transactions]
        if block.withdrawals is not None:
            out["withdrawals"] = [w.to_json() for w in block.withdrawals]
        return out

    def _receipt_json(self, header: Header, txs: list[Transaction], receipts: list[Receipt], i: int,
                      first_log_index: int) -> dict[str, Any]:
        tx, r = txs[i], receipts[i]
        prev = receipts[i - 1].cumulative_gas_used if i else 0
        sender = tx.recover_sender()
        out = {
            "transactionHash": _hb(tx.hash),
            "transactionIndex": _hx(i),
            "blockHash": _hb(header.hash),
            "blockNumber": _hx(header.number),
            "from": T.checksum(sender),
            "to": T.checksum(tx.to) if tx.to is not None else None,
            "cumulativeGasUsed": _hx(r.cumulative_gas_used),
            "gasUsed": _hx(r.cumulative_gas_used - prev),
            "effectiveGasPrice": _hx(effective_gas_price(tx, header.base_fee_per_gas)),
            "contractAddress": T.checksum(contract_address(sender, tx.nonce)) if tx.to is None else None,
            "logs": [format_log(lg, header, tx.hash, i, first_log_index + k) for k, lg in enumerate(r.logs)],
            "logsBloom": _hb(r.bloom),
            "type": _hx(tx.type),
            "status": _hx(1 if r.succeeded else 0),
        }
        if tx.type == 3:
            out["blobGasUsed"] = _hx(len(tx.blob_versioned_hashes) * GAS_PER_BLOB)
            out["blobGasPrice"] = _hx(self.chain.blob_base_fee(header))
        return out

    def _block_receipts(self, header: Header) -> list[dict[str, Any]]:
        txs = self.chain.block(header).transactions
        receipts = self.chain.receipts(header)
        out, log_index = [], 0
        for i in range(len(txs)):
            out.append(self._receipt_json(header, txs, receipts, i, log_index))
            log_index += len(receipts[i].logs)
        return out

    # -- web3 / net ---------------------------------------------------------------------------------------------
    def web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    def web3_sha3(self, data: Any) -> str:
        return _hb(keccak(T.data(data, 0)))

    def net_version(self) -> str:
        return str(self.chain.chain_id)

    def net_listening(self) -> bool:
        return True

    def net_peerCount(self) -> str:
        return "0x0"

    # -- chain --------------------------------------------------------------------------------------------------
    def eth_chainId(self) -> str:
        return _hx(self.chain.chain_id)

    def eth_blockNumber(self) -> str:
        return _hx(self.chain.head().number)

    def eth_syncing(self) -> bool:
        return False

    def eth_mining(self) -> bool:
        s = self.chain.dev.settings
        return s.automine or s.interval > 0

    def eth_hashrate(self) -> str:
        return "0x0"

    def eth_coinbase(self) -> str:
        return T.checksum(self.chain.dev.settings.coinbase)

    def eth_accounts(self) -> list[str]:
        """The dev accounts, then the impersonated ones (as anvil lists them: ethers' getSigner(address) looks
        the address up here)."""
        out = list(self.chain.dev_keys)
        out += [a for a in sorted(self.chain.dev.settings.impersonated) if a not in self.chain.dev_keys]
        return [T.checksum(a) for a in out]

    # -- state --------------------------------------------------------------------------------------------------
    def eth_getBalance(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        acc = self._state(block, 1).get_account(a)
        return _hx(acc.balance if acc else 0)

    def eth_getAccount(self, address: Any, block: Any = None) -> dict[str, str]:
        """The account's trie entry (geth's and anvil's eth_getAccount): nonce, balance, codeHash, storageRoot."""
        acc = self._state(block, 1).get_account(T.address(address, 0))
        return {"nonce": _hx(acc.nonce if acc else 0), "balance": _hx(acc.balance if acc else 0),
                "codeHash": _hb(acc.code_hash if acc else EMPTY_CODE_HASH),
                "storageRoot": _hb(acc.storage_root if acc else EMPTY_ROOT)}

    def eth_getTransactionCount(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        bid = T.block_id(block, 1)
        acc = self.chain.state(self.chain.resolve(bid)).get_account(a)
        nonce = acc.nonce if acc else 0
        if bid == ("tag", "pending"):
            nonce = self.chain.pool.next_nonce(a, nonce)
        return _hx(nonce)

    def eth_getCode(self, address: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        db = self._state(block, 1)
        acc = db.get_account(a)
        return _hb(db.get_code(acc.code_hash) if acc else b"")

    def eth_getStorageAt(self, address: Any, slot: Any, block: Any = None) -> str:
        a = T.address(address, 0)
        key = T.storage_key(slot, 1)
        value = self._state(block, 2).get_storage(a, key)
        return "0x" + value.to_bytes(32, "big").hex()

    # -- blocks -------------------------------------------------------------------------------------------------
    def eth_getBlockByNumber(self, block: Any, full: Any = False) -> dict | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        return self._block_json(header, T.boolean(full, 1)) if header else None

    def eth_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict | None:
        header = self.chain.header_by_hash(T.hash32(block_hash, 0))
        return self._block_json(header, T.boolean(full, 1)) if header else None

    def eth_getBlockTransactionCountByNumber(self, block: Any) -> str | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        return _hx(len(self.chain.block(header).transactions)) if header else None

    def eth_getBlockTransactionCountByHash(self, block_hash: Any) -> str | None:
        header = self.chain.header_by_hash(T.hash32(block_hash, 0))
        return _hx(len(self.chain.block(header).transactions)) if header else None

    def eth_getUncleCountByBlockNumber(self, block: Any) -> str | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        return "0x0" if header else None

    def eth_getUncleCountByBlockHash(self, block_hash: Any) -> str | None:
        return "0x0" if self.chain.header_by_hash(T.hash32(block_hash, 0)) else None

    def eth_getBlockReceipts(self, block: Any) -> list | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        return self._block_receipts(header) if header else None

    # -- transactions -------------------------------------------------------------------------------------------
    def eth_getTransactionByHash(self, tx_hash: Any) -> dict | None:
        h = T.hash32(tx_hash, 0)
        loc = self.chain.tx_location(h)
        if loc is not None:
            header, i = loc
            return format_tx(self.chain.block(header).transactions[i], header, i)
        tx = self.chain.pool.get(h)
        return format_tx(tx) if tx is not None else None

    def eth_getTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> dict | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        i = T.quantity(index, 1, 64)
        if header is None:
            return None
        txs = self.chain.block(header).transactions
        return format_tx(txs[i], header, i) if i < len(txs) else None

    def eth_getTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> dict | None:
        header = self.chain.header_by_hash(T.hash32(block_hash, 0))
        i = T.quantity(index, 1, 64)
        if header is None:
            return None
        txs = self.chain.block(header).transactions
        return format_tx(txs[i], header, i) if i < len(txs) else None

    def eth_getRawTransactionByHash(self, tx_hash: Any) -> str | None:
        h = T.hash32(tx_hash, 0)
        loc = self.chain.tx_location(h)
        if loc is not None:
            header, i = loc
            return _hb(self.chain.block(header).transactions[i].encode())
        tx = self.chain.pool.get(h)
        return _hb(tx.encode()) if tx is not None else None

    def debug_getRawTransaction(self, tx_hash: Any) -> str | None:
        return self.eth_getRawTransactionByHash(tx_hash)

    def eth_getRawTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> str | None:
        header = self.chain.resolve(T.block_id(block, 0), required=False)
        return self._raw_at(header, T.quantity(index, 1, 64))

    def eth_getRawTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> str | None:
        header = self.chain.header_by_hash(T.hash32(block_hash, 0))
        return self._raw_at(header, T.quantity(index, 1, 64))

    def _raw_at(self, header: Header | None, i: int) -> str | None:
        if header is None:
            return None
        txs = self.chain.block(header).transactions
        return _hb(txs[i].encode()) if i < len(txs) else None

    def eth_getUncleByBlockNumberAndIndex(self, block: Any, index: Any) -> None:
        T.block_id(block, 0), T.quantity(index, 1, 64)
        return None  # no uncles after the Merge

    def eth_getUncleByBlockHashAndIndex(self, block_hash: Any, index: Any) -> None:
        T.hash32(block_hash, 0), T.quantity(index, 1, 64)
        return None

    def eth_getTransactionReceipt(self, tx_hash: Any) -> dict | None:
        h = T.hash32(tx_hash, 0)
        loc = self.chain.tx_location(h)
        if loc is None:
            return None
        header, i = loc
        txs = self.chain.block(header).transactions
        receipts = self.chain.receipts(header)
        first = sum(len(r.logs) for r in receipts[:i])
        return self._receipt_json(header, txs, receipts, i, first)

    def eth_sendRawTransaction(self, raw: Any) -> str:
        data = T.data(raw, 0)
        tx, size, sidecar = decode_network_transaction(data)
        return _hb(self.chain.submit(tx, size, sidecar))

    def eth_sendTransaction(self, args: Any) -> str:
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction object")
        sender = T.address(args.get("from"), 0) if args.get("from") is not None else None
        if sender is None:
            raise ServerError("missing from address")
        key = self.chain.dev_keys.get(sender)
        if key is None and not self.chain.dev.is_impersonated(sender):
            raise ServerError("unknown account")
        head = self.chain.head()
        tx = self._tx_from_args(args, head, sign=True)
        if key is not None:
            tx.sign(key)
        else:  # anvil_impersonateAccount: no key, a placeholder signature and the sender recorded
            self.chain.dev.placeholder_sign(tx, sender)
        return _hb(self.chain.submit(tx))

    # -- fees ---------------------------------------------------------------------------------------------------
    def _suggest_tip(self) -> int:
        """The 60th percentile of the effective tips of the last 20 blocks' transactions, at least 1 wei,
        DEFAULT_TIP when there are none (a simplified geth gas price oracle)."""
        head = self.chain.head()
        tips = []
        n = head.number
        while n > 0 and n > head.number - 20 and len(tips) < 500:
            header = self.chain.header_by_number(n)
            base = header.base_fee_per_gas or 0
            for tx in self.chain.block(header).transactions:
                tips.append(effective_gas_price(tx, base) - base)
            n -= 1
        if not tips:
            return DEFAULT_TIP
        tips.sort()
        return max(1, tips[(len(tips) - 1) * 60 // 100])

    def eth_maxPriorityFeePerGas(self) -> str:
        return _hx(self._suggest_tip())

    def eth_gasPrice(self) -> str:
        return _hx(self.chain.next_block_rules().base_fee + self._suggest_tip())

    def eth_blobBaseFee(self) -> str:
        return _hx(self.chain.blob_base_fee(self.chain.head()))

    def eth_feeHistory(self, count: Any, newest: Any, percentiles: Any = None) -> dict[str, Any]:
        if isinstance(count, int) and not isinstance(count, bool):
            n = count
        else:
            n = T.quantity(count, 0, 64)
        if n < 1:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        n = min(n, 1024)
        last = self.chain.resolve(T.block_id(newest, 1))
        if percentiles is not None:
            if not isinstance(percentiles, list) or any(not isinstance(p, (int, float)) or isinstance(p, bool)
                                                        for p in percentiles):
                raise InvalidParams("invalid argument 2: expected an array of numbers")
            if any(p < 0 or p > 100 for p in percentiles) or any(b < a for a, b in zip(percentiles, percentiles[1:])):
                raise InvalidParams(f"invalid reward percentile: {percentiles}")
        oldest = max(0, last.number - n + 1)
        from ..miner import next_base_fee, next_excess_blob_gas_for

        base_fees, ratios, blob_fees, blob_ratios, rewards = [], [], [], [], []
        header = None
        for num in range(oldest, last.number + 1):
            header = self.chain.header_by_number(num)
            base_fees.append(_hx(header.base_fee_per_gas or 0))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0)
            blob_fees.append(_hx(self.chain.blob_base_fee(header)))
            sched = self.chain.rules(header).blob_schedule
            blob_ratios.append((header.blob_gas_used or 0) / sched.max_blob_gas if sched else 0)
            if percentiles is not None:
                rewards.append(self._rewards(header, percentiles))
        base_fees.append(_hx(next_base_fee(self.chain.config, header)))
        nxt = Header(number=header.number + 1, timestamp=header.timestamp + 1,
                     excess_blob_gas=next_excess_blob_gas_for(self.chain.config, header, header.number + 1,
                                                              header.timestamp + 1))
        blob_fees.append(_hx(self.chain.blob_base_fee(nxt)))
        out = {"oldestBlock": _hx(oldest), "baseFeePerGas": base_fees, "gasUsedRatio": ratios,
               "baseFeePerBlobGas": blob_fees, "blobGasUsedRatio": blob_ratios}
        if percentiles is not None:
            out["reward"] = rewards
        return out

    def _rewards(self, header: Header, percentiles: list) -> list[str]:
        txs = self.chain.block(header).transactions
        if not txs:
            return ["0x0"] * len(percentiles)
        receipts = self.chain.receipts(header)
        base = header.base_fee_per_gas or 0
        items = []
        prev = 0
        for tx, r in zip(txs, receipts):
            items.append((effective_gas_price(tx, base) - base, r.cumulative_gas_used - prev))
            prev = r.cumulative_gas_used
        items.sort()
        out = []
        total = header.gas_used
        for p in percentiles:
            threshold = total * p / 100
            acc, i = items[0][1], 0
            while acc < threshold and i < len(items) - 1:
                i += 1
                acc += items[i][1]
            out.append(_hx(items[i][0]))
        return out

    # -- calls --------------------------------------------------------------------------------------------------
    def _tx_from_args(self, args: dict, header: Header, sign: bool = False,
                      state: JournaledState | None = None, gas_cap: int | None = None) -> Transaction:
        """A Transaction from geth's TransactionArgs. For calls the sender goes in `tx.sender` (no
        signature); for eth_sendTransaction missing fields are filled in as geth does."""
        def opt(name: str, parse=T.quantity):
            v = args.get(name)
            return None if v is None else parse(v, 0)

        sender = opt("from", T.address) or ZERO_ADDRESS
        to = opt("to", T.address)
        data_in, input_in = args.get("data"), args.get("input")
        if data_in is not None and input_in is not None and data_in != input_in:
            raise InvalidParams('both "data" and "input" are set and not equal. Please use "input" to pass '
                                'transaction call data')
        payload = T.data(input_in if input_in is not None else data_in, 0) if (input_in or data_in) is not None else b""
        value = opt("value") or 0
        gas_price, max_fee, tip = opt("gasPrice"), opt("maxFeePerGas"), opt("maxPriorityFeePerGas")
        if gas_price is not None and (max_fee is not None or tip is not None):
            raise InvalidParams("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
        access_list = ()
        if args.get("accessList") is not None:
            access_list = _parse_access_list(args["accessList"])
        auths = ()
        if args.get("authorizationList") is not None:
            auths = _parse_authorizations(args["authorizationList"])
        blob_hashes_in = args.get("blobVersionedHashes") or []
        if not isinstance(blob_hashes_in, list):
            raise InvalidParams("invalid argument 0: blobVersionedHashes must be an array")
        blob_hashes = tuple(T.hash32(h, 0) for h in blob_hashes_in)
        tx_type = opt("type")
        if tx_type is not None and tx_type not in (0, 1, 2, 3, 4):
            raise InvalidParams(f"invalid argument 0: transaction type {tx_type} not supported")
        if tx_type is None:
            if auths:
                tx_type = 4
            elif blob_hashes:
                tx_type = 3
            elif gas_price is not None:
                tx_type = 1 if access_list else 0
            else:
                tx_type = 2
        chain_id = self.chain.chain_id
        if sign:
            base = self.chain.next_block_rules().base_fee
            if tx_type >= 2:
                if tip is None:
                    tip = self._suggest_tip()
                if max_fee is None:
                    max_fee = 2 * base + tip
                tip = min(tip, max_fee)
            elif gas_price is None:
                gas_price = base + self._suggest_tip()
            nonce = opt("nonce")
            if nonce is None:
                st = self.chain.pool_state()
                nonce = self.chain.pool.next_nonce(sender, st.nonce(sender))
        else:
            nonce = state.get_nonce(sender) if state is not None else 0
        tx = Transaction(type=tx_type, chain_id=chain_id, nonce=nonce, gas_price=gas_price or 0,
                         max_priority_fee_per_gas=tip or 0, max_fee_per_gas=max_fee or 0, gas=0, to=to,
                         value=value, data=payload, access_list=access_list,
                         max_fee_per_blob_gas=opt("maxFeePerBlobGas") or 0, blob_versioned_hashes=blob_hashes,
                         authorizations=auths)
        gas = gas_cap if gas_cap is not None else opt("gas")
        if gas is None:
            if sign:
                est_args = dict(args)
                est_args.pop("gas", None)
                gas = self._estimate(est_args, self.chain.pending_header(), None)
            else:
                gas = gas_cap if gas_cap is not None else self.chain.call_gas_cap(header)
        tx.gas = gas
        if not sign:
            tx.sender = sender
        return tx

    def _run_call(self, args: Any, header: Header, gas: int | None = None, overrides: Any = None,
                  access_list: tuple | None = None):
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        state = JournaledState(self.chain.state(header))
        if overrides is not None:
            apply_overrides(state, overrides)
        tx = self._tx_from_args(args, header, state=state, gas_cap=gas)
        if access_list is not None:
            tx.access_list = access_list
            if tx.type == 0:
                tx.type = 1
        no_fees = tx.gas_price == 0 and tx.max_fee_per_gas == 0 and tx.max_priority_fee_per_gas == 0
        result, state = self.chain.simulate(tx, header, no_fees, state=state)
        return tx, result, state

    def eth_call(self, args: Any, block: Any = None, overrides: Any = None, block_overrides: Any = None) -> str:
        header = self._call_header(block, 1)
        _, result, _ = self._run_call(args, header, overrides=overrides)
        if result.status == "revert":
            raise ExecutionReverted(result.output)
        if result.status == "error":
            raise ServerError(_vm_error(result.error))
        return _hb(result.output)

    def _estimate(self, args: dict, header: Header, overrides: Any) -> int:
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        cap = self.chain.call_gas_cap(header)
        hi = cap
        if args.get("gas") is not None:
            hi = min(T.quantity(args["gas"], 0, 64), cap) if T.quantity(args["gas"], 0, 64) >= 21000 else hi
        # With a fee cap, the sender's balance bounds the gas it can pay for (geth).
        fee = args.get("gasPrice") or args.get("maxFeePerGas")
        if fee is not None:
            fee_cap = T.quantity(fee, 0)
            if fee_cap:
                sender = T.address(args["from"], 0) if args.get("from") else ZERO_ADDRESS
                acc = self.chain.state(header).get_account(sender)
                available = (acc.balance if acc else 0) - (T.quantity(args["value"], 0) if args.get("value") else 0)
                if available < 0:
                    raise ServerError("insufficient funds for transfer")
                hi = min(hi, available // fee_cap)

        def attempt(gas: int):
            try:
                _, result, _ = self._run_call(args, header, gas=gas, overrides=overrides)
            except ServerError as exc:
                if "intrinsic gas too low" in exc.message or "floor data gas" in exc.message:
                    return False, None
                raise
            return result.status == "success", result

        # geth's shortcut: a plain transfer to an account without code costs exactly the intrinsic gas
        to = T.address(args["to"], 0) if args.get("to") is not None else None
        payload = args.get("input") or args.get("data")
        if to is not None and not payload and not args.get("accessList") and not args.get("authorizationList"):
            acc = self.chain.state(header).get_account(to)
            if acc is None or acc.code_hash == EMPTY_CODE_HASH:
                ok, result = attempt(21000)
                if ok:
                    return 21000
        ok, result = attempt(hi)
        if not ok:
            if result is None:
                raise ServerError(f"gas required exceeds allowance ({hi})")
            if result.status == "revert":
                raise ExecutionReverted(result.output)
            if result.error in ("OutOfGas", "out of gas"):
                raise ServerError(f"gas required exceeds allowance ({hi})")
            raise ServerError(_vm_error(result.error))
        used = result.gas_used + result.gas_refunded
        lo = max(used - 1, 20999)
        # what the run consumed before refunds is a lower bound; it is often enough (no 63/64 headroom needed)
        if lo < used < hi:
            ok, _ = attempt(used)
            if ok:
                return used
            lo = used
        # geth's optimistic first guess: what was used plus the 63/64 headroom of nested calls
        optimistic = min((used + 2300) * 64 // 63, hi)
        if lo < optimistic < hi:
            ok, _ = attempt(optimistic)
            if ok:
                hi = optimistic
            else:
                lo = optimistic
        while lo + 1 < hi:
            if (hi - lo) / hi < GAS_ESTIMATE_ERROR_RATIO:
                break
            mid = (lo + hi) // 2
            if mid > lo * 2:
                mid = lo * 2  # geth: most transactions need little, keep the search near the bottom
            ok, _ = attempt(mid)
            if ok:
                hi = mid
            else:
                lo = mid
        return hi

    def eth_estimateGas(self, args: Any, block: Any = None, overrides: Any = None) -> str:
        header = self._call_header(block, 1, default="pending")
        return _hx(self._estimate(args, header, overrides))

    def eth_createAccessList(self, args: Any, block: Any = None) -> dict[str, Any]:
        header = self._call_header(block, 1)
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        access: tuple = ()
        if args.get("accessList") is not None:
            access = _parse_access_list(args["accessList"])
        from evm.precompiles import precompiles_for

        excluded = set(precompiles_for(self.chain.rules(header).evm))
        result = None
        for _ in range(4):
            tx, result, state = self._run_call(args, header, access_list=access)
            sender = tx.sender
            excluded_here = excluded | {sender, header.coinbase}
            excluded_here.add(tx.to if tx.to is not None else contract_address(sender, tx.nonce))
            slots: dict[bytes, set[int]] = {}
            warm_addresses, warm_slots = state.accessed()
            for a in warm_addresses:
                if a not in excluded_here:
                    slots.setdefault(a, set())
            for a, s in warm_slots:
                if a not in excluded_here or a == tx.to:
                    slots.setdefault(a, set()).add(s)
            new = tuple((a, tuple(sorted(s))) for a, s in sorted(slots.items()))
            if new == access:
                break
            access = new
        out: dict[str, Any] = {
            "accessList": [{"address": T.checksum(a), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in ss]}
                           for a, ss in access],
            "gasUsed": _hx(result.gas_used),
        }
        if result.status == "revert":
            out["error"] = ExecutionReverted(result.output).message
        elif result.status == "error":
            out["error"] = _vm_error(result.error)
        return out

    # -- logs ---------------------------------------------------------------------------------------------------
    def _log_criteria(self, flt: Any) -> dict[str, Any]:
        if not isinstance(flt, dict):
            raise InvalidParams("invalid argument 0: expected a filter object")
        crit = {"addresses": _parse_addresses(flt.get("address")), "topics": _parse_topics(flt.get("topics")),
                "blockHash": None, "fromBlock": None, "toBlock": None}
        if flt.get("blockHash") is not None:
            if flt.get("fromBlock") is not None or flt.get("toBlock") is not None:
                raise InvalidParams("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, "
                                    "choose one or the other")
            crit["blockHash"] = T.hash32(flt["blockHash"], 0)
        else:
            crit["fromBlock"] = T.block_id(flt.get("fromBlock"), 0)
            crit["toBlock"] = T.block_id(flt.get("toBlock"), 0)
        return crit

    def _range(self, crit: dict[str, Any], first: int | None = None) -> list[Header] | Any:
        """The headers a criteria covers (from `first` on, for filter polls)."""
        if crit["blockHash"] is not None:
            header = self.chain.header_by_hash(crit["blockHash"])
            if header is None:
                raise ServerError("unknown block")
            return [header]
        head = self.chain.head()
        frm = self.chain.resolve(crit["fromBlock"], required=False)
        to = self.chain.resolve(crit["toBlock"], required=False)
        if frm is None:
            return []
        start = frm.number if first is None else max(first, frm.number)
        last = to.number if to else head.number
        if first is None and frm.number > last and to is not None:
            raise ServerError("invalid block range params")
        if last - start + 1 > MAX_LOG_RANGE:
            raise ServerError(f"block range greater than {MAX_LOG_RANGE} max")
        return (self.chain.header_by_number(n) for n in range(start, last + 1))

    def _logs(self, crit: dict[str, Any], headers) -> list[dict[str, Any]]:
        addresses, topics = crit["addresses"], crit["topics"]
        out: list[dict[str, Any]] = []
        for header in headers:
            if header is None or not _bloom_may_match(header.logs_bloom, addresses, topics):
                continue
            txs = self.chain.block(header).transactions
            receipts = self.chain.receipts(header)
            log_index = 0
            for i, r in enumerate(receipts):
                for lg in r.logs:
                    if _log_matches(lg, addresses, topics):
                        out.append(format_log(lg, header, txs[i].hash, i, log_index))
                    log_index += 1
        return out

    def eth_getLogs(self, flt: Any) -> list[dict[str, Any]]:
        crit = self._log_criteria(flt)
        return self._logs(crit, self._range(crit))

    # -- filters (polled with eth_getFilterChanges; idle ones expire after 5 minutes, as in geth) ---------
    def _new_filter(self, kind: str, **data: Any) -> str:
        self._expire_filters()
        fid = "0x" + os.urandom(16).hex()
        self.filters[fid] = {"kind": kind, "seen": time.monotonic(), **data}
        return fid

    def _expire_filters(self) -> None:
        now = time.monotonic()
        for fid in [f for f, v in self.filters.items() if now - v["seen"] > FILTER_TIMEOUT]:
            del self.filters[fid]

    def _filter(self, fid: Any) -> dict[str, Any]:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id must be a string")
        self._expire_filters()
        f = self.filters.get(fid.lower())
        if f is None:
            raise ServerError("filter not found")
        f["seen"] = time.monotonic()
        return f

    def eth_newFilter(self, flt: Any) -> str:
        crit = self._log_criteria(flt)
        return self._new_filter("logs", crit=crit, next=self.chain.head().number + 1)

    def eth_newBlockFilter(self) -> str:
        return self._new_filter("blocks", next=self.chain.head().number + 1)

    def eth_newPendingTransactionFilter(self, full: Any = False) -> str:
        return self._new_filter("pending", next=self.chain.tx_seq, full=bool(full))

    def eth_uninstallFilter(self, fid: Any) -> bool:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id must be a string")
        return self.filters.pop(fid.lower(), None) is not None

    def eth_getFilterLogs(self, fid: Any) -> list[dict[str, Any]]:
        f = self._filter(fid)
        if f["kind"] != "logs":
            raise ServerError("filter not found")
        return self._logs(f["crit"], self._range(f["crit"]))

    def eth_getFilterChanges(self, fid: Any) -> list:
        f = self._filter(fid)
        head = self.chain.head().number
        if f["kind"] == "blocks":
            out = [_hb(self.chain.header_by_number(n).hash) for n in range(f["next"], head + 1)]
            f["next"] = head + 1
            return out
        if f["kind"] == "pending":
            hashes = self.chain.tx_hashes_since(f["next"])
            f["next"] = self.chain.tx_seq
            return [_hb(h) for h in hashes]
        first = f["next"]
        f["next"] = head + 1
        if first > head or f["crit"]["blockHash"] is not None:
            return []
        return self._logs(f["crit"], self._range(f["crit"], first))

    # -- txpool -------------------------------------------------------------------------------------------------
    def txpool_status(self) -> dict[str, str]:
        st = self.chain.pool_state()
        queued = self.chain.pool.queued_count(st)
        return {"pending": _hx(len(self.chain.pool) - queued), "queued": _hx(queued)}

    def txpool_content(self) -> dict[str, Any]:
        pending, queued = self.chain.pool.content(self.chain.pool_state())

        def fmt(group):
            return {T.checksum(s): {str(t.nonce): format_tx(t) for t in txs} for s, txs in group.items()}

        return {"pending": fmt(pending), "queued": fmt(queued)}

    def txpool_inspect(self) -> dict[str, Any]:
        """geth's one-line summaries: "to: value wei + gas gas × price wei" ("contract creation" for no to)."""
        pending, queued = self.chain.pool.content(self.chain.pool_state())

        def line(t: Transaction) -> str:
            to = T.checksum(t.to) if t.to is not None else "contract creation"
            price = t.max_fee_per_gas if t.type >= 2 else t.gas_price
            return f"{to}: {t.value} wei + {t.gas} gas × {price} wei"

        def fmt(group):
            return {T.checksum(s): {str(t.nonce): line(t) for t in txs} for s, txs in group.items()}

        return {"pending": fmt(pending), "queued": fmt(queued)}

    # -- debug --------------------------------------------------------------------------------------------------
    def debug_traceCall(self, args: Any, block: Any = None, options: Any = None) -> dict[str, Any]:
        from .trace import trace_call

        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 2: expected a trace config object")
        return trace_call(self, args, self._call_header(block, 1), options or {})

    def debug_traceBlockByNumber(self, block: Any, options: Any = None) -> list[dict[str, Any]]:
        from .trace import trace_block

        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        header = self._header(block, 0)
        if header.number == 0:
            raise ServerError("genesis is not traceable")
        return trace_block(self.chain, header, options or {})

    def debug_traceBlockByHash(self, block_hash: Any, options: Any = None) -> list[dict[str, Any]]:
        from .trace import trace_block

        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        header = self.chain.header_by_hash(T.hash32(block_hash, 0))
        if header is None:
            raise ServerError(f"block 0x{T.hash32(block_hash, 0).hex()} not found")
        if header.number == 0:
            raise ServerError("genesis is not traceable")
        return trace_block(self.chain, header, options or {})

    def debug_traceTransaction(self, tx_hash: Any, options: Any = None) -> dict[str, Any]:
        from .trace import trace_transaction

        h = T.hash32(tx_hash, 0)
        if options is not None and not isinstance(options, dict):
            raise InvalidParams("invalid argument 1: expected a trace config object")
        loc = self.chain.tx_location(h)
        if loc is None:
            raise ServerError("transaction not found")
        header, index = loc
        return trace_transaction(self.chain, header, index, options or {})


# -- parameter helpers --------------------------------------------------------------------------------------

def _vm_error(error: str | None) -> str:
    names = {"OutOfGas": "out of gas", "InvalidOpcode": "invalid opcode", "StackUnderflow": "stack underflow",
             "StackOverflow": "stack limit reached 1024", "InvalidJumpDestination": "invalid jump destination",
             "WriteInStaticContext": "write protection", "InsufficientBalance": "insufficient balance for transfer",
             "DepthLimit": "max call depth exceeded", "CodeSizeExceeded": "max code size exceeded",
             "InvalidContractPrefix": "invalid code: must not begin with 0xef", "AddressCollision": "contract address collision"}
    return names.get(error or "", error or "execution failed")


def _parse_access_list(v: Any) -> tuple:
    if not isinstance(v, list):
        raise InvalidParams("invalid argument 0: accessList must be an array")
    out = []
    for entry in v:
        if not isinstance(entry, dict):
            raise InvalidParams("invalid argument 0: access list entry must be an object")
        keys = entry.get("storageKeys") or []
        out.append((T.address(entry.get("address"), 0), tuple(int.from_bytes(T.hash32(k, 0), "big") for k in keys)))
    return tuple(out)


def _parse_authorizations(v: Any) -> tuple:
    if not isinstance(v, list):
        raise InvalidParams("invalid argument 0: authorizationList must be an array")
    out = []
    for a in v:
        if not isinstance(a, dict):
            raise InvalidParams("invalid argument 0: authorization must be an object")
        out.append(Authorization(T.quantity(a.get("chainId"), 0), T.address(a.get("address"), 0),
                                 T.quantity(a.get("nonce"), 0, 64), T.quantity(a.get("yParity"), 0, 8),
                                 T.quantity(a.get("r"), 0), T.quantity(a.get("s"), 0)))
    return tuple(out)


def _parse_addresses(v: Any) -> set[bytes] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return {T.address(v, 0)}
    if isinstance(v, list):
        return {T.address(a, 0) for a in v} or None
    raise InvalidParams("invalid argument 0: address must be a string or an array of strings")


def _parse_topics(v: Any) -> list[set[bytes] | None]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise InvalidParams("invalid argument 0: topics must be an array")
    if len(v) > 4:
        raise InvalidParams("invalid argument 0: too many topics (at most 4)")
    out: list[set[bytes] | None] = []
    for t in v:
        if t is None:
            out.append(None)
        elif isinstance(t, str):
            out.append({T.hash32(t, 0)})
        elif isinstance(t, list):
            s = {T.hash32(x, 0) for x in t if x is not None}
            out.append(s if s and None not in t else None)
        else:
            raise InvalidParams("invalid argument 0: topic must be a string, null or an array")
    return out


def _log_matches(lg: tuple, addresses: set[bytes] | None, topics: list) -> bool:
    address, log_topics, _ = lg
    if addresses is not None and address not in addresses:
        return False
    if len(topics) > len(log_topics):
        return False
    for want, have in zip(topics, log_topics):
        if want is not None and have not in want:
            return False
    return True


def _bloom_may_match(bloom: bytes, addresses: set[bytes] | None, topics: list) -> bool:
    b = int.from_bytes(bloom, "big")

    def has(entry: bytes) -> bool:
        m = int.from_bytes(logs_bloom([(entry, (), b"")]), "big")
        return b & m == m

    if addresses is not None and not any(has(a) for a in addresses):
        return False
    for want in topics:
        if want is not None and not any(has(t) for t in want):
            return False
    return True


# -- raw transactions ---------------------------------------------------------------------------------------

def decode_network_transaction(data: bytes) -> tuple[Transaction, int, BlobSidecar | None]:
    """The canonical encoding, or a blob transaction in its network form with sidecar
    (`3 || rlp([tx, blobs, commitments, proofs])`, Osaka: `[tx, version, blobs, commitments, cell_proofs]`):
    the sidecar's commitments must match the versioned hashes; the pool keeps it for the consensus client
    (Engine API). Returns the transaction, its size without the sidecar, and the sidecar."""
    if data[:1] == b"\x03":
        try:
            items = rlp.decode(data[1:])
        except Exception:
            items = None
        if isinstance(items, list) and items and isinstance(items[0], list):
            inner = b"\x03" + rlp.encode(items[0])
            try:
                tx = decode_transaction(inner)
            except ValueError as exc:
                raise ServerError(f"rlp: {exc}") from None
            commitments = items[3] if len(items) == 5 else items[2] if len(items) == 4 else None
            if commitments is None or len(commitments) != len(tx.blob_versioned_hashes):
                raise ServerError("invalid blob sidecar: commitment count does not match the versioned hashes")
            from hashlib import sha256

            for c, vh in zip(commitments, tx.blob_versioned_hashes):
                if b"\x01" + sha256(c).digest()[1:] != vh:
                    raise ServerError("blob versioned hash mismatch")
            return tx, len(inner), _sidecar(items, len(commitments))
    try:
        tx = decode_transaction(data)
    except ValueError as exc:
        raise ServerError(f"rlp: {exc}") from None
    return tx, len(data), None


def _sidecar(items: list, count: int) -> BlobSidecar:
    """The sidecar of a network-form blob transaction whose commitments matched its versioned hashes."""
    from evm.blobs import BYTES_PER_BLOB, CELLS_PER_EXT_BLOB

    version = 0
    if len(items) == 5:
        version = int.from_bytes(items[1], "big") if isinstance(items[1], bytes) else -1
        blobs, commitments, proofs = items[2:5]
    else:
        blobs, commitments, proofs = items[1:4]
    if version not in (0, 1):
        raise ServerError(f"invalid blob sidecar: unknown version {version}")
    per_blob = CELLS_PER_EXT_BLOB if version == 1 else 1
    if not (isinstance(blobs, list) and isinstance(proofs, list)) or len(blobs) != count \
            or len(proofs) != count * per_blob:
        raise ServerError("invalid blob sidecar: blob or proof count does not match the versioned hashes")
    if any(not isinstance(b, bytes) or len(b) != BYTES_PER_BLOB for b in blobs) \
            or any(not isinstance(x, bytes) or len(x) != 48 for x in list(commitments) + list(proofs)):
        raise ServerError("invalid blob sidecar: wrong blob, commitment or proof size")
    return BlobSidecar(version, tuple(blobs), tuple(commitments), tuple(proofs))

