"""Requests first: slow work waits while Slack's requests are being answered.

Slack wants every request answered within 3 s, and people feel every 100 ms of it. The bot's
slow work (starting runs, following them) shares one interpreter, and so one lock, with the
threads answering requests: a burst of 50 commands whose slow work started at once would
answer the last command only after all the others' work had had its turns. So requests
count themselves in (`answering`) from their request line until the answer is sent (in the
HTTP server; in `ForegroundApp.dispatch` for Socket Mode), and slow work calls `wait_quiet`
before it starts: it waits until no request is being answered, at most `limit` seconds, so a
steady stream of requests delays it by a bounded amount and never starves it. Work already
under way waits the same way before each call it makes to Deepnote
(`DeepnoteClient.before_call`) and before posting a run's messages (`Delivery.quiet` in
bot/runs/deliver.py), and so does each round of the poller.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec

from slack_bolt import App, BoltRequest, BoltResponse

log = logging.getLogger(__name__)
P = ParamSpec("P")

# The longest slow work waits for a quiet moment before going ahead anyway.
DEFAULT_LIMIT = 0.25
# How long after the last answer it counts as quiet (the rest of a burst is still arriving).
DEFAULT_SETTLE = 0.02


class Foreground:
    """How many requests are being answered right now, and a way to wait until none is.

    "Quiet" means no request is being answered and none was answered in the last `settle`
    seconds: requests of a burst arrive spread over a few milliseconds, and slow work that
    slipped into a gap would hold up the rest of the burst.

    >>> fg = Foreground(settle=0.0)
    >>> fg.enter()
    >>> fg.wait_quiet(0.01)
    False
    >>> fg.leave()
    >>> fg.wait_quiet(0.01)
    True
    """

    def __init__(self, *, settle: float = DEFAULT_SETTLE) -> None:
        self.settle = settle
        self._local = threading.local()  # how deep this thread is in `answering`
        self._busy = 0
        self._last_answered = -math.inf
        self._quiet = threading.Condition()

    def enter(self) -> None:
        """A request started: slow work holds back until it is answered."""
        with self._quiet:
            self._busy += 1

    def leave(self) -> None:
        """A request was answered."""
        with self._quiet:
            self._busy = max(0, self._busy - 1)
            self._last_answered = time.monotonic()
            if self._busy == 0:
                self._quiet.notify_all()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """`enter` for the duration of a block, in which this thread never waits for quiet."""
        self.enter()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            self.leave()

    def wait_quiet(self, limit: float = DEFAULT_LIMIT) -> bool:
        """Wait until it is quiet, at most `limit` s; True if it got quiet.

        A thread answering a request (inside `answering`) does not wait: it is what the
        others wait for.
        """
        if getattr(self._local, "depth", 0) > 0:
            return True
        deadline = time.monotonic() + limit
        with self._quiet:
            while True:
                now = time.monotonic()
                if self._busy == 0 and now - self._last_answered >= self.settle:
                    return True
                left = deadline - now
                if left <= 0:
                    return False
                if self._busy == 0:  # answered a moment ago: wait out the settle time
                    left = min(left, self._last_answered + self.settle - now)
                self._quiet.wait(left)


class Background:
    """The slow half of every request: run on worker threads once requests are answered.

    Listeners acknowledge on the request's own thread, then hand their slow work here. (Bolt's
    lazy listeners would do the same, but build a deep copy of the request for each one, which
    was 40% of the time to acknowledge a command.) Work handed in while requests are being
    answered is held in a queue, without waking a worker, until none is or until the oldest
    has waited `limit` seconds; then it all goes to the pool. A failure is logged, never raised
    into the pool; handlers report failures to the person themselves.
    """

    def __init__(self, foreground: Foreground, *, workers: int, limit: float = DEFAULT_LIMIT):
        self.foreground = foreground
        self.limit = limit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work")
        self._held: deque[tuple[float, Callable[[], None]]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._releaser = threading.Thread(target=self._release, name="work-release", daemon=True)
        self._releaser.start()

    def submit(
        self, what: str, fn: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Run `fn(*args, **kwargs)` once requests are answered; `what` names it in logs."""

        def work() -> None:
            """Run `fn`; a failure is logged, never raised."""
            try:
                fn(*args, **kwargs)
            except Exception:
                log.exception("background work failed", extra={"event": "work_error", "work": what})

        if self._stopping:
            log.warning(
                "shutting down; work not started", extra={"event": "work_dropped", "work": what}
            )
            return
        self._held.append((time.monotonic(), work))
        self._wake.set()

    def _release(self) -> None:
        """Hand held work to the pool when no request is being answered (or it waited enough)."""
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            while self._held and not self._stopping:
                oldest = self._held[0][0]
                self.foreground.wait_quiet(max(0.0, oldest + self.limit - time.monotonic()))
                self._start_held()

    def _start_held(self) -> None:
        while True:
            try:
                _, work = self._held.popleft()
            except IndexError:
                return
            future = self._pool.submit(work)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def prestart(self, count: int, each: Callable[[], object]) -> None:
        """Start `count` worker threads now, each running `each` once.

        A pool starts a thread when work arrives and finds none idle, and `Thread.start` waits
        until the new thread has run: in a burst of requests that costs the request that
        starts it milliseconds. Tasks that wait for each other force the pool to start them all.
        """
        together = threading.Barrier(count)

        def hold() -> None:
            """Run `each` and wait until every thread has done so."""
            each()
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=10)

        futures.wait([self._pool.submit(hold) for _ in range(count)], timeout=15)

    def shutdown(self, timeout: float) -> int:
        """Stop taking work, wait up to `timeout` s for work under way; return how much is left."""
        self._stopping = True
        self._wake.set()
        self._releaser.join(timeout=1.0)
        self._start_held()  # work already handed in still gets its chance
        with self._lock:
            pending = list(self._pending)
        _, left = futures.wait(pending, timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return len(left)


class ForegroundApp(App):
    """A Bolt app that counts every request it dispatches as being answered (Socket Mode too)."""

    def __init__(self, *, foreground: Foreground, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.foreground = foreground

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """Answer one request of Slack's, counted in the foreground while it is answered."""
        with self.foreground.answering():
            return super().dispatch(req)
