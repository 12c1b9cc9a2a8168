"""Playing Slack's users and reading what the channel shows: commands in, card edits out."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.harness import Session
from bot.offline.simulator import Simulator
from bot.offline.slack_standin import Delivery, SlackRequester, SlackStandIn

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The card of a run finished with status "success" says so in its fallback text.
FINAL_WORD = "succeeded"


def run_command(notebook_id: str) -> str:
    """The text of `/deepnote run` for a notebook without inputs."""
    return f"run {notebook_id}"


def channel_names(runs: int, per_channel: int) -> list[str]:
    """Channel ids for `runs` runs, at most `per_channel` in each.

    >>> channel_names(25, 10)
    ['CBENCH0000', 'CBENCH0001', 'CBENCH0002']
    """
    count = max(1, -(-runs // per_channel))
    return [f"CBENCH{i:04d}" for i in range(count)]


class CommandSender:
    """Sends `/deepnote` commands from a few threads, each with its own HTTP connection."""

    def __init__(self, session: Session, workers: int = 8) -> None:
        self._session = session
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-slack")
        self._lock = threading.Lock()
        self.sent = 0
        self.refused: list[int] = []

    def _requester(self) -> SlackRequester:
        requester: SlackRequester | None = getattr(self._local, "requester", None)
        if requester is None:
            requester = self._session.requester()
            self._local.requester = requester
        return requester

    def _send(self, text: str, channel: str) -> Delivery:
        delivery = self._requester().slash_command(text, channel_id=channel)
        with self._lock:
            self.sent += 1
            if delivery.status_code != 200:
                self.refused.append(delivery.status_code)
        return delivery

    def submit(self, text: str, channel: str) -> Future[Delivery]:
        """Type `/deepnote <text>` in `channel`, in the background."""
        return self._pool.submit(self._send, text, channel)

    def close(self) -> None:
        """Wait for commands in progress, then stop the threads."""
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class Card:
    """Where a run's card is, and when it first showed the run's Deepnote id."""

    channel: str
    ts: str
    seen_at: datetime


class CardTracker:
    """Follows the Slack stand-in's calls: which run each card shows and when it went final.

    A card is matched to a run by the Deepnote run id it shows (in the `chat.update` that adds
    it, or in the `chat.postMessage` of a card posted after the run was created); the card is
    final once a `chat.update` of it says the run succeeded. Thread replies are matched by the
    card's ts.
    """

    def __init__(self, slack: SlackStandIn, sim: Simulator) -> None:
        self._slack = slack
        self._sim = sim
        self._cursor = 0
        self.cards: dict[str, Card] = {}
        self.finished: dict[str, datetime] = {}
        self.final: dict[str, datetime] = {}
        self.replies: dict[str, datetime] = {}
        self._by_ts: dict[tuple[str, str], str] = {}

    def known(self, run_id: str, channel: str, ts: str) -> None:
        """A card posted before the bot started (seeded runs): it shows the run from the start."""
        self.cards[run_id] = Card(channel, ts, datetime.min.replace(tzinfo=UTC))
        self._by_ts[(channel, ts)] = run_id

    def finish(self, run_id: str, at: datetime) -> None:
        """Note that the simulator was told to finish `run_id` at `at`."""
        self.finished[run_id] = at

    def update(self) -> None:
        """Read the calls made since the last update."""
        calls = self._slack.calls()
        new, self._cursor = calls[self._cursor :], len(calls)
        if not new:
            return
        known = set(self._sim.runs)
        for call in new:
            channel = call.channel or ""
            if not call.ok:
                continue
            if call.method == "chat.update":
                text = str(call.args.get("text") or "")
                blob = text + json.dumps(call.args.get("blocks"))
                for run_id in set(_UUID.findall(blob)) & known:
                    self._card_edit(run_id, channel, str(call.args.get("ts")), text, call.at)
            elif call.method == "chat.postMessage":
                thread = call.args.get("thread_ts")
                if thread:
                    run_id = self._by_ts.get((channel, str(thread)))
                    if run_id in self.finished and run_id not in self.replies:
                        self.replies[run_id] = call.at
                    continue
                # A card posted after its run was created already shows the run id.
                blob = str(call.args.get("text") or "") + json.dumps(call.args.get("blocks"))
                for run_id in set(_UUID.findall(blob)) & known:
                    ts = self._posted_ts(channel, run_id)
                    if ts is not None and run_id not in self.cards:
                        self.cards[run_id] = Card(channel, ts, call.at)
                        self._by_ts[(channel, ts)] = run_id

    def _posted_ts(self, channel: str, run_id: str) -> str | None:
        """The ts of the top-level message in `channel` that shows `run_id`."""
        for message in self._slack.messages(channel):
            if run_id in message.text or run_id in json.dumps(message.blocks):
                return message.ts
        return None

    def _card_edit(self, run_id: str, channel: str, ts: str, text: str, at: datetime) -> None:
        if run_id not in self.cards:
            self.cards[run_id] = Card(channel, ts, at)
            self._by_ts[(channel, ts)] = run_id
        finished = self.finished.get(run_id)
        if finished is not None and run_id not in self.final and FINAL_WORD in text:
            self.final[run_id] = at

    def waiting(self) -> list[str]:
        """Finished runs whose card has not shown the outcome yet."""
        return [r for r in self.finished if r not in self.final]

    def waiting_replies(self) -> list[str]:
        """Finished runs without their thread reply yet."""
        return [r for r in self.finished if r not in self.replies]
