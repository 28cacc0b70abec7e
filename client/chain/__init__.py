"""The chain, as a block's life reads in execution-specs' fork.py and ethrex's blockchain crate:

- `validation.py`: header and body checks before execution, the header's commitments after it;
- `transition.py`: block application, the state transition (system calls, transactions, withdrawals, requests);
- `blockchain.py`: `Blockchain`: import a block, build one, move the canonical head;
- `store.py`: `ChainStore`: headers, bodies, receipts, lookups and the head in LevelDB (docs/storage.md).
"""
