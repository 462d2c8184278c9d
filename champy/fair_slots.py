"""A semaphore counted in units (bytes of decode memory, identifications), served first come first served."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CHECK_S = 0.5
"""How often a waiter asks whether whoever it waits for has gone."""


class Abandoned(BaseException):
    """Raised in a waiter whose requester has gone (a closed browser tab): its work is dropped before it starts. A
    `BaseException`, as a stopped script run is, so that whoever shares the work computes it instead of failing."""


class FairSlots:
    """At most `capacity` units held at once by the `hold` blocks in flight; one larger than `capacity` runs alone.

    Waiters are served in arrival order, so a large request is not starved by a stream of small ones."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held = 0
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        """The units held now."""
        with self._changed:
            return self._held

    def _fits(self, ticket: object, size: int) -> bool:
        return self._queue[0] is ticket and (self._held == 0 or self._held + size <= self.capacity)

    @contextmanager
    def hold(
        self, size: int, on_wait: Callable[[int], None] | None = None, gone: Callable[[], bool] | None = None
    ) -> Iterator[None]:
        """Hold `size` units for the block, after every earlier waiter and once they fit. When it has to wait,
        `on_wait` is called first (outside the lock) with the number of waiters ahead of it; while it waits, `gone`
        is asked every `CHECK_S` seconds whether the requester has gone (then `Abandoned` is raised)."""
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            ahead = None if self._fits(ticket, size) else len(self._queue) - 1
        try:
            if ahead is not None and on_wait is not None:
                on_wait(ahead)
            with self._changed:
                while not self._changed.wait_for(lambda: self._fits(ticket, size), timeout=CHECK_S):
                    if gone is not None and gone():
                        raise Abandoned
                self._held += size
        finally:
            with self._changed:
                self._queue.remove(ticket)
                self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._held -= size
                self._changed.notify_all()
