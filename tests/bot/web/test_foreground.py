"""Requests first: slow work waits while requests are answered, and the HTTP front end never
runs out of threads.

The foreground/background pieces are the bot's own code, driven here for real (threads, a
real HTTP server on 127.0.0.1); the end-to-end side is in test_acknowledgements.py.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID
from bot.web.foreground import Background, Foreground
from bot.web.http_server import WORKERS
from tests.conftest import Harness
from tests.e2e.test_interactions import cards, creates


def test_work_handed_in_during_a_request_starts_after_the_answer() -> None:
    fg = Foreground(settle=0.0)
    bg = Background(fg, workers=4, limit=30.0)
    started = threading.Event()
    with fg.answering():
        bg.submit("test", started.set)
        assert not started.wait(0.3)  # held while the request is being answered
    assert started.wait(5.0)
    assert bg.shutdown(5.0) == 0


def test_work_is_held_only_a_bounded_time_when_requests_never_stop() -> None:
    fg = Foreground(settle=0.0)
    bg = Background(fg, workers=4, limit=0.2)
    started = threading.Event()
    fg.enter()  # a request that is never answered
    try:
        bg.submit("test", started.set)
        assert started.wait(5.0)
    finally:
        fg.leave()
        bg.shutdown(5.0)


def test_quiet_waits_for_the_end_of_a_burst() -> None:
    fg = Foreground(settle=0.2)
    with fg.answering():
        pass
    assert not fg.wait_quiet(0.05)  # answered a moment ago: the rest of the burst may follow
    assert fg.wait_quiet(1.0)


def test_a_thread_answering_a_request_never_waits_for_itself() -> None:
    fg = Foreground(settle=10.0)
    with fg.answering():
        assert fg.wait_quiet(5.0)


def test_failing_work_is_logged_and_the_pool_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    fg = Foreground(settle=0.0)
    bg = Background(fg, workers=2)
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("broken")

    with caplog.at_level(logging.ERROR, logger="bot.web.foreground"):
        bg.submit("boom", boom)
        bg.submit("after", done.set)
        assert done.wait(5.0)
        assert bg.shutdown(5.0) == 0
    assert any(r.__dict__.get("work") == "boom" for r in caplog.records)


def test_shutdown_lets_work_under_way_finish_and_reports_what_did_not() -> None:
    fg = Foreground(settle=0.0)
    bg = Background(fg, workers=2)
    finished = threading.Event()
    release = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        finished.set()

    bg.submit("slow", slow)
    time.sleep(0.1)
    assert bg.shutdown(5.0) == 0
    assert finished.is_set()

    bg = Background(fg, workers=2)
    bg.submit("stuck", release.wait, 10.0)
    time.sleep(0.1)
    assert bg.shutdown(0.2) == 1  # still running when the grace ran out
    release.set()
    bg.submit("late", finished.clear)  # after shutdown: dropped, not run
    time.sleep(0.1)
    assert finished.is_set()


def test_idle_connections_do_not_starve_new_requests(harness: Harness) -> None:
    """More idle kept-alive connections than waiting threads: a new request is still answered."""
    h = harness
    idle = [
        socket.create_connection(("127.0.0.1", h.server.port), timeout=5)
        for _ in range(WORKERS + 8)
    ]
    try:
        with httpx.Client(timeout=5.0) as client:
            answer = client.get(f"http://127.0.0.1:{h.server.port}/healthz")
        assert answer.status_code in (200, 503)
        assert "database" in answer.json()
        resp = h.command("help")
        assert resp.status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_stopping_lets_a_command_under_way_finish(harness: Harness, tmp_path: Path) -> None:
    """A clean stop waits (a bounded time) for commands whose work is under way."""
    h = harness
    h.deepnote.inject("POST", "/v2/runs", delay=1.0, times=1)
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(cards(h)) == 1)
    h.server.stop()
    h.bot.shutdown()  # the create is still on its way to Deepnote
    assert len(creates(h)) == 1
    run = h.bot.services.store.recent_for_user("U0ALICE")[0]
    assert run.run_id  # the answer was recorded, not lost to a closed client
