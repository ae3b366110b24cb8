"""A ceiling on documents read per second (`--rate`), shared by every read of one scan.

One Throttle is made per run and every live read spends from it: the sampling of each collection
(`sources/live.py`, per document the server sends) and the exact pass (after each collection, its
documents at once, so a big collection is paid for by a pause before the next one). Concurrent
collections share it, so `--rate` bounds the whole scan, not each cursor.

It is a token bucket holding at most BURST_S seconds of documents: after any stretch of time t
the scan has spent at most rate * (t + BURST_S + MIN_PAUSE_S) documents. A spend that would go
over the bucket reserves its documents at once (the next caller waits behind it) and sleeps until
they are paid for. Waits shorter than MIN_PAUSE_S are not slept but carried as debt into the
next spend: a sleep per document at a high rate would cost more than it holds back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

BURST_S = 0.05  # the bucket holds this many seconds of documents (at least one document)
MIN_PAUSE_S = 0.005  # shorter waits are carried into the next spend instead of slept


class Throttle:
    """Documents per second across a whole scan; `rate` None is no ceiling (only counting)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be above 0, not {rate}")
        self.rate = rate
        self.documents = 0  # spent in all
        self.paused_s = 0.0  # wall time during which at least one read was held back
        self._clock = clock
        self._capacity = max(1.0, rate * BURST_S) if rate else 0.0
        self._tokens = self._capacity  # may go below 0: documents reserved, not yet paid for
        self._filled_at: float | None = None
        self._started: float | None = None  # the first spend
        self._ended: float | None = None  # the end of the last spend
        self._sleepers = 0
        self._pause_started = 0.0
        self._lock = threading.Lock()

    async def spend(self, documents: int) -> None:
        """Count `documents` read, sleeping (without blocking the event loop) as long as the
        ceiling needs."""
        wait = self._reserve(documents)
        if wait:
            self._pausing(True)
            try:
                await asyncio.sleep(wait)
            finally:
                self._pausing(False)
        self._ended = self._clock()

    def spend_sync(self, documents: int) -> None:
        """`spend` for synchronous code: the same bucket, with time.sleep."""
        wait = self._reserve(documents)
        if wait:
            self._pausing(True)
            try:
                time.sleep(wait)
            finally:
                self._pausing(False)
        self._ended = self._clock()

    @property
    def elapsed_s(self) -> float:
        """From the first spend to the end of the last one."""
        if self._started is None or self._ended is None:
            return 0.0
        return max(self._ended - self._started, 0.0)

    def summary(self) -> str:
        """One line for stderr: "read 12,000 documents in 31.2 s under --rate 500 (paused 6.1 s)"."""
        read = f"read {self.documents:,} documents in {self.elapsed_s:.1f} s"
        if self.rate is None:
            return f"{read} (no --rate ceiling)"
        return f"{read} under --rate {self.rate:g} (paused {self.paused_s:.1f} s)"

    def _reserve(self, documents: int) -> float:
        """Take `documents` from the bucket; the seconds to sleep before they are paid for (0:
        none, or less than MIN_PAUSE_S, carried as debt)."""
        with self._lock:
            now = self._clock()
            if self._started is None:
                self._started = self._filled_at = now
            self.documents += documents
            if self.rate is None:
                return 0.0
            self._tokens = min(self._capacity, self._tokens + (now - self._filled_at) * self.rate)
            self._filled_at = now
            self._tokens -= documents
            wait = -self._tokens / self.rate
            return wait if wait >= MIN_PAUSE_S else 0.0

    def _pausing(self, starts: bool) -> None:
        """Count the wall time during which at least one spender sleeps (concurrent collections
        pause together: their pauses are not added up)."""
        with self._lock:
            now = self._clock()
            if starts:
                if self._sleepers == 0:
                    self._pause_started = now
                self._sleepers += 1
            else:
                self._sleepers -= 1
                if self._sleepers == 0:
                    self.paused_s += now - self._pause_started
