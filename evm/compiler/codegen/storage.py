"""SLOAD SSTORE TLOAD TSTORE: host calls into the journaled state (gas, refunds and the static
check are the host's; SSTORE ends its block so the host sees the exact gas left)."""
from . import handler


@handler(0x54, 0x5C)
def load(em, ins):
    k = em.pop()
    em.push(em.host(ins.op, [k], 1)[0])


@handler(0x55, 0x5D)
def store(em, ins):
    k, v = em.pop(), em.pop()
    em.host(ins.op, [k, v])
