"""Fork rules are gated by one ordered spec id (as revm does), never copied per fork."""
from __future__ import annotations

from enum import IntEnum


class Fork(IntEnum):
    PARIS = 0
    SHANGHAI = 1
    CANCUN = 2
    PRAGUE = 3
    OSAKA = 4

    @classmethod
    def from_name(cls, name: str) -> "Fork":
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown fork {name!r} (supported: {', '.join(f.name.title() for f in cls)})") from None

    @property
    def title(self) -> str:
        return self.name.title()


LATEST = Fork.OSAKA
