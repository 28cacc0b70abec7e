"""Environment: ADDRESS .. EXTCODEHASH (0x30-0x3f), SELFBALANCE (0x47), BASEFEE (0x48),
BLOBHASH (0x49), BLOBBASEFEE (0x4a). Account reads go through the host, which warms the address
and returns the EIP-2929 cold surcharge (the warm 100 is static gas)."""

from __future__ import annotations

from ..errors import ReturnDataOutOfBounds
from ..gas import copy_cost
from .frame import Frame, extend_memory, read_padded, to_address, use_gas


def address(f: Frame) -> None:
    f.stack.append(int.from_bytes(f.target, "big"))


def balance(f: Frame) -> None:
    a = to_address(f.stack.pop())
    use_gas(f, f.host.access_account(a))
    f.stack.append(f.host.balance(a))


def origin(f: Frame) -> None:
    f.stack.append(int.from_bytes(f.tx.origin, "big"))


def caller(f: Frame) -> None:
    f.stack.append(int.from_bytes(f.message.caller, "big"))


def callvalue(f: Frame) -> None:
    f.stack.append(f.message.value)


def calldataload(f: Frame) -> None:
    s = f.stack
    s.append(int.from_bytes(read_padded(f.message.data, s.pop(), 32), "big"))


def calldatasize(f: Frame) -> None:
    f.stack.append(len(f.message.data))


def _copy(f: Frame, source: bytes, mem_offset: int, src_offset: int, size: int) -> None:
    """Shared tail of *COPY: per-word copy gas, memory expansion, zero-padded copy."""
    use_gas(f, copy_cost(size))
    extend_memory(f, mem_offset, size)
    if size:
        f.memory[mem_offset : mem_offset + size] = read_padded(source, src_offset, size)


def calldatacopy(f: Frame) -> None:
    s = f.stack
    mem_offset = s.pop()
    src_offset = s.pop()
    size = s.pop()
    _copy(f, f.message.data, mem_offset, src_offset, size)


def codesize(f: Frame) -> None:
    f.stack.append(f.code_size)


def codecopy(f: Frame) -> None:
    s = f.stack
    mem_offset = s.pop()
    src_offset = s.pop()
    size = s.pop()
    _copy(f, f.code, mem_offset, src_offset, size)  # the padding past code_size reads as zeros anyway


def gasprice(f: Frame) -> None:
    f.stack.append(f.tx.gas_price)


def extcodesize(f: Frame) -> None:
    a = to_address(f.stack.pop())
    use_gas(f, f.host.access_account(a))
    f.stack.append(len(f.host.code(a)))


def extcodecopy(f: Frame) -> None:
    s = f.stack
    a = to_address(s.pop())
    mem_offset = s.pop()
    src_offset = s.pop()
    size = s.pop()
    use_gas(f, f.host.access_account(a))
    _copy(f, f.host.code(a), mem_offset, src_offset, size)


def returndatasize(f: Frame) -> None:
    f.stack.append(len(f.return_data))


def returndatacopy(f: Frame) -> None:
    s = f.stack
    mem_offset = s.pop()
    src_offset = s.pop()
    size = s.pop()
    use_gas(f, copy_cost(size))
    extend_memory(f, mem_offset, size)
    if src_offset + size > len(f.return_data):  # EIP-211: even for size 0
        raise ReturnDataOutOfBounds()
    if size:
        f.memory[mem_offset : mem_offset + size] = f.return_data[src_offset : src_offset + size]


def extcodehash(f: Frame) -> None:
    a = to_address(f.stack.pop())
    use_gas(f, f.host.access_account(a))
    f.stack.append(f.host.code_hash(a))


def selfbalance(f: Frame) -> None:
    f.stack.append(f.host.balance(f.target))


def basefee(f: Frame) -> None:
    f.stack.append(f.block.base_fee)


def blobhash(f: Frame) -> None:
    s = f.stack
    index = s.pop()
    hashes = f.tx.blob_hashes
    s.append(int.from_bytes(hashes[index], "big") if index < len(hashes) else 0)


def blobbasefee(f: Frame) -> None:
    f.stack.append(f.block.blob_base_fee)


INSTRUCTIONS = {
    0x30: address,
    0x31: balance,
    0x32: origin,
    0x33: caller,
    0x34: callvalue,
    0x35: calldataload,
    0x36: calldatasize,
    0x37: calldatacopy,
    0x38: codesize,
    0x39: codecopy,
    0x3A: gasprice,
    0x3B: extcodesize,
    0x3C: extcodecopy,
    0x3D: returndatasize,
    0x3E: returndatacopy,
    0x3F: extcodehash,
    0x47: selfbalance,
    0x48: basefee,
    0x49: blobhash,
    0x4A: blobbasefee,
}
