"""Transactions of types 0-4: fields, RLP encoding, signing hashes and sender recovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coincurve import PublicKey

from common import rlp
from common.keccak import keccak, memoized_hash

SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

AccessList = tuple[tuple[bytes, tuple[int, ...]], ...]


class InvalidSignature(Exception):
    pass


@dataclass(slots=True)
class Authorization:
    """EIP-7702 authorization tuple."""

    chain_id: int
    address: bytes
    nonce: int
    y_parity: int
    r: int
    s: int

    def fields(self) -> list[object]:
        return [self.chain_id, self.address, self.nonce, self.y_parity, self.r, self.s]

    def authority(self) -> bytes:
        """The signer of this authorization; InvalidSignature if it cannot be recovered."""
        if self.y_parity not in (0, 1) or not 0 < self.r < SECP256K1N or not 0 < self.s <= SECP256K1N // 2:
            raise InvalidSignature("bad authorization signature values")
        digest = keccak(b"\x05" + rlp.encode([self.chain_id, self.address, self.nonce]))
        return recover_address(digest, self.y_parity, self.r, self.s)


@dataclass(slots=True)
class Transaction:
    type: int = 0
    chain_id: int | None = None
    nonce: int = 0
    gas_price: int = 0  # types 0 and 1
    max_priority_fee_per_gas: int = 0  # types 2+
    max_fee_per_gas: int = 0
    gas: int = 0
    to: bytes | None = None  # None: contract creation
    value: int = 0
    data: bytes = b""
    access_list: AccessList = ()
    max_fee_per_blob_gas: int = 0
    blob_versioned_hashes: tuple[bytes, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    v: int = 0  # y_parity for typed transactions
    r: int = 0
    s: int = 0
    # Known sender (state tests give it); recovered from the signature otherwise.
    sender: bytes | None = field(default=None, compare=False)
    # Sent by a dev node for an impersonated account (anvil_impersonateAccount): the signature is a
    # placeholder, `sender` says who sent it, and EIP-3607 does not stop a contract's address.
    impersonated: bool = field(default=False, compare=False)
    # (the fields, the hash) when last hashed (common.keccak.memoized_hash)
    _hashed: tuple[tuple[object, ...], bytes] | None = field(default=None, init=False, repr=False, compare=False)

    # -- encoding -----------------------------------------------------------------
    def _access_list_rlp(self) -> list[Any]:
        return [[addr, [slot.to_bytes(32, "big") for slot in slots]] for addr, slots in self.access_list]

    def _to_rlp(self) -> bytes:
        return b"" if self.to is None else self.to

    def _payload(self, signed: bool) -> list[Any]:
        t = self.type
        if t == 0:
            base = [self.nonce, self.gas_price, self.gas, self._to_rlp(), self.value, self.data]
            if signed:
                return base + [self.v, self.r, self.s]
            if self.chain_id is not None:  # EIP-155
                return base + [self.chain_id, 0, 0]
            return base
        if t == 1:
            base = [
                self.chain_id,
                self.nonce,
                self.gas_price,
                self.gas,
                self._to_rlp(),
                self.value,
                self.data,
                self._access_list_rlp(),
            ]
        elif t == 2:
            base = [
                self.chain_id,
                self.nonce,
                self.max_priority_fee_per_gas,
                self.max_fee_per_gas,
                self.gas,
                self._to_rlp(),
                self.value,
                self.data,
                self._access_list_rlp(),
            ]
        elif t == 3:
            base = [
                self.chain_id,
                self.nonce,
                self.max_priority_fee_per_gas,
                self.max_fee_per_gas,
                self.gas,
                self._to_rlp(),
                self.value,
                self.data,
                self._access_list_rlp(),
                self.max_fee_per_blob_gas,
                list(self.blob_versioned_hashes),
            ]
        elif t == 4:
            base = [
                self.chain_id,
                self.nonce,
                self.max_priority_fee_per_gas,
                self.max_fee_per_gas,
                self.gas,
                self._to_rlp(),
                self.value,
                self.data,
                self._access_list_rlp(),
                [a.fields() for a in self.authorizations],
            ]
        else:
            raise ValueError(f"unknown transaction type {t}")
        return base + [self.v, self.r, self.s] if signed else base

    def encode(self) -> bytes:
        """Canonical encoding: RLP list for legacy, type byte ‖ RLP for typed (as in block bodies' tries)."""
        payload = rlp.encode(self._payload(True))
        return payload if self.type == 0 else bytes([self.type]) + payload

    def signing_hash(self) -> bytes:
        payload = rlp.encode(self._payload(False))
        return keccak(payload if self.type == 0 else bytes([self.type]) + payload)

    @property
    def hash(self) -> bytes:
        return memoized_hash(
            self,
            (
                self.type,
                self.chain_id,
                self.nonce,
                self.gas_price,
                self.max_priority_fee_per_gas,
                self.max_fee_per_gas,
                self.gas,
                self.to,
                self.value,
                self.data,
                self.access_list,
                self.max_fee_per_blob_gas,
                self.blob_versioned_hashes,
                self.authorizations,
                self.v,
                self.r,
                self.s,
            ),
        )

    # -- signature ----------------------------------------------------------------
    def recover_sender(self) -> bytes:
        if self.sender is not None:
            return self.sender
        if self.type == 0:
            if self.v in (27, 28):
                y = self.v - 27
            elif self.chain_id is not None and self.v in (35 + 2 * self.chain_id, 36 + 2 * self.chain_id):
                y = self.v - 35 - 2 * self.chain_id
            else:
                raise InvalidSignature("bad v")
        else:
            y = self.v
            if y not in (0, 1):
                raise InvalidSignature("bad y parity")
        if not 0 < self.r < SECP256K1N or not 0 < self.s <= SECP256K1N // 2:
            raise InvalidSignature("bad signature values")
        self.sender = recover_address(self.signing_hash(), y, self.r, self.s)
        return self.sender

    def sign(self, private_key: bytes) -> Transaction:
        from coincurve import PrivateKey

        sig = PrivateKey(private_key).sign_recoverable(self.signing_hash(), hasher=None)
        self.r = int.from_bytes(sig[:32], "big")
        self.s = int.from_bytes(sig[32:64], "big")
        y = sig[64]
        if self.type == 0:
            self.v = 35 + 2 * self.chain_id + y if self.chain_id is not None else 27 + y
        else:
            self.v = y
        self.sender = None
        self.recover_sender()
        return self


def recover_address(digest: bytes, y_parity: int, r: int, s: int) -> bytes:
    try:
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity])
        public = PublicKey.from_signature_and_message(sig, digest, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception on unrecoverable signatures
        raise InvalidSignature(str(exc)) from None
    return keccak(public.format(compressed=False)[1:])[12:]


def _bytes(b: Any) -> bytes:
    """A byte-string field (a list where bytes belong is malformed)."""
    if type(b) is not bytes:
        raise ValueError("expected a byte string, got a list")
    return b


def _list(x: Any) -> list[Any]:
    if type(x) is not list:
        raise ValueError("expected a list, got a byte string")
    return x


def _int(b: bytes) -> int:
    if len(_bytes(b)) > 1 and b[0] == 0:
        raise ValueError("non-canonical integer")
    return int.from_bytes(b, "big")


def _address(b: Any) -> bytes:
    if len(_bytes(b)) != 20:
        raise ValueError("bad address length")
    return bytes(b)


def _address_or_none(b: bytes) -> bytes | None:
    if _bytes(b) == b"":
        return None
    return _address(b)


def _access_list(items: Any) -> AccessList:
    out = []
    for entry in _list(items):
        addr, slots = _list(entry)
        if len(_address(addr)) != 20 or any(len(_bytes(s)) != 32 for s in _list(slots)):
            raise ValueError("bad access list entry")
        out.append((addr, tuple(int.from_bytes(s, "big") for s in slots)))
    return tuple(out)


def _hashes(items: Any) -> tuple[bytes, ...]:
    if any(len(_bytes(h)) != 32 for h in _list(items)):
        raise ValueError("bad blob versioned hash")
    return tuple(items)


def _authorization(a: Any) -> Authorization:
    if len(a) != 6:
        raise ValueError("authorization must have 6 fields")
    return Authorization(_int(a[0]), _address(a[1]), _int(a[2]), _int(a[3]), _int(a[4]), _int(a[5]))


def decode_transaction(raw: bytes) -> Transaction:
    """Decode the canonical encoding (legacy RLP list or type byte ‖ RLP). ValueError if malformed."""
    if not raw:
        raise ValueError("empty transaction")
    try:
        if raw[0] >= 0xC0:
            f = _list(rlp.decode(raw))
            if len(f) != 9:
                raise ValueError("legacy transaction must have 9 fields")
            nonce, gas_price, gas, to, value, data, v, r, s = f
            v = _int(v)
            chain_id = (v - 35) // 2 if v >= 35 else None
            return Transaction(
                0,
                chain_id,
                _int(nonce),
                _int(gas_price),
                0,
                0,
                _int(gas),
                _address_or_none(to),
                _int(value),
                _bytes(data),
                v=v,
                r=_int(r),
                s=_int(s),
            )
        t = raw[0]
        f = _list(rlp.decode(raw[1:]))
        if t == 1:
            chain_id, nonce, gas_price, gas, to, value, data, al, v, r, s = f
            return Transaction(
                1,
                _int(chain_id),
                _int(nonce),
                _int(gas_price),
                0,
                0,
                _int(gas),
                _address_or_none(to),
                _int(value),
                _bytes(data),
                _access_list(al),
                v=_int(v),
                r=_int(r),
                s=_int(s),
            )
        if t == 2:
            chain_id, nonce, tip, fee, gas, to, value, data, al, v, r, s = f
            return Transaction(
                2,
                _int(chain_id),
                _int(nonce),
                0,
                _int(tip),
                _int(fee),
                _int(gas),
                _address_or_none(to),
                _int(value),
                _bytes(data),
                _access_list(al),
                v=_int(v),
                r=_int(r),
                s=_int(s),
            )
        if t == 3:
            chain_id, nonce, tip, fee, gas, to, value, data, al, blob_fee, hashes, v, r, s = f
            if len(_bytes(to)) != 20:
                raise ValueError("blob transaction cannot create")
            return Transaction(
                3,
                _int(chain_id),
                _int(nonce),
                0,
                _int(tip),
                _int(fee),
                _int(gas),
                to,
                _int(value),
                _bytes(data),
                _access_list(al),
                _int(blob_fee),
                _hashes(hashes),
                v=_int(v),
                r=_int(r),
                s=_int(s),
            )
        if t == 4:
            chain_id, nonce, tip, fee, gas, to, value, data, al, auths, v, r, s = f
            if len(_bytes(to)) != 20:
                raise ValueError("set-code transaction cannot create")
            authorizations = tuple(_authorization(_list(a)) for a in _list(auths))
            return Transaction(
                4,
                _int(chain_id),
                _int(nonce),
                0,
                _int(tip),
                _int(fee),
                _int(gas),
                to,
                _int(value),
                _bytes(data),
                _access_list(al),
                authorizations=authorizations,
                v=_int(v),
                r=_int(r),
                s=_int(s),
            )
    except (ValueError, TypeError) as exc:  # rlpcodec.DecodingError is a ValueError
        raise ValueError(f"malformed transaction: {exc}") from None
    raise ValueError(f"unknown transaction type {raw[0]}")
