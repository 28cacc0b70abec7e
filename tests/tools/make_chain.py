"""Build a synthetic chain on top of genesis/dev.json (Osaka at genesis, chain id 1337) and write it as a chain
file (geth format: concatenated block RLP) — for the import tests and the import throughput figure.

Block 1 deploys two contracts; every later block carries `--txs` transactions from the ten funded dev
accounts, of every type (legacy EIP-155, 2930, 1559, 4844, 7702): transfers to fresh addresses, calls to a
loop contract (keccak256 in a loop, then a counter SSTORE), calls to a storage writer (an SSTORE to a new slot and
a LOG1), and two withdrawals.

    python tests/tools/make_chain.py --blocks 200 --txs 40 --out /tmp/chain.rlp
    evm-mlir init --genesis genesis/dev.json --datadir /tmp/dd
    evm-mlir import --datadir /tmp/dd /tmp/chain.rlp
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from eth_hash.auto import keccak  # noqa: E402

from client.blocks import Withdrawal  # noqa: E402
from client.chain.blockchain import Blockchain  # noqa: E402
from client.chain.store import ChainStore  # noqa: E402
from client.dev_accounts import DEV_KEYS  # noqa: E402
from client.genesis import load_genesis  # noqa: E402
from evm.transactions import Authorization, Transaction  # noqa: E402
from state.kv import MemoryStore  # noqa: E402

DEV_GENESIS = os.path.join(ROOT, "genesis", "dev.json")
CHAIN_ID = 1337
KEYS = [bytes.fromhex(k) for k in DEV_KEYS]  # the accounts genesis/dev.json funds

# n = calldata[0]; do { mem[0] = keccak(mem[0:32]); } while (--n); slot0 += 1
LOOP_RUNTIME = bytes.fromhex("6000355b602060002060005260019003806003575060005460010160005500")
# sstore(calldata[0], calldata[32]); log1(topic = calldata[0])
WRITER_RUNTIME = bytes.fromhex("6020356000355560003560006000a100")


def contract_address(sender: bytes, nonce: int) -> bytes:
    import rlp

    return keccak(rlp.encode([sender, nonce]))[12:]


def initcode(runtime: bytes) -> bytes:
    n = len(runtime)
    return bytes([0x60, n, 0x80, 0x60, 11, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3]) + runtime


def _word(v: int) -> bytes:
    return v.to_bytes(32, "big")


class ChainMaker:
    def __init__(self, genesis_path: str = DEV_GENESIS, backend: str = "interpreter") -> None:
        genesis, _ = load_genesis(genesis_path)
        self.store = ChainStore(MemoryStore())
        self.genesis_header = self.store.init_genesis(genesis)
        self.chain = Blockchain(self.store, genesis.config, backend)
        self.head = self.genesis_header.hash
        self.number = 0
        self.nonces = [0] * len(KEYS)
        self.senders: list[bytes] = []
        from coincurve import PrivateKey

        for k in KEYS:
            self.senders.append(keccak(PrivateKey(k).public_key.format(compressed=False)[1:])[12:])
        self.loop = contract_address(self.senders[0], 0)
        self.writer = contract_address(self.senders[0], 1)
        self.slot = 0
        self.block_blobs = 0
        self.blocks: list[bytes] = []

    def _tx(self, i: int, **kw) -> Transaction:
        tx = Transaction(chain_id=CHAIN_ID, nonce=self.nonces[i], **kw)
        self.nonces[i] += 1
        return tx.sign(KEYS[i])

    def _fee(self, t: int) -> dict:
        if t in (0, 1):
            return {"gas_price": 50 * 10**9}
        return {"max_fee_per_gas": 50 * 10**9, "max_priority_fee_per_gas": 10**9}

    def make_tx(self, k: int) -> Transaction:
        i = k % len(KEYS)
        kind = k % 5
        t = (0, 1, 2, 3, 4)[(k // 5) % 5]
        if t == 3:
            if self.block_blobs >= 6:  # stay within the block's blob gas
                t = 2
            else:
                self.block_blobs += 1
        if kind in (0, 3):  # a transfer to a fresh address
            to = keccak(b"fresh" + _word(k) + _word(self.number))[12:]
            data, gas = b"", 21000
        elif kind in (1, 4):  # the loop contract
            to, data, gas = self.loop, _word(40 + k % 60), 120_000
        else:  # the storage writer: a new slot, a log
            self.slot += 1
            to, data, gas = self.writer, _word(self.slot) + _word(self.number + 1), 60_000
        kw = dict(type=t, to=to, data=data, gas=gas, value=1, **self._fee(t))
        if t == 1:
            kw["access_list"] = ((to, (0,)),)
            kw["gas"] += 2400 + 1900
        if t == 3:
            kw["max_fee_per_blob_gas"] = 10**9
            kw["blob_versioned_hashes"] = (b"\x01" + keccak(_word(k))[1:],)
        if t == 4:  # a self-sponsored authorization that delegates to nobody (clears the code)
            auth_nonce = self.nonces[i] + 1
            kw["authorizations"] = (self._auth(i, auth_nonce),)
            kw["gas"] += 25000
        tx = self._tx(i, **kw)
        if t == 4:
            self.nonces[i] += 1  # the authorization bumped the nonce too
        return tx

    def _auth(self, i: int, nonce: int) -> Authorization:
        import rlp
        from coincurve import PrivateKey

        addr = b"\x00" * 20
        digest = keccak(b"\x05" + rlp.encode([CHAIN_ID, addr, nonce]))
        sig = PrivateKey(KEYS[i]).sign_recoverable(digest, hasher=None)
        return Authorization(
            CHAIN_ID, addr, nonce, sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
        )

    def add_block(self, txs: list[Transaction]) -> bytes:
        n = self.number + 1
        withdrawals = [Withdrawal(2 * n + j, j, keccak(b"validator" + _word(j))[12:], 10**6 + n) for j in range(2)]
        block = self.chain.build_block(
            self.head,
            txs,
            timestamp=12 * n,
            coinbase=self.senders[9],
            withdrawals=withdrawals,
            parent_beacon_block_root=keccak(_word(n)),
            prev_randao=keccak(b"randao" + _word(n)),
        )
        self.head = block.hash
        self.number = n
        raw = block.encode()
        self.blocks.append(raw)
        return raw

    def make(self, blocks: int, txs_per_block: int) -> list[bytes]:
        if self.number == 0 and blocks > 0:
            deploy = [
                self._tx(0, type=2, to=None, data=initcode(LOOP_RUNTIME), gas=200_000, **self._fee(2)),
                self._tx(0, type=2, to=None, data=initcode(WRITER_RUNTIME), gas=200_000, **self._fee(2)),
            ]
            self.add_block(deploy)
            blocks -= 1
        k = 0
        for _ in range(blocks):
            txs = []
            self.block_blobs = 0
            for _ in range(txs_per_block):
                txs.append(self.make_tx(k))
                k += 1
            self.add_block(txs)
        return self.blocks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=100)
    p.add_argument("--txs", type=int, default=20, help="transactions per block")
    p.add_argument("--out", required=True, help="chain file to write")
    args = p.parse_args(argv)
    maker = ChainMaker()
    blocks = maker.make(args.blocks, args.txs)
    with open(args.out, "wb") as fh:
        for raw in blocks:
            fh.write(raw)
    print(f"{len(blocks)} blocks, head {maker.number} 0x{maker.head.hex()} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
