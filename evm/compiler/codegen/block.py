"""BLOCKHASH COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID SELFBALANCE BASEFEE BLOBHASH
BLOBBASEFEE: values of the block/transaction environment, from the host once per frame (the words that
cannot change during it), per number or index and frame (BLOCKHASH, BLOBHASH), or until the next call, create
or selfdestruct (SELFBALANCE): then from the frame's native copy."""

from __future__ import annotations

from ...opcodes import BY_NAME
from ..analysis import Instr
from . import Emitter, handler


@handler("COINBASE", "TIMESTAMP", "NUMBER", "PREVRANDAO", "GASLIMIT", "CHAINID", "BASEFEE", "BLOBBASEFEE")
def block_word(em: Emitter, ins: Instr) -> None:
    em.push(em.frame_word(ins.op))


@handler("SELFBALANCE")
def selfbalance(em: Emitter, ins: Instr) -> None:
    # BALANCE of ADDRESS (always warm): one cache entry for both
    em.push(em.cached_query(ins.op, em.frame_word(BY_NAME["ADDRESS"])))


@handler("BLOCKHASH", "BLOBHASH")
def block_query(em: Emitter, ins: Instr) -> None:
    em.push(em.cached_query(ins.op, em.pop()))
