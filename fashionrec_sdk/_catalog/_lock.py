"""A phase-fair reader-writer lock.

Queries hold the shared side for the whole search (candidate generation, filtering
and copying the hits' products and vectors), so a reader never sees half of an
update. Upserts, deletes and index resizes hold the exclusive side, but only while
they *apply* already-encoded vectors, in small chunks: encoding and image fetching
happen outside the lock.

Fair in both directions: a waiting writer stops new readers from entering (a stream
of queries cannot starve an upsert); when a writer leaves, every reader waiting at
that moment goes in before the next writer, and for as long as that writer held the
lock, new readers keep entering even though another writer waits (a writer applying
chunk after chunk cannot starve queries: under contention, time is split about
evenly between the two sides). With no reader around, writers run back to back.
``benchmarks/catalog_concurrency.py`` measures query throughput under writes with
this lock and with a plain mutex.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RWLock"]


class RWLock:
    """Many readers or one writer; not reentrant (a reader must not read again while
    holding the lock: a writer waiting in between would deadlock it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_readers = 0
        self._waiting_writers = 0
        self._readers_turn = False  # set when a writer leaves with readers waiting
        self._readers_until = 0.0  # monotonic time until which readers have priority

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the shared side for the duration of the ``with`` block."""
        with self._cond:
            self._waiting_readers += 1
            try:
                while self._writer or (self._waiting_writers and not self._readers_first()):
                    self._cond.wait()
            finally:
                self._waiting_readers -= 1
                if not self._waiting_readers and self._readers_turn:
                    self._readers_turn = False  # every reader of this turn is in
                    self._cond.notify_all()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the exclusive side for the duration of the ``with`` block."""
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers or self._readers_turn:
                    remaining = self._readers_until - time.monotonic()
                    self._cond.wait(remaining if remaining > 0 else None)
            finally:
                self._waiting_writers -= 1
            self._writer = True
        start = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                end = time.monotonic()
                self._readers_turn = self._waiting_readers > 0
                self._readers_until = end + (end - start)
                self._cond.notify_all()

    def _readers_first(self) -> bool:
        return self._readers_turn or time.monotonic() < self._readers_until
