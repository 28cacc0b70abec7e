"""pyrevm (the `bench` extra) as an independent oracle for differential tests of the EVM.

Runs a transaction-level message call in revm and converts our frame-level result into the same
terms (intrinsic gas added, refund applied) so status, output and gas can be compared exactly.
"""

from __future__ import annotations

from evm_helpers import CONTRACT, SENDER, run

from evm.spec import Fork

try:
    import pyrevm
except ImportError:  # pragma: no cover - CI without the bench extra
    pyrevm = None

# pyrevm takes revm's spelling: "CANCUN" or "SHANGHAI" would silently mean its latest spec
SPEC = {Fork.SHANGHAI: "Shanghai", Fork.CANCUN: "Cancun"}


def _hex(a: bytes) -> str:
    return "0x" + a.hex()


def intrinsic(data: bytes) -> int:
    return 21000 + sum(4 if b == 0 else 16 for b in data)


def revm_call(
    code: bytes, data: bytes = b"", *, gas: int, value: int = 0, fork: Fork = Fork.CANCUN, accounts: dict | None = None
):
    """(status, output, gas_used incl. intrinsic, after refund) from revm."""
    evm = pyrevm.EVM(spec_id=SPEC[fork])
    accounts = dict(accounts or {})
    accounts.setdefault(SENDER, {"balance": 10**20})
    accounts[CONTRACT] = {**accounts.get(CONTRACT, {}), "code": code}
    for a, spec in accounts.items():
        evm.insert_account_info(_hex(a), pyrevm.AccountInfo(nonce=spec.get("nonce", 0), code=spec.get("code") or None))
        if spec.get("balance"):
            evm.set_balance(_hex(a), spec["balance"])
        for slot, v in spec.get("storage", {}).items():
            evm.insert_account_storage(_hex(a), slot, v)
    tx_gas = gas + intrinsic(data)
    try:
        out = evm.message_call(_hex(SENDER), _hex(CONTRACT), data, value=value, gas=tx_gas)
        status = "success"
    except RuntimeError:
        out = b""
        status = None
    r = evm.result
    if status is None:
        status = "revert" if r.reason == "Revert" else "error"
        if status == "revert":
            # revm reports the revert output only in the message text; compare gas and status
            out = None
    return status, (bytes(out) if out is not None else None), r.gas_used


def ours(
    code: bytes, data: bytes = b"", *, gas: int, value: int = 0, fork: Fork = Fork.CANCUN, accounts: dict | None = None
):
    """Our result in revm's terms: (status, output, gas_used incl. intrinsic, after refund)."""
    # pyrevm's set_balance leaves the account warm (loaded into its journal): mirror that
    r = run(
        code,
        data,
        gas=gas,
        value=value,
        fork=fork,
        accounts=accounts,
        warm_addresses=tuple(a for a, s in (accounts or {}).items() if s.get("balance")),
    )
    # the transaction would also warm the precompiles and the (zero) coinbase
    total = intrinsic(data) + r.used
    if r.status == "success":
        total -= min(r.state.refund, total // 5)
    return r.status, r.output, total
