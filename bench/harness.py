"""The pieces every scenario uses: the bot in its own process, the fakes, and the counters.

Layout of one scenario (a `Session`): the bot runs in a child process (`python -m bench.botproc`,
optionally under py-spy); the Deepnote simulator and the Slack stand-in run as threads of the
benchmark process, which also plays Slack's side (signed slash commands) and drives run
outcomes. So the bot's latency, CPU and memory are its own, while the fakes share the
benchmark's interpreter with the load generator.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.stats import mb
from bot.config import SETTINGS
from bot.offline.pgserver import PostgresServer
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SAMPLES_DIR, Simulator
from bot.offline.slack_standin import Call, SlackRequester, SlackStandIn
from bot.offline.slack_standin.records import max_in_window
from storage.engine import is_postgres_url

REPO = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret-3c9e1a7f"
BOT_TOKEN = "xoxb-bench-bot-token-5d2a8c"
DEEPNOTE_KEY = "dn-bench-api-key-7b1f4e9a"
FOREVER = 10.0**9  # simulator `pending_seconds`: a run stays pending until the bench finishes it
READY_TIMEOUT = 60.0
READY_GRACE = 20.0  # after /healthz first answers, how long to wait for it to say 200
STOP_GRACE = 3.0
WRITE_METHODS = ("chat.postMessage", "chat.update")

_RUN_PATH = re.compile(r"^/v2/runs/[^/]+$")
_NOTEBOOK_PATH = re.compile(r"^/v2/notebooks/[^/]+$")
_NOTEBOOK_RUNS_PATH = re.compile(r"^/v2/notebooks/[^/]+/runs$")


def endpoint(method: str, path: str) -> str:
    """A request's endpoint label with ids folded, e.g. `GET /v2/runs/{id}`.

    >>> endpoint("GET", "/v2/runs/0b9e"), endpoint("GET", "/v2/notebooks/0b9e/runs")
    ('GET /v2/runs/{id}', 'GET /v2/notebooks/{id}/runs')
    """
    if _RUN_PATH.match(path):
        return f"{method} /v2/runs/{{id}}"
    if _NOTEBOOK_PATH.match(path):
        return f"{method} /v2/notebooks/{{id}}"
    if _NOTEBOOK_RUNS_PATH.match(path):
        return f"{method} /v2/notebooks/{{id}}/runs"
    if path.startswith("/_snapshots/"):
        return f"{method} /_snapshots/{{id}}"
    return f"{method} {path}"


def bot_environment(slack: SlackStandIn, sim: Simulator, db_path: Path | str) -> dict[str, str]:
    """The child's environment: ours minus every bot setting, plus the fakes' URLs and secrets.

    Everything not set here (POLL_INTERVAL_SECONDS, LOST_AFTER_SECONDS, LOG_LEVEL...) keeps the
    default a fresh deployment has, whatever the shell running the benchmark exports.
    """
    names = {n for s in SETTINGS for n in (s.name, *s.aliases)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DEEPNOTE_API_KEY=DEEPNOTE_KEY,
        DEEPNOTE_API_URL=sim.url,
        PYTHONUNBUFFERED="1",
    )
    env["DATABASE_URL" if is_postgres_url(str(db_path)) else "DATABASE_PATH"] = str(db_path)
    return env


@dataclass
class BotProcess:
    """The bot running in a child process; `pid` is the bot's own (py-spy may be the parent)."""

    proc: subprocess.Popen[bytes]
    pid: int
    port: int
    log_path: Path
    listening_seconds: float = 0.0
    """Spawn → the first answer of /healthz, whatever its status."""
    startup_seconds: float = 0.0
    """Spawn → the first 200 from /healthz (the bot says it is ready)."""
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    @classmethod
    def start(
        cls, env: dict[str, str], log_path: Path, *, profile_to: Path | None, py_spy: str | None
    ) -> BotProcess:
        """Spawn the bot and wait until /healthz answers 200; time it from the spawn."""
        http = httpx.Client(timeout=10.0)  # built first: its TLS set-up is not the bot's time
        command = [sys.executable, "-m", "bench.botproc"]
        if profile_to is not None and py_spy:
            # --gil: only stacks holding the GIL, i.e. where the bot's Python CPU time goes.
            command = [py_spy, "record", "--gil", "--nonblocking", "--rate", "100"]
            command += ["--format", "raw"]
            command += ["--output", str(profile_to), "--", sys.executable, "-m", "bench.botproc"]
        log = log_path.open("wb")
        spawned = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log)
        log.close()
        try:
            hello = _read_hello(proc, spawned + READY_TIMEOUT)
            bot = cls(proc, int(hello["pid"]), int(hello["port"]), log_path, _http=http)
            bot._wait_ready(spawned, spawned + READY_TIMEOUT)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return bot

    def _wait_ready(self, spawned: float, deadline: float) -> None:
        """Wait for a 200; a bot that answers but never says it is ready is used anyway."""
        while True:
            try:
                status = self._http.get(f"{self.url}/healthz").status_code
            except httpx.TransportError:
                status = None
            now = time.perf_counter()
            if status is not None and not self.listening_seconds:
                self.listening_seconds = now - spawned
                deadline = min(deadline, now + READY_GRACE)
            if status == 200:
                self.startup_seconds = now - spawned
                return
            if now > deadline:
                if self.listening_seconds:
                    self.startup_seconds = math.inf  # listening, never ready: measure anyway
                    return
                raise RuntimeError(f"the bot did not answer /healthz; see {self.log_path}")
            time.sleep(0.005)

    @property
    def url(self) -> str:
        """Root URL of the bot's HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        """Where Slack sends slash commands."""
        return f"{self.url}/slack/events"

    def health(self) -> dict[str, Any]:
        """The /healthz report (empty when it cannot be read)."""
        try:
            report = self._http.get(f"{self.url}/healthz").json()
        except (httpx.HTTPError, ValueError):
            return {}
        return report if isinstance(report, dict) else {}

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the bot process, in bytes."""
        found: dict[str, int] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0]) * 1024
        return found

    def cpu_seconds(self) -> float:
        """User plus system CPU time the bot process has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM the bot, then SIGKILL it if it has not exited within the grace period."""
        self._http.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_GRACE)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def log_levels(self) -> dict[str, int]:
        """How many JSON log lines the bot wrote at each level."""
        levels: Counter[str] = Counter()
        with self.log_path.open(errors="replace") as log:
            for line in log:
                try:
                    levels[str(json.loads(line).get("level", "?"))] += 1
                except (ValueError, AttributeError):
                    levels["unparsed"] += 1
        return dict(levels)


def _read_hello(proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
    """The `{"port", "pid"}` line the bot prints once it listens (py-spy may print first)."""
    assert proc.stdout is not None
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or proc.poll() is not None:
            raise RuntimeError("the bot process did not start (see its log)")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            continue
        line = proc.stdout.readline()
        try:
            hello = json.loads(line)
        except ValueError:
            continue
        if isinstance(hello, dict) and "port" in hello:
            return hello


@dataclass
class Options:
    """What the whole benchmark run was asked for."""

    workdir: Path
    py_spy: str | None = None
    results_dir: Path = REPO / "bench" / "results"
    postgres: PostgresServer | None = None
    """With a server, every scenario's bot keeps its state in a fresh PostgreSQL database."""


class Session:
    """One scenario's world: fresh fakes, a fresh database, one bot process, and counters.

    A scenario calls `start_fakes`, may prepare data, then calls `start_bot`.
    """

    def __init__(self, name: str, options: Options, *, profile_to: Path | None = None) -> None:
        self.name = name
        self.profile_to = profile_to
        self.options = options
        self.db_path = options.workdir / f"{name}.db"
        # The bot's database: a fresh SQLite file, or a fresh PostgreSQL database.
        self.database: Path | str = (
            options.postgres.create_database() if options.postgres else self.db_path
        )
        self._sim: Simulator | None = None
        self._slack: SlackStandIn | None = None
        self.notebook_ids: list[str] = []
        self.bot: BotProcess | None = None
        self._cpu_at_start = 0.0
        self._sim_baseline = 0
        self._slack_baseline = 0
        self._started_mono = 0.0
        self._requesters: list[SlackRequester] = []
        self.log_levels: dict[str, int] = {}
        # Settings the scenario gives the bot on top of a fresh deployment's defaults.
        self.settings: dict[str, str] = {}

    def start_fakes(self, *, notebooks: int = 0, pending_seconds: float = FOREVER) -> None:
        """Start the simulator and the stand-in.

        With `notebooks`, the simulator serves that many copies of the hello-world sample,
        each its own notebook in its own project; otherwise the bundled samples.
        """
        folder = None
        if notebooks:
            folder = self.options.workdir / f"{self.name}-notebooks"
            write_notebooks(folder, notebooks)
        self._sim = Simulator(
            api_key=DEEPNOTE_KEY, pending_seconds=pending_seconds, notebooks_dir=folder
        ).start()
        self._slack = SlackStandIn(bot_token=BOT_TOKEN).start()
        self.notebook_ids = sorted(self._sim.notebooks) if notebooks else [HELLO_NOTEBOOK_ID]

    @property
    def sim(self) -> Simulator:
        """The Deepnote simulator (after `start_fakes`)."""
        assert self._sim is not None, "call start_fakes() first"
        return self._sim

    @property
    def slack(self) -> SlackStandIn:
        """The Slack stand-in (after `start_fakes`)."""
        assert self._slack is not None, "call start_fakes() first"
        return self._slack

    def start_bot(self) -> BotProcess:
        """Start the bot; requests and calls made before this are not counted as the bot's."""
        self._sim_baseline = len(self.sim.requests)
        self._slack_baseline = len(self.slack.calls())
        self._started_mono = time.monotonic()
        self.bot = BotProcess.start(
            {**bot_environment(self.slack, self.sim, self.database), **self.settings},
            self.options.workdir / f"{self.name}.log",
            profile_to=self.profile_to,
            py_spy=self.options.py_spy,
        )
        self._cpu_at_start = self.bot.cpu_seconds()
        return self.bot

    def requester(self) -> SlackRequester:
        """A new Slack side (own HTTP connection pool) that signs requests to this bot."""
        assert self.bot is not None
        requester = SlackRequester(
            bot_url=self.bot.events_url, signing_secret=SIGNING_SECRET, standin=self.slack
        )
        self._requesters.append(requester)
        return requester

    def deepnote_rate(self, start: float, end: float) -> float:
        """Mean Deepnote requests per second from the bot between two `time.monotonic()`
        instants (the simulator stamps each request when it reads it)."""
        if end <= start:
            return float("nan")
        arrived = sum(start <= r.received < end for r in self.sim.requests[self._sim_baseline :])
        return arrived / (end - start)

    def metrics(self, runs_started: int) -> dict[str, Any]:
        """Costs since the bot started: Deepnote requests, Slack calls, CPU and memory."""
        assert self.bot is not None
        elapsed = time.monotonic() - self._started_mono
        requests = self.sim.requests[self._sim_baseline :]
        by_endpoint = Counter(endpoint(r.method, r.path) for r in requests)
        calls = self.slack.calls()[self._slack_baseline :]
        by_method = Counter(c.method for c in calls)
        per_run = max(runs_started, 1)
        memory = self.bot.memory()
        return {
            "runs_started": runs_started,
            "seconds": round(elapsed, 1),
            "deepnote": {
                "requests": len(requests),
                "per_run": round(len(requests) / per_run, 2),
                # Exact: the simulator stamps every request when it has read it.
                "peak_per_second": max_in_window(
                    datetime.fromtimestamp(r.received, UTC) for r in requests
                ),
                "mean_per_second": round(len(requests) / elapsed, 1) if elapsed else None,
                "by_endpoint": dict(by_endpoint.most_common()),
            },
            "slack": {
                "calls": len(calls),
                "per_run": round(len(calls) / per_run, 2),
                "by_method": dict(by_method.most_common()),
                "peak_per_second": max_in_window(c.at for c in calls),
                "per_channel_per_second": channel_peaks(calls),
                "rate_limited": sum(c.http_status == 429 for c in calls),
            },
            "bot": {
                "startup_seconds": round(self.bot.startup_seconds, 3),
                "listening_seconds": round(self.bot.listening_seconds, 3),
                "cpu_seconds": round(self.bot.cpu_seconds() - self._cpu_at_start, 2),
                "rss_mb": mb(memory.get("VmRSS", 0)),
                "peak_rss_mb": mb(memory.get("VmHWM", 0)),
            },
        }

    def close(self) -> None:
        """Stop the bot, then the fakes; keep the bot's log level counts."""
        for requester in self._requesters:
            requester.close()
        if self.bot is not None:
            self.bot.stop()
            self.log_levels = self.bot.log_levels()
        if self._sim is not None:
            self._sim.stop()
        if self._slack is not None:
            self._slack.stop()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_notebooks(folder: Path, count: int) -> None:
    """`count` copies of the hello-world sample, each with its own notebook and project id."""
    source = (SAMPLES_DIR / "hello-world.deepnote").read_text(encoding="utf-8")
    project = re.search(r"^  id: (\S+)$", source, re.MULTILINE)
    assert project is not None, "the hello-world sample has no project id"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = source.replace(HELLO_NOTEBOOK_ID, uuid.uuid4().hex)
        text = text.replace(project[1], str(uuid.uuid4()))
        text = text.replace("name: Hello world", f"name: Hello world {i + 1}")
        (folder / f"hello-{i:05d}.deepnote").write_text(text, encoding="utf-8")


def channel_peak(calls: list[Call], methods: tuple[str, ...], since: datetime | None = None) -> int:
    """Most calls of `methods` naming one channel within one second (every attempt counts).

    With both chat.postMessage and chat.update this is `SlackStandIn.max_calls_per_channel_per_
    second`, over the given calls only, so set-up posts made by the benchmark are left out.
    """
    per_channel: dict[str, list[datetime]] = defaultdict(list)
    for call in calls:
        if call.method in methods and call.channel and (since is None or call.at >= since):
            per_channel[call.channel].append(call.at)
    return max((max_in_window(times) for times in per_channel.values()), default=0)


def channel_peaks(calls: list[Call], since: datetime | None = None) -> dict[str, int]:
    """Per-channel peaks of messages posted, edits, and both."""
    return {
        "messages": channel_peak(calls, ("chat.postMessage",), since),
        "edits": channel_peak(calls, ("chat.update",), since),
        "writes": channel_peak(calls, WRITE_METHODS, since),
    }


def utc_now() -> datetime:
    """The real time, as the fakes' SystemClock tells it."""
    return datetime.now(UTC)
