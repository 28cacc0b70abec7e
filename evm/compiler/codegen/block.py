"""BLOCKHASH COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID SELFBALANCE BASEFEE BLOBHASH
BLOBBASEFEE: values of the block/transaction environment, from the host (once per frame for
the words that cannot change during it)."""
from . import handler


@handler("COINBASE", "TIMESTAMP", "NUMBER", "PREVRANDAO", "GASLIMIT", "CHAINID", "BASEFEE", "BLOBBASEFEE")
def block_word(em, ins):
    em.push(em.frame_word(ins.op))


@handler("SELFBALANCE")
def selfbalance(em, ins):
    em.push(em.host(ins.op, [], 1)[0])


@handler("BLOCKHASH", "BLOBHASH")
def block_query(em, ins):
    a = em.pop()
    em.push(em.host(ins.op, [a], 1)[0])
