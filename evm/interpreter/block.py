"""Block information: BLOCKHASH .. CHAINID (0x40-0x46). (SELFBALANCE, BASEFEE, BLOBHASH and
BLOBBASEFEE, also in the 0x40 range, live in environment.py as in execution-specs.)"""

from __future__ import annotations

from .frame import Frame


def blockhash(f: Frame) -> None:
    s = f.stack
    s.append(f.host.block_hash(s.pop()))


def coinbase(f: Frame) -> None:
    f.stack.append(int.from_bytes(f.block.coinbase, "big"))


def timestamp(f: Frame) -> None:
    f.stack.append(f.block.timestamp)


def number(f: Frame) -> None:
    f.stack.append(f.block.number)


def prevrandao(f: Frame) -> None:
    f.stack.append(int.from_bytes(f.block.prev_randao, "big"))


def gaslimit(f: Frame) -> None:
    f.stack.append(f.block.gas_limit)


def chainid(f: Frame) -> None:
    f.stack.append(f.block.chain_id)


INSTRUCTIONS = {
    0x40: blockhash,
    0x41: coinbase,
    0x42: timestamp,
    0x43: number,
    0x44: prevrandao,
    0x45: gaslimit,
    0x46: chainid,
}
