"""How `memchat db copy` shows its progress on stderr: bars at a terminal, lines in logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping

from tqdm import tqdm

from storage.copy import CopyProgress


class Bars(CopyProgress):
    """One tqdm bar per table on stderr (rows, rate), for people at a terminal."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.step = ""

    def rows(self, step: str, copied: int, total: int) -> None:
        if step != self.step or self.bar is None:
            self.close()
            self.step = step
            self.bar = tqdm(
                total=total, desc=f"copy {step}", unit=" rows", file=sys.stderr, leave=True
            )
        self.bar.update(copied - self.bar.n)

    def end(self) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Lines(CopyProgress):
    """One line per table on stderr once it is copied (rows, seconds, rate): for logs."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def begin(self, totals: Mapping[str, int]) -> None:
        self.started = time.monotonic()

    def rows(self, step: str, copied: int, total: int) -> None:
        if copied < total:
            return
        seconds = time.monotonic() - self.started
        rate = f", {copied / seconds:,.0f} rows/s" if copied and seconds > 0 else ""
        print(f"copy {step}: {copied:,} rows in {seconds:.2f} s{rate}", file=sys.stderr)
        self.started = time.monotonic()

    def close(self) -> None:
        """Nothing to end: every line is whole."""
