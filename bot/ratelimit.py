"""Request budgets: a sliding-window budget for Deepnote, and per-channel pacing for Slack."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from bot.errors import BudgetExhausted

# How much longer than a second the windows are: a request (or message) is counted by the
# other side a little after its slot was taken, later still when that side is busy.
BUDGET_MARGIN = 0.1
PACE_MARGIN = 0.05


class RequestBudget:
    """At most `rate` requests in any window of one second (a sliding-window log).

    For rates below one, one request per 1/rate seconds. Interactive requests wait for a
    free slot; background requests take one only if it is free now and leave `reserve`
    slots for people.

    >>> b = RequestBudget(2, monotonic=lambda: 0.0)
    >>> b.try_take(), b.try_take(), b.try_take()
    (True, True, False)
    """

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = float(rate)
        self.slots = max(1, math.floor(rate))
        # A little longer than the rate implies, so that requests counted where they arrive
        # still fit in any one-second window (the slot is taken just before the request is
        # written: see DeepnoteClient._before_send).
        self.window = self.slots / self.rate + BUDGET_MARGIN
        self._times: deque[float] = deque()
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self.taken = 0

    def _free_at(self, now: float, reserve: int) -> float:
        """When a request may go, given `reserve` slots kept free (now if it may go now)."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        allowed = self.slots - reserve
        if allowed <= 0:
            return float("inf")
        if len(self._times) < allowed:
            return now
        return self._times[len(self._times) - allowed] + self.window

    def try_take(self, reserve: float = 0.0) -> bool:
        """Take a slot now if one is free beyond `reserve`."""
        keep = int(reserve) if self.slots > int(reserve) else 0
        with self._lock:
            now = self._monotonic()
            if self._free_at(now, keep) > now:
                return False
            self._times.append(now)
            self.taken += 1
            return True

    def take(self, max_wait: float = 10.0) -> None:
        """Wait for a slot (at most `max_wait` seconds), then take it."""
        deadline = self._monotonic() + max_wait
        while True:
            with self._lock:
                now = self._monotonic()
                free = self._free_at(now, 0)
                if free <= now:
                    self._times.append(now)
                    self.taken += 1
                    return
            if free > deadline:
                raise BudgetExhausted("the Deepnote request budget is used up")
            self._sleep(max(0.001, free - now))


class ChannelPacer:
    """At most one message per channel per `interval` seconds: new messages and edits alike.

    Slack allows about one message per second per channel. Whatever would go faster waits
    for a later round: new cards, edits of cards, thread replies and files. An edit always
    shows the card's latest state, so several status changes of one card inside the window
    become one edit. An interval of 0 turns pacing off.
    """

    def __init__(
        self,
        interval_seconds: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # A small margin: Slack sees a call a little after its slot was taken.
        self.interval = interval_seconds + PACE_MARGIN if interval_seconds > 0 else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._retry_at = math.inf
        self._lock = threading.Lock()

    def allow(self, channel: str) -> bool:
        """Take the channel's slot if it is free now (else note when to try again)."""
        if self.interval <= 0:
            return True
        with self._lock:
            now = self._monotonic()
            free_at = self._next.get(channel, 0.0)
            if free_at > now:
                self._retry_at = min(self._retry_at, free_at)
                return False
            self._next[channel] = now + self.interval
            return True

    def retry_due(self) -> bool:
        """True once, when a slot that was refused has come free since (see `allow`)."""
        with self._lock:
            if self._monotonic() >= self._retry_at:
                self._retry_at = math.inf
                return True
            return False

    def wait(self, channel: str, max_wait: float = 60.0) -> None:
        """Reserve the channel's next free slot and sleep until it comes."""
        if self.interval <= 0:
            return
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next.get(channel, 0.0))
            slot = min(slot, now + max_wait)
            self._next[channel] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
