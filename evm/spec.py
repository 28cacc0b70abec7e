"""The forks a post-Merge chain can be at, in activation order. What each fork changes is data: one
`ForkRules` per fork in evm/rules.py, which every fork decision reads (never a comparison of ids)."""

from __future__ import annotations

from enum import IntEnum


class Fork(IntEnum):
    PARIS = 0
    SHANGHAI = 1
    CANCUN = 2
    PRAGUE = 3
    OSAKA = 4
    # EIP-7892 blob-parameter-only forks: Osaka's EVM with another blob schedule
    BPO1 = 5
    BPO2 = 6
    BPO3 = 7
    BPO4 = 8
    BPO5 = 9

    @classmethod
    def from_name(cls, name: str) -> Fork:
        """A fork by name, any case ("Merge" is Paris, as older fixtures call it)."""
        key = name.upper()
        if key == "MERGE":
            key = "PARIS"
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown fork {name!r} (supported: {', '.join(f.title for f in cls)})") from None

    @property
    def title(self) -> str:
        """The name geth, the EIPs and the fixtures use: "Paris", "Osaka", "BPO1"."""
        return self.name if self.name.startswith("BPO") else self.name.title()
