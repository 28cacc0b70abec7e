"""Run one fuzz case (tests/fuzz/gen.py) through our transaction processor with a named backend,
or through the executable spec (ethereum-execution, a test-only dependency), and reduce the result
to a comparable `Outcome`: validity, status, output, gas used, logs and post-state root."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from eth_hash.auto import keccak

SUPPORTED_FORKS = ("Cancun", "Prague", "Osaka")


@dataclass
class Outcome:
    valid: bool
    status: str = ""  # success | revert | error
    output: bytes = b""
    gas_used: int = 0
    logs: list = field(default_factory=list)  # [(address, (topics...), data)]
    root: bytes = b""
    note: str = ""  # not compared: why invalid (for statistics)
    error: str = ""  # the top-level frame's error, in our names (the spec's are mapped: SPEC_ERRORS)
    oracle: bool = False  # the executable spec's outcome (its error names are coarser: coarse_error)

    def key(self) -> tuple:
        if not self.valid:
            return (False,)
        return (True, self.status, self.output, self.gas_used, tuple(self.logs), self.root, self.error)

    def describe(self) -> dict:
        if not self.valid:
            return {"valid": False}
        return {
            "valid": True,
            "status": self.status,
            "error": self.error,
            "output": self.output.hex(),
            "gas_used": self.gas_used,
            "logs": [[a.hex(), [t.hex() for t in ts], d.hex()] for a, ts, d in self.logs],
            "root": self.root.hex(),
        }


# The executable spec's exception names (ethereum.forks.<fork>.vm.exceptions) in ours (evm.errors).
SPEC_ERRORS = {
    "StackUnderflowError": "StackUnderflow",
    "StackOverflowError": "StackOverflow",
    "OutOfGasError": "OutOfGas",
    "InvalidOpcode": "InvalidOpcode",
    "InvalidJumpDestError": "InvalidJump",
    "StackDepthLimitError": "DepthLimit",
    "WriteInStaticContext": "WriteInStaticContext",
    "OutOfBoundsRead": "ReturnDataOutOfBounds",
    "InvalidContractPrefix": "InvalidContractPrefix",
    "AddressCollision": "AddressCollision",
    # a failing precompile called by the transaction itself: the spec names the cause
    "InvalidParameter": "PrecompileFailure",
    "KZGProofError": "PrecompileFailure",
}


def errors_agree(ours: str, other: str, against_spec: bool) -> bool:
    """Exact between our backends. Against the spec, as the spec can tell them: it raises
    OutOfGasError for deployed code over the size limit, and names a failing precompile by its
    cause (OutOfGasError included) where ours says PrecompileFailure."""
    if ours == other or not against_spec:
        return ours == other
    pair = {ours, other}
    return pair == {"CodeSizeExceeded", "OutOfGas"} or pair == {"PrecompileFailure", "OutOfGas"}


def diff(a: Outcome, b: Outcome) -> list[str]:
    """Names of the fields that differ ([] when the outcomes agree), error names included."""
    if a.valid != b.valid:
        return ["valid"]
    if not a.valid:
        return []
    fields = [n for n in ("status", "output", "gas_used", "logs", "root") if getattr(a, n) != getattr(b, n)]
    if not errors_agree(a.error, b.error, a.oracle or b.oracle):
        fields.append("error")
    return fields


def _b(h: str | None) -> bytes:
    if not h:
        return b""
    return bytes.fromhex(h[2:] if h.startswith("0x") else h)


def alloc_of(case: dict) -> dict:
    out = {}
    for addr, acc in case["pre"].items():
        storage = {int(k, 16): int(v, 16) for k, v in acc.get("storage", {}).items()}
        out[_b(addr)] = (int(acc["nonce"]), int(acc["balance"]), _b(acc.get("code")), storage)
    return out


def block_hashes(number: int) -> list[bytes]:
    """Hashes of blocks max(0, number-256) .. number-1 (oldest first)."""
    return [keccak(b"block" + n.to_bytes(8, "big")) for n in range(max(0, number - 256), number)]


def build_tx(case: dict):
    """Our signed `evm.transactions.Transaction` of the case."""
    from evm.transactions import Authorization, Transaction

    t = case["tx"]
    tx = Transaction(
        type=t["type"],
        chain_id=t.get("chain_id"),
        nonce=t["nonce"],
        gas_price=t.get("gas_price", 0),
        max_priority_fee_per_gas=t.get("max_priority_fee_per_gas", 0),
        max_fee_per_gas=t.get("max_fee_per_gas", 0),
        gas=t["gas"],
        to=_b(t["to"]) if t.get("to") else None,
        value=t["value"],
        data=_b(t["data"]),
        access_list=tuple((_b(a), tuple(slots)) for a, slots in t.get("access_list", ())),
        max_fee_per_blob_gas=t.get("max_fee_per_blob_gas", 0),
        blob_versioned_hashes=tuple(_b(h) for h in t.get("blob_hashes", ())),
        authorizations=tuple(
            Authorization(a["chain_id"], _b(a["address"]), a["nonce"], a["y_parity"], a["r"], a["s"])
            for a in t.get("authorizations", ())
        ),
    )
    if tx.type != 0 and tx.chain_id is None:
        tx.chain_id = 1
    return tx.sign(_b(case["key"]))


def run_ours(case: dict, backend: str = "interpreter") -> Outcome:
    from evm.blobs import blob_base_fee
    from evm.message import BlockEnv
    from evm.processor import BlockContext, InvalidTransaction, process_transaction
    from evm.rules import RULES
    from evm.spec import Fork
    from state.db import StateDB
    from state.journal import JournaledState
    from state.kv import MemoryStore

    fork = Fork.from_name(case["fork"])
    e = case["env"]
    schedule = RULES[fork].blob_schedule
    number = e["number"]
    hashes = block_hashes(number)
    first = number - len(hashes)
    env = BlockEnv(
        fork=fork,
        chain_id=e["chain_id"],
        coinbase=_b(e["coinbase"]),
        number=number,
        timestamp=e["timestamp"],
        gas_limit=e["gas_limit"],
        prev_randao=_b(e["prev_randao"]),
        base_fee=e["base_fee"],
        excess_blob_gas=e["excess_blob_gas"],
        blob_base_fee=blob_base_fee(e["excess_blob_gas"], schedule),
        block_hash=lambda n: hashes[n - first] if first <= n < number else None,
    )
    db = StateDB(MemoryStore())
    db.commit_alloc(alloc_of(case))
    state = JournaledState(db)
    tx = build_tx(case)
    # As the block executor does before process_transaction (client/chain/transition.py): a legacy
    # transaction signed for another chain is invalid.
    if tx.type == 0 and tx.v not in (27, 28) and tx.chain_id != env.chain_id:
        return Outcome(False, note="INVALID_CHAINID")
    try:
        r = process_transaction(tx, state, BlockContext(env), backend)
    except InvalidTransaction as exc:
        return Outcome(False, note=exc.code)
    root = state.commit()
    logs = [(a, tuple(t), bytes(d)) for a, t, d in r.logs]
    return Outcome(True, r.status, bytes(r.output), r.gas_used, logs, root, error=r.error or "")


# ---------------------------------------------------------------------------------------------
# The executable spec (ethereum/execution-specs), driven through its fork modules.
_SPEC_CACHE: dict[str, tuple] = {}


def spec_available() -> bool:
    try:
        import ethereum.forks.osaka.fork  # noqa: F401
    except ImportError:
        return False
    return True


def _spec(fork: str):
    hit = _SPEC_CACHE.get(fork)
    if hit is None:
        name = fork.lower()
        mods = tuple(
            importlib.import_module(f"ethereum.forks.{name}.{m}")
            for m in ("fork", "vm", "state", "fork_types", "transactions", "vm.interpreter")
        )
        hit = _SPEC_CACHE[fork] = mods
    return hit


def run_spec(case: dict) -> Outcome:
    from ethereum.exceptions import EthereumException
    from ethereum_rlp import rlp
    from ethereum_types.bytes import Bytes, Bytes20, Bytes32
    from ethereum_types.numeric import U64, U256, Uint

    fork_mod, vm, st, ft, txs, interp = _spec(case["fork"])
    state = st.State()
    for addr, (nonce, balance, code, storage) in alloc_of(case).items():
        a = Bytes20(addr)
        st.set_account(state, a, ft.Account(nonce=Uint(nonce), balance=U256(balance), code=Bytes(code)))
        for k, v in storage.items():
            st.set_storage(state, a, Bytes32(k.to_bytes(32, "big")), U256(v))
    e = case["env"]
    kw = dict(
        chain_id=U64(e["chain_id"]),
        state=state,
        block_gas_limit=Uint(e["gas_limit"]),
        block_hashes=[Bytes32(h) for h in block_hashes(e["number"])],
        coinbase=Bytes20(_b(e["coinbase"])),
        number=Uint(e["number"]),
        base_fee_per_gas=Uint(e["base_fee"]),
        time=U256(e["timestamp"]),
        prev_randao=Bytes32(_b(e["prev_randao"])),
        excess_blob_gas=U64(e["excess_blob_gas"]),
        parent_beacon_block_root=Bytes32(b"\x00" * 32),
    )
    fields = vm.BlockEnvironment.__dataclass_fields__
    block_env = vm.BlockEnvironment(**{k: v for k, v in kw.items() if k in fields})
    block_output = vm.BlockOutput()
    raw = build_tx(case).encode()
    spec_tx = rlp.decode_to(txs.LegacyTransaction, raw) if raw[0] >= 0xC0 else txs.decode_transaction(Bytes(raw))

    captured: list = []
    top: list = []
    original = fork_mod.process_message_call
    orig_msg, orig_create = interp.process_message, interp.process_create_message

    def capture(message):
        out = original(message)
        captured.append(out)
        return out

    def wrap(fn):
        def inner(message):
            evm = fn(message)
            if message.depth == 0:
                top.append(evm)
            return evm

        return inner

    fork_mod.process_message_call = capture
    interp.process_message, interp.process_create_message = wrap(orig_msg), wrap(orig_create)
    try:
        fork_mod.process_transaction(block_env, block_output, spec_tx, Uint(0))
    except EthereumException as exc:
        return Outcome(False, note=type(exc).__name__)
    finally:
        fork_mod.process_message_call = original
        interp.process_message, interp.process_create_message = orig_msg, orig_create
    out = captured[-1]
    error = ""
    if out.error is None:
        status = "success"
    elif type(out.error).__name__ == "Revert":
        status = "revert"
    else:
        status = "error"
        spec_name = type(out.error).__name__
        error = SPEC_ERRORS.get(spec_name, f"spec:{spec_name}")  # an unmapped name shows as a divergence
    output = bytes(top[-1].output) if top else b""
    if status == "error" or (status == "success" and case["tx"].get("to") is None):
        output = b""  # a successful create returns no data (the code is deployed)
    logs = [(bytes(log.address), tuple(bytes(t) for t in log.topics), bytes(log.data)) for log in out.logs]
    root = bytes(st.state_root(state))
    return Outcome(True, status, output, int(block_output.block_gas_used), logs, root, error=error, oracle=True)
