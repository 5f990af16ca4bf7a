"""A clock for code that takes `clock` and `sleep` callables (the SES pacer): time moves only when it sleeps."""

from __future__ import annotations

import threading


class FakeClock:
    """Time that only moves when the pacer sleeps, so tests count sleeps instead of measuring them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
