"""A one-line progress bar on stderr, redrawn at most a few times a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts done and failed items out of `total` and shows the rate."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, enabled: bool = True):
        self.total, self.label, self.stream, self.enabled = total, label, stream, enabled
        self.done = self.failed = 0
        self._started = self._drawn = time.monotonic()

    def advance(self, ok: bool) -> None:
        """Count one finished item."""
        self.done += 1
        self.failed += 0 if ok else 1
        if time.monotonic() - self._drawn >= 0.2 or self.done == self.total:
            self._draw()

    def _draw(self, end: str = "") -> None:
        if not self.enabled:
            return
        self._drawn = time.monotonic()
        rate = self.done / max(self._drawn - self._started, 1e-9)
        filled = int(30 * self.done / self.total) if self.total else 30
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} failed {self.failed} {rate:.1f}/s{end}")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(end="\n")
