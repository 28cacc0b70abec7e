"""BLOCKHASH COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID SELFBALANCE BASEFEE BLOBHASH
BLOBBASEFEE: values of the block/transaction environment, from the host (once per frame for
the words that cannot change during it)."""
from . import handler


@handler(0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4A)
def block_word(em, ins):
    em.push(em.frame_word(ins.op))


@handler(0x47)
def selfbalance(em, ins):
    em.push(em.host(ins.op, [], 1)[0])


@handler(0x40, 0x49)
def block_query(em, ins):
    a = em.pop()
    em.push(em.host(ins.op, [a], 1)[0])
