"""A circuit breaker for the calls to one Milvus server: a failing server is skipped for a while, not waited on.

closed ──(N consecutive transport failures, or one call that ran out its whole deadline)──▶ open
open ──(cool-down over: one probe call is let through)──▶ half-open ──success──▶ closed
                                                                  └─failure──▶ open (another cool-down)

A call that ran out its deadline opens the breaker at once: the server is hung, and every further call would make
its caller wait that long too (one web request can make several store calls). While the breaker is open or its
probe is running, every call is refused at once. The probe is made by the store itself (VectorStore._probe), so
no request waits on a server that may still hang; a caller only waits a fraction of a second for it.
"""

from __future__ import annotations

import threading
import time

from recommender.milvus_defaults import BREAKER_FAILURES, BREAKER_SECONDS


class CircuitBreaker:
    """Thread-safe state of one breaker; the clock is injectable for tests."""

    def __init__(
        self, failures: int = BREAKER_FAILURES, seconds: float = BREAKER_SECONDS, clock=time.monotonic
    ) -> None:
        if failures < 1 or seconds < 0:
            raise ValueError("a circuit breaker needs failures >= 1 and seconds >= 0")
        self.failures_to_open, self.seconds, self._clock = int(failures), float(seconds), clock
        self._lock = threading.Lock()
        self._failures = 0  # consecutive transport failures
        self._open_until: float | None = None  # None: closed
        self._probing = False
        self._last_error = ""
        self.opened = 0  # how many times it opened (for logs and tests)

    @property
    def state(self) -> str:
        with self._lock:
            if self._open_until is None:
                return "closed"
            return "half-open" if self._probing or self._clock() >= self._open_until else "open"

    def refusal(self) -> str | None:
        """None when a call may go ahead; otherwise why it may not (open, or half-open with its probe running)."""
        with self._lock:
            if self._open_until is None:
                return None
            left = max(0.0, self._open_until - self._clock())
            return (
                f"circuit open after {self._failures} failure{'s' if self._failures != 1 else ''} "
                f"(last: {self._last_error}); next try in {left:.1f} s"
            )

    def probe_claim(self) -> bool:
        """True for exactly one caller once the cool-down is over: that caller starts the probe (half-open)."""
        with self._lock:
            if self._open_until is None or self._probing or self._clock() < self._open_until:
                return False
            self._probing = True
            return True

    def probe_done(self) -> None:
        """The probe ended without recording anything (it crashed): count it as a failure."""
        with self._lock:
            if self._probing:
                self._probing = False
                self._open_until = self._clock() + self.seconds

    def success(self) -> None:
        """The server answered (data or a Milvus error about the data): close."""
        with self._lock:
            self._failures, self._open_until, self._probing = 0, None, False

    def failure(self, error: str, *, timed_out: bool = False) -> bool:
        """A transport failure or timeout; True when this failure opened (or re-opened) the breaker."""
        with self._lock:
            self._failures += 1
            self._last_error = error
            if not (timed_out or self._probing or self._failures >= self.failures_to_open):
                return False
            was_closed = self._open_until is None
            self._open_until, self._probing = self._clock() + self.seconds, False
            if was_closed:
                self.opened += 1
            return was_closed
