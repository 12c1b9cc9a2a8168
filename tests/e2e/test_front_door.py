"""The HTTP front door of the real `deepnote-bot serve` under hostile traffic.

The bot runs as a subprocess in HTTP mode against the Slack stand-in and the Deepnote
simulator on the real clock; its memory, threads and open files are read from its own
/proc/<pid>/status and /proc/<pid>/fd. Every flood is a bounded loop that runs in seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackRequester, SlackStandIn
from bot.offline.slack_standin.signing import sign_request
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET
from tests.e2e.support import process_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

CHANNEL = "C0GENERAL"
ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


class Serve:
    """`deepnote-bot serve` in a subprocess; its JSON log goes to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            for event in self.events():
                if event.get("event") == "ready":
                    self.port = int(event["port"])
                    return
            time.sleep(0.05)
        raise AssertionError("bot did not start:\n" + self.log_path.read_text())

    def lines(self) -> list[str]:
        """Every line the process wrote."""
        return self.log_path.read_text().splitlines()

    def events(self) -> list[dict[str, object]]:
        """The JSON log lines."""
        out = []
        for line in self.lines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def status(self, field: str) -> int:
        """A number from /proc/<pid>/status (kB for memory)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def fds(self) -> int:
        """How many file descriptors the process holds."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self) -> None:
        """kill -9 (the tests need no clean stop)."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def fakes() -> Iterator[tuple[SlackStandIn, Simulator]]:
    with (
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
        Simulator(api_key=DEEPNOTE_KEY, pending_seconds=0.1, running_seconds=0.2) as sim,
    ):
        yield slack, sim


@pytest.fixture
def start(tmp_path: Path, fakes: tuple[SlackStandIn, Simulator]) -> Iterator[Callable[[], Serve]]:
    """Start (again) the bot on one database; every process is killed at the end."""
    slack, sim = fakes
    env = process_env(
        slack, sim, tmp_path / "bot.db", SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0"
    )
    started: list[Serve] = []

    def _start() -> Serve:
        bot = Serve(env, tmp_path / f"bot{len(started)}.log")
        started.append(bot)
        return bot

    yield _start
    for bot in started:
        if bot.proc.poll() is None:
            bot.stop()


def requester(bot: Serve, slack: SlackStandIn) -> SlackRequester:
    return SlackRequester(
        bot_url=f"http://127.0.0.1:{bot.port}/slack/events",
        signing_secret=SIGNING_SECRET,
        standin=slack,
    )


def cards(slack: SlackStandIn) -> list[object]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def raw_exchange(port: int, data: bytes, *, wait: float = 3.0) -> bytes:
    """Send `data` on one connection and read everything until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def statuses(answer: bytes) -> list[int]:
    """The status code of every HTTP answer in a byte stream; anything else counts as 0."""
    found: list[int] = []
    while answer:
        match = re.match(rb"HTTP/1\.[01] (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n", answer, re.S)
        if match is None:
            return [*found, 0]  # bytes that are not an answer: a second answer of some sort
        found.append(int(match[1]))
        length = re.search(rb"(?im)^content-length: *(\d+)", match[2])
        answer = answer[match.end() + (int(length[1]) if length else 0) :]
    return found


def signed_command(slack: SlackStandIn, text: str) -> tuple[bytes, dict[str, str]]:
    """The raw bytes and signature headers of a `/deepnote <text>` Slack would send."""
    with SlackRequester(bot_url="http://unused", signing_secret=SIGNING_SECRET, standin=slack) as r:
        body = urlencode(r.slash_command_form(text, channel_id=CHANNEL)).encode()
    headers = sign_request(SIGNING_SECRET, body, int(time.time()))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return body, headers


def head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: bot"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- memory ---------------------------------------------------------------------------------------


def test_a_negative_content_length_is_refused_without_reading_the_stream(
    start: Callable[[], Serve],
) -> None:
    bot = start()
    before = bot.status("VmHWM")
    with socket.create_connection(("127.0.0.1", bot.port), timeout=5) as sock:
        sock.sendall(head("/slack/events", {"Content-Length": "-1"}))
        sent = 0
        try:
            while sent < 100 * MB:  # the server should stop this long before
                sock.sendall(b"x" * MB)
                sent += MB
        except OSError:
            pass
        answer = b""
        with contextlib.suppress(OSError):
            answer = sock.recv(65536)
    assert not answer or statuses(answer) == [400]
    assert sent < 100 * MB
    assert bot.status("VmHWM") - before < 30 * 1024  # kB
    assert bot.proc.poll() is None


def test_concurrent_large_unsigned_bodies_keep_memory_bounded(
    start: Callable[[], Serve],
) -> None:
    bot = start()
    before = bot.status("VmHWM")
    nested = b"payload=" + b"%5B" * 300_000  # `[` nested 300,000 deep, URL-encoded
    plain = b"payload=" + b"a" * (1_000_000 - 8)
    results: list[int] = []

    def send(body: bytes) -> None:
        answer = raw_exchange(
            bot.port,
            head("/slack/events", {"Content-Length": str(len(body)), "Connection": "close"}) + body,
            wait=20,
        )
        results.extend(statuses(answer))

    began = time.monotonic()
    threads = [
        threading.Thread(target=send, args=(nested if i % 2 else plain,)) for i in range(120)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count(401) == 120  # refused unread: no signature
    assert time.monotonic() - began < 30
    assert bot.status("VmHWM") - before < 120 * 1024  # kB; each body is ~1 MB
    assert not any("RecursionError" in line for line in bot.lines())


# --- descriptors and threads ----------------------------------------------------------------------


def test_held_connections_and_health_checks_leak_no_descriptors(
    start: Callable[[], Serve], fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, _ = fakes
    bot = start()
    url = f"http://127.0.0.1:{bot.port}/healthz"
    httpx.get(url, timeout=5)
    time.sleep(0.5)
    fds_before, threads_before = bot.fds(), bot.status("Threads")
    held = [socket.create_connection(("127.0.0.1", bot.port), timeout=5) for _ in range(80)]
    try:
        for _ in range(50):  # 500 health checks, 10 kept-alive each on a new connection
            with httpx.Client(timeout=5) as client:
                for _ in range(10):
                    assert client.get(url).status_code in (200, 503)
        peak_threads = bot.status("Threads")
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and bot.fds() > fds_before + 5:
        time.sleep(0.2)
    assert bot.fds() <= fds_before + 5
    assert peak_threads <= threads_before + 5
    with requester(bot, slack) as r:
        assert r.slash_command(f"run {HELLO_NOTEBOOK_ID}", channel_id=CHANNEL).status_code == 200
    slack.wait_for(lambda s: len(cards(s)) == 1, timeout=10)


# --- slow clients ---------------------------------------------------------------------------------


def _runs_take(bot: Serve, slack: SlackStandIn, round_: str, count: int) -> float:
    """Seconds for `count` commands, one per channel, to reach their finished reply."""
    channels = [f"C0{round_.upper()}{i}" for i in range(count)]
    began = time.monotonic()
    with requester(bot, slack) as r:
        for channel in channels:
            answer = r.slash_command(f"run {HELLO_NOTEBOOK_ID}", channel_id=channel)
            assert answer.status_code == 200

    def done(s: SlackStandIn) -> bool:
        tops = [[m for m in s.messages(c) if m.thread_ts is None] for c in channels]
        return all(
            len(t) == 1 and s.thread(c, t[0].ts) for c, t in zip(channels, tops, strict=True)
        )

    slack.wait_for(done, timeout=60)
    return time.monotonic() - began


def test_a_trickled_unsigned_body_does_not_slow_background_work(
    start: Callable[[], Serve], fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, _ = fakes
    bot = start()
    calm = _runs_take(bot, slack, "calm", 8)
    stop = threading.Event()

    def trickle() -> None:
        with socket.create_connection(("127.0.0.1", bot.port), timeout=5) as sock:
            sock.sendall(head("/slack/events", {"Content-Length": "100000"}))
            while not stop.wait(0.05):
                sock.sendall(b"a")

    slow = threading.Thread(target=trickle, daemon=True)
    slow.start()
    try:
        time.sleep(0.3)
        trickled = _runs_take(bot, slack, "slow", 8)
    finally:
        stop.set()
        slow.join(5)
    print(f"calm {calm:.2f}s trickled {trickled:.2f}s")
    assert trickled < calm * 1.5 + 1.0, (calm, trickled)


# --- framing --------------------------------------------------------------------------------------


def test_bytes_after_a_413_never_become_a_second_request(start: Callable[[], Serve]) -> None:
    bot = start()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n"
    answer = raw_exchange(
        bot.port, head("/slack/events", {"Content-Length": str(2 * MB)}) + smuggled
    )
    assert statuses(answer) == [413]


def test_chunk_bytes_never_become_a_second_request(start: Callable[[], Serve]) -> None:
    bot = start()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
    answer = raw_exchange(
        bot.port,
        head(
            "/slack/events",
            {"Transfer-Encoding": "chunked", "Content-Length": "4"},
        )
        + chunked,
    )
    assert len(statuses(answer)) == 1
    assert statuses(answer)[0] in (400, 401)
    answer = raw_exchange(
        bot.port,
        head("/slack/events", {"Transfer-Encoding": "chunked"}) + chunked,
    )
    assert statuses(answer) == [401]  # one request, its body the chunk, unsigned


def test_a_signed_chunked_command_is_understood(
    start: Callable[[], Serve], fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, _ = fakes
    bot = start()
    body, headers = signed_command(slack, "help")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    headers.update({"Transfer-Encoding": "chunked", "Connection": "close"})
    answer = raw_exchange(bot.port, head("/slack/events", headers) + chunked)
    assert statuses(answer) == [200]


# --- replays --------------------------------------------------------------------------------------


def test_a_replayed_signed_command_starts_nothing_even_after_a_restart(
    start: Callable[[], Serve], fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, sim = fakes
    bot = start()
    body, headers = signed_command(slack, f"run {HELLO_NOTEBOOK_ID}")
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    first = httpx.post(url, content=body, headers=headers, timeout=5)
    assert first.status_code == 200
    slack.wait_for(lambda s: len(cards(s)) == 1, timeout=10)
    again = [httpx.post(url, content=body, headers=headers, timeout=5) for _ in range(2)]
    assert all("repeat of it starts nothing" in a.text for a in again)
    bot.stop()
    bot = start()
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    after_restart = httpx.post(url, content=body, headers=headers, timeout=5)
    assert "repeat of it starts nothing" in after_restart.text
    time.sleep(1.0)
    assert len(sim.runs) == 1
    assert len(cards(slack)) == 1
    assert any(e.get("event") == "replay_refused" for e in bot.events())


# --- malformed input ------------------------------------------------------------------------------


def test_malformed_headers_get_400_and_log_no_traceback(
    start: Callable[[], Serve], fakes: tuple[SlackStandIn, Simulator]
) -> None:
    slack, _ = fakes
    bot = start()
    body, headers = signed_command(slack, "help")
    headers["X-Slack-Request-Timestamp"] = "abc"
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    assert statuses(raw_exchange(bot.port, head("/slack/events", headers) + body)) == [400]
    for length in ("abc", "1e9", "0x10", "-5", "+5", "1 2"):
        sent = head("/slack/events", {"Content-Length": length}) + b"hello"
        assert statuses(raw_exchange(bot.port, sent)) == [400], length
    assert httpx.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=5).status_code in (200, 503)
    text = [line for line in bot.lines() if line.strip()]
    assert all(line.startswith("{") for line in text), text
    assert not any("Traceback" in line for line in text)
