"""A thread-safe cache bounded in bytes and in age: what a server keeps of recent answers.

Entries (a `cachetools.TTLCache` sized in bytes) go least recently used first when the cache holds more than
`max_bytes`, and expire `ttl_s` seconds after they were stored, so the memory they take returns once requests stop.
A value being computed is shared: a second request for its key waits for the first one's answer instead of computing
it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

from cachetools import TTLCache

Value = TypeVar("Value")


class _Stopped(Exception):
    """What the callers waiting for a value get when the caller computing it was stopped: they try again."""


class ResultCache(Generic[Value]):
    """Computed values by key, at most `max_bytes` in all (as `size_of` counts them), each for `ttl_s` seconds."""

    def __init__(
        self, max_bytes: int, ttl_s: float, size_of: Callable[[Value], int], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._entries: TTLCache[Hashable, Value] = TTLCache(max_bytes, ttl_s, timer=clock, getsizeof=size_of)
        self._in_flight: dict[Hashable, Future[Value]] = {}
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        """The bytes the live entries take."""
        with self._lock:
            self._entries.expire()
            return int(self._entries.currsize)

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
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
                if key in self._entries:
                    return self._entries[key]  # a read makes it the most recently used
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
        try:
            with self._lock:
                del self._in_flight[key]
                if self._size_of(value) <= self.max_bytes:  # a larger one is answered, not kept
                    self._entries[key] = value
        finally:
            owned.set_result(value)  # the waiters get the value even if storing it failed
        return value

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            del self._in_flight[key]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
