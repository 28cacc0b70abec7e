"""What evm/, state/ and client/ all build on (as revm's primitives crate): the RLP codec (`common.rlp`),
keccak-256 (`common.keccak`) and the protocol constants defined once (`common.constants`). It imports nothing
of the project."""
