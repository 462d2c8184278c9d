"""Progress of a long loop on stderr: a tqdm bar that also counts the items that failed."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Counts done and failed items out of `total` on a tqdm bar (nothing is drawn unless `enabled`)."""

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, enabled: bool = True):
        self.failed = 0
        self._bar = tqdm(total=total, desc=label, file=stream, disable=not enabled, unit="file", mininterval=0.2)

    def advance(self, ok: bool) -> None:
        """Count one finished item."""
        if not ok:
            self.failed += 1
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._bar.close()
