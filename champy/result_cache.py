"""A thread-safe cache bounded in bytes and in age: what a server keeps of recent answers.

Entries go least recently used first when the cache holds more than `max_bytes`, and expire
`ttl_s` seconds after they were stored, so the memory they take returns once requests stop. A value being computed
is shared: a second request for its key waits for the first one's answer instead of computing it again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

Value = TypeVar("Value")


class _Stopped(Exception):
    """What the callers waiting for a value get when the caller computing it was stopped: they try again."""


class ResultCache(Generic[Value]):
    """Computed values by key, at most `max_bytes` in all (as `size_of` counts them), each for `ttl_s` seconds."""

    def __init__(
        self, max_bytes: int, ttl_s: float, size_of: Callable[[Value], int], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._size_of = size_of
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[Value, int, float]] = OrderedDict()
        self._in_flight: dict[Hashable, Future[Value]] = {}
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        """The bytes the live entries take."""
        with self._lock:
            self._expire()
            return sum(size for _, size, _ in self._entries.values())

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    @property
    def in_flight(self) -> int:
        """How many values are being computed now."""
        with self._lock:
            return len(self._in_flight)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        """The value stored under `key`, else the one being computed for it (waited for), else `compute()` stored
        (when it fits) and returned. An error of `compute()` reaches every caller waiting for it and is not stored;
        when the computing caller was stopped instead (a `BaseException` such as a stopped script run), the next
        waiter computes the value itself."""
        while True:
            with self._lock:
                self._expire()
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
                pending = self._in_flight.get(key)
                if pending is None:
                    self._in_flight[key] = pending = Future()
                    break
            try:
                return pending.result()
            except _Stopped:
                continue
        return self._compute(key, compute, pending)

    def _compute(self, key: Hashable, compute: Callable[[], Value], owned: Future[Value]) -> Value:
        try:
            value = compute()
        except Exception as exc:
            self._forget(key)
            owned.set_exception(exc)
            raise
        except BaseException:
            self._forget(key)
            owned.set_exception(_Stopped())
            raise
        size = self._size_of(value)
        with self._lock:
            del self._in_flight[key]
            if size <= self.max_bytes:
                self._entries[key] = (value, size, self._clock() + self.ttl_s)
                self._entries.move_to_end(key)
                self._shrink()
        owned.set_result(value)
        return value

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            del self._in_flight[key]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def _expire(self) -> None:
        now = self._clock()
        for key in [key for key, (_, _, expires) in self._entries.items() if expires <= now]:
            del self._entries[key]

    def _shrink(self) -> None:
        self._expire()
        total = sum(size for _, size, _ in self._entries.values())
        while total > self.max_bytes:
            _, (_, size, _) = self._entries.popitem(last=False)
            total -= size
