"""Message calls on a block's state, nothing kept: eth_call, eth_estimateGas (geth's search), eth_createAccessList;
and geth's TransactionArgs (`transaction_from_args`), which eth_sendTransaction, eth_signTransaction, the dev
methods and debug_traceCall fill their transactions in with."""

from __future__ import annotations

from typing import Any

from common.constants import EMPTY_CODE_HASH, ZERO_ADDRESS
from evm.host import create_address as contract_address
from evm.tracing import geth_error
from evm.transactions import Authorization, Transaction
from state.journal import JournaledState

from ..header import Header
from . import types as T
from .errors import ExecutionReverted, InvalidParams, ServerError
from .fees import suggest_tip
from .format import _hb, _hx
from .overrides import apply_overrides
from .topic import Topic

GAS_ESTIMATE_ERROR_RATIO = 0.015  # geth's estimateGasErrorRatio


class CallsApi(Topic):
    def transaction_from_args(
        self,
        args: dict,
        header: Header,
        sign: bool = False,
        state: JournaledState | None = None,
        gas_cap: int | None = None,
    ) -> Transaction:
        """A Transaction from geth's TransactionArgs. For calls the sender goes in `tx.sender` (no
        signature); for eth_sendTransaction missing fields are filled in as geth does."""

        def opt(name: str, parse=T.quantity):
            v = args.get(name)
            return None if v is None else parse(v, 0)

        sender = opt("from", T.address) or ZERO_ADDRESS
        to = opt("to", T.address)
        data_in, input_in = args.get("data"), args.get("input")
        if data_in is not None and input_in is not None and data_in != input_in:
            raise InvalidParams(
                'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'
            )
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
        chain_id = self.node.chain_id
        if sign:
            base = self.node.next_block_rules().base_fee
            if tx_type >= 2:
                if tip is None:
                    tip = suggest_tip(self.node)
                if max_fee is None:
                    max_fee = 2 * base + tip
                tip = min(tip, max_fee)
            elif gas_price is None:
                gas_price = base + suggest_tip(self.node)
            nonce = opt("nonce")
            if nonce is None:
                st = self.node.pool_state()
                nonce = self.node.pool.next_nonce(sender, st.nonce(sender))
        else:
            nonce = state.get_nonce(sender) if state is not None else 0
        tx = Transaction(
            type=tx_type,
            chain_id=chain_id,
            nonce=nonce,
            gas_price=gas_price or 0,
            max_priority_fee_per_gas=tip or 0,
            max_fee_per_gas=max_fee or 0,
            gas=0,
            to=to,
            value=value,
            data=payload,
            access_list=access_list,
            max_fee_per_blob_gas=opt("maxFeePerBlobGas") or 0,
            blob_versioned_hashes=blob_hashes,
            authorizations=auths,
        )
        gas = gas_cap if gas_cap is not None else opt("gas")
        if gas is None:
            if sign:
                est_args = dict(args)
                est_args.pop("gas", None)
                gas = self.estimate(est_args, self.node.pending_header(), None)
            else:
                gas = gas_cap if gas_cap is not None else self.node.call_gas_cap(header)
        tx.gas = gas
        if not sign:
            tx.sender = sender
        return tx

    def _run_call(
        self, args: Any, header: Header, gas: int | None = None, overrides: Any = None, access_list: tuple | None = None
    ):
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        state = JournaledState(self.node.state(header))
        if overrides is not None:
            apply_overrides(state, overrides)
        tx = self.transaction_from_args(args, header, state=state, gas_cap=gas)
        if access_list is not None:
            tx.access_list = access_list
            if tx.type == 0:
                tx.type = 1
        no_fees = tx.gas_price == 0 and tx.max_fee_per_gas == 0 and tx.max_priority_fee_per_gas == 0
        result, state = self.node.simulate(tx, header, no_fees, state=state)
        return tx, result, state

    def eth_call(self, args: Any, block: Any = None, overrides: Any = None, block_overrides: Any = None) -> str:
        header = self._call_header(block, 1)
        _, result, _ = self._run_call(args, header, overrides=overrides)
        if result.status == "revert":
            raise ExecutionReverted(result.output)
        if result.status == "error":
            raise ServerError(geth_error("error", result.error) or "execution failed")
        return _hb(result.output)

    def estimate(self, args: dict, header: Header, overrides: Any) -> int:
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        cap = self.node.call_gas_cap(header)
        hi = cap
        if args.get("gas") is not None:
            hi = min(T.quantity(args["gas"], 0, 64), cap) if T.quantity(args["gas"], 0, 64) >= 21000 else hi
        # With a fee cap, the sender's balance bounds the gas it can pay for (geth).
        fee = args.get("gasPrice") or args.get("maxFeePerGas")
        if fee is not None:
            fee_cap = T.quantity(fee, 0)
            if fee_cap:
                sender = T.address(args["from"], 0) if args.get("from") else ZERO_ADDRESS
                acc = self.node.state(header).get_account(sender)
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
            acc = self.node.state(header).get_account(to)
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
            raise ServerError(geth_error("error", result.error) or "execution failed")
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
        return _hx(self.estimate(args, header, overrides))

    def eth_createAccessList(self, args: Any, block: Any = None) -> dict[str, Any]:
        header = self._call_header(block, 1)
        if not isinstance(args, dict):
            raise InvalidParams("invalid argument 0: expected a transaction call object")
        access: tuple = ()
        if args.get("accessList") is not None:
            access = _parse_access_list(args["accessList"])
        from evm.precompiles import precompiles_for

        excluded = set(precompiles_for(self.node.rules(header).evm))
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
        assert result is not None  # the loop ran at least once
        out: dict[str, Any] = {
            "accessList": [
                {"address": T.checksum(a), "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in ss]}
                for a, ss in access
            ],
            "gasUsed": _hx(result.gas_used),
        }
        if result.status == "revert":
            out["error"] = ExecutionReverted(result.output).message
        elif result.status == "error":
            out["error"] = geth_error("error", result.error)
        return out


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
        out.append(
            Authorization(
                T.quantity(a.get("chainId"), 0),
                T.address(a.get("address"), 0),
                T.quantity(a.get("nonce"), 0, 64),
                T.quantity(a.get("yParity"), 0, 8),
                T.quantity(a.get("r"), 0),
                T.quantity(a.get("s"), 0),
            )
        )
    return tuple(out)
