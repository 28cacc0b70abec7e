"""The node around the chain (client/chain/): `Node` (node.py: block and state reads for the RPC, message calls,
transaction admission, sealing, automine), the transaction pool (txpool.py), the miner that seals the pool's
transactions (miner.py), and what only a dev node has (devchain.py: head-state edits, the clock, mining modes,
impersonation, snapshots and rewinds)."""
