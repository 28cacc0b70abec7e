"""The progress bar of long runs (fixture runners, local or over Ray; import; export): tqdm on
stderr, drawn only when stderr is a terminal, with a running count of failures where there are any."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    def __init__(
        self,
        total: int | None,
        label: str = "",
        enabled: bool | None = None,
        unit: str = "it",
        file: TextIO | None = None,
    ) -> None:
        file = file or sys.stderr
        self.failed = 0
        self.bar = tqdm(
            total=total,
            desc=label,
            unit=unit,
            file=file,
            dynamic_ncols=True,
            leave=True,
            disable=not (file.isatty() if enabled is None else enabled),
        )

    def advance(self, n: int = 1, failed: int = 0) -> None:
        if failed:
            self.failed += failed
            self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
