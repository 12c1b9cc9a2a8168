"""Request budgets: a sliding-window budget for Deepnote, and pacing for Slack.

Slack is paced by `AdaptivePacer` (the default): per-channel posting with short bursts, card
edits on their own workspace-wide budget, and `Retry-After` honoured when Slack says 429.
`ChannelPacer` is the fixed override (`SLACK_CHANNEL_PACE_SECONDS`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import BudgetExhausted

# How much longer than a second the windows are: a request (or message) is counted by the
# other side a little after its slot was taken, later still when that side is busy.
BUDGET_MARGIN = 0.1
PACE_MARGIN = 0.05
# Calls that add a message to a channel: they take the channel's bucket.
_POSTS = ("chat.postMessage", "files.upload_v2")


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

    def try_take(self, reserve: float = 0.0, max_wait: float = 0.0) -> bool:
        """Take a slot beyond `reserve` if one is free now or within `max_wait` seconds (then
        after waiting for it); False, at once, when none is.

        >>> clock = [0.0]
        >>> def sleep(seconds: float) -> None:
        ...     clock[0] += seconds
        >>> b = RequestBudget(1, monotonic=lambda: clock[0], sleep=sleep)
        >>> b.try_take(), b.try_take(), b.try_take(max_wait=1.2)
        (True, False, True)
        """
        keep = int(reserve) if self.slots > int(reserve) else 0
        deadline = self._monotonic() + max_wait
        while True:
            with self._lock:
                now = self._monotonic()
                free = self._free_at(now, keep)
                if free <= now:
                    self._times.append(now)
                    self.taken += 1
                    return True
            if free > deadline:
                return False
            self._sleep(max(0.001, free - now))  # outside the lock: people's calls go on

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
        self._held: dict[str, float] = {}
        self._retry_at = math.inf
        self._lock = threading.Lock()

    def allow(self, channel: str) -> bool:
        """Take the channel's slot if it is free now (else note when to try again)."""
        with self._lock:
            now = self._monotonic()
            held = self._held.get(channel, 0.0)
            if held > now:  # Slack's Retry-After holds even with pacing off
                self._retry_at = min(self._retry_at, held)
                return False
            if self.interval <= 0:
                return True
            free_at = self._next.get(channel, 0.0)
            if free_at > now:
                self._retry_at = min(self._retry_at, free_at)
                return False
            self._next[channel] = now + self.interval
            return True

    def allow_edit(self, channel: str, *, final: bool) -> bool:
        """Take a slot for editing a message in `channel` (here: the channel's own slot)."""
        return self.allow(channel)

    def throttled(self, method: str, channel: str | None, retry_after: float | None) -> None:
        """Slack answered 429: hold the channel's messages until its `Retry-After` is over."""
        if channel is None:
            return
        with self._lock:
            until = self._monotonic() + (retry_after if retry_after is not None else 1.0)
            self._held[channel] = max(self._held.get(channel, 0.0), until)
            self._retry_at = min(self._retry_at, until)

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


@dataclass
class _Bucket:
    """A token bucket whose size adapts: halved on a 429, grown by one each quiet `probe`."""

    tokens: float
    last: float
    floor: int  # the size after the last 429 (or the starting size)
    since: float  # when the size was last cut
    blocked_until: float = 0.0

    def size(self, now: float, ceiling: int, probe: float) -> int:
        """The burst allowed now: probing back up, one call per quiet `probe` seconds."""
        grown = int((now - self.since) / probe) if probe > 0 else 0
        return max(1, min(ceiling, self.floor + grown))


class AdaptivePacer(ChannelPacer):
    """Slack's limits as the bot keeps them: bursts per channel, edits per workspace.

    New messages (cards, thread replies, files) take a token of their channel's bucket: about
    one a second (`post_rate`), with a burst of up to `burst` after a quiet spell. Card edits take
    a token of one workspace-wide bucket (chat.update is limited per workspace, about 50 a
    minute), and an intermediate edit ("running") leaves `edit_reserve` tokens for outcomes.
    Slack does not publish burst sizes, so they adapt: a 429 halves the bucket's size and
    holds it for `Retry-After`; each `probe_seconds` without a 429 lets it grow by one again.

    >>> now = [0.0]
    >>> p = AdaptivePacer(monotonic=lambda: now[0], burst=3, max_burst=3)
    >>> [p.allow("C1") for _ in range(4)]
    [True, True, True, False]
    >>> p.allow("C2")
    True
    """

    def __init__(
        self,
        *,
        post_rate: float = 1.0,
        burst: int = 3,
        max_burst: int = 6,
        edits_per_minute: float = 50.0,
        edit_burst: int = 10,
        max_edit_burst: int = 20,
        edit_reserve: int = 3,
        probe_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(1.0 / post_rate, monotonic=monotonic, sleep=sleep)
        # Slack counts a call a little after the bucket here was charged: refill a little slower.
        self.post_rate = post_rate / (1.0 + PACE_MARGIN)
        self.edit_rate = edits_per_minute / 60.0 / (1.0 + PACE_MARGIN)
        self.burst, self.max_burst = burst, max(burst, max_burst)
        self.edit_burst, self.max_edit_burst = edit_burst, max(edit_burst, max_edit_burst)
        self.edit_reserve = edit_reserve
        self.probe = probe_seconds
        self._channels: dict[str, _Bucket] = {}
        self._edits: _Bucket | None = None
        self.throttles = 0

    def _bucket(self, channel: str | None, now: float) -> tuple[_Bucket, float, int]:
        """The bucket (a channel's, or the edits' when None), refilled to `now`; rate, size."""
        if channel is None:
            if self._edits is None:
                self._edits = _Bucket(float(self.edit_burst), now, self.edit_burst, now)
            bucket, rate, ceiling = self._edits, self.edit_rate, self.max_edit_burst
        else:
            if channel not in self._channels:
                self._channels[channel] = _Bucket(float(self.burst), now, self.burst, now)
            bucket, rate, ceiling = self._channels[channel], self.post_rate, self.max_burst
        size = bucket.size(now, ceiling, self.probe)
        bucket.tokens = min(float(size), bucket.tokens + max(0.0, now - bucket.last) * rate)
        bucket.last = now
        return bucket, rate, size

    def _take(self, channel: str | None, keep: int = 0) -> bool:
        """Take a token if one is free beyond `keep` (else note when to try again)."""
        with self._lock:
            now = self._monotonic()
            bucket, rate, size = self._bucket(channel, now)
            need = 1.0 + min(keep, size - 1)
            if bucket.blocked_until > now:
                self._retry_at = min(self._retry_at, bucket.blocked_until)
                return False
            if bucket.tokens < need:
                self._retry_at = min(self._retry_at, now + (need - bucket.tokens) / rate)
                return False
            bucket.tokens -= 1.0
            return True

    def allow(self, channel: str) -> bool:
        """Take a token of the channel's bucket for a new message, if one is free now."""
        return self._take(channel)

    def allow_edit(self, channel: str, *, final: bool) -> bool:
        """Take a token of the workspace's edit budget; an intermediate edit leaves a reserve."""
        return self._take(None, 0 if final else self.edit_reserve)

    def wait(self, channel: str, max_wait: float = 60.0) -> None:
        """Reserve the channel's next token and sleep until it comes (at most `max_wait`)."""
        with self._lock:
            now = self._monotonic()
            bucket, rate, _ = self._bucket(channel, now)
            delay = max(bucket.blocked_until - now, (1.0 - bucket.tokens) / rate, 0.0)
            bucket.tokens -= 1.0  # below zero: later callers queue behind this one
        if delay > 0:
            self._sleep(min(delay, max_wait))

    def throttled(self, method: str, channel: str | None, retry_after: float | None) -> None:
        """Slack answered 429: halve that bucket's burst and hold it for `Retry-After`."""
        edit = method == "chat.update"
        if not edit and (method not in _POSTS or channel is None):
            return
        with self._lock:
            now = self._monotonic()
            bucket, _, size = self._bucket(None if edit else channel, now)
            bucket.floor, bucket.since = max(1, size // 2), now
            bucket.tokens = min(bucket.tokens, 0.0)
            wait = retry_after if retry_after is not None else 1.0
            bucket.blocked_until = max(bucket.blocked_until, now + wait)
            self._retry_at = min(self._retry_at, bucket.blocked_until)
            self.throttles += 1
