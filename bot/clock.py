"""Time as a dependency: production uses the system clock, tests pass their own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Current time, UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; safe to share between threads.

    >>> c = ManualClock(datetime(2026, 1, 1, tzinfo=UTC)); _ = c.advance(seconds=5); c.now().second
    5
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (seconds=, minutes=, ...)."""
        with self._lock:
            self._now = self._now + timedelta(**delta)
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = when
