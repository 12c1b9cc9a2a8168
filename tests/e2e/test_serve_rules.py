"""Issue 12, items 5, 9 and 10, against the real `deepnote-bot serve` in a subprocess.

The bot runs in HTTP mode (`python -m bot serve`) against the Slack stand-in and the Deepnote
simulator, both in this test process on the real clock; signed slash commands go over HTTP to
the process's port. Each test asserts what a person sees: the private answer posted to the
command's response_url, and the messages in the channel.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.simulator.notebooks import SAMPLES_DIR
from bot.offline.slack_standin import Delivery, SlackRequester, SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET
from tests.e2e.support import BotProcess, process_env

GENERAL = "C0GENERAL"
FINANCE = "C0FINANCE"
OTHER = "C0OTHER"
ALICE = "U0ALICE"
BOB = "U0BOB"
ADMIN = "U0ADMIN"
HOSTILE = "<!channel> *bold* @here &lt; <https://evil.example|click me>"


class Serve:
    """One `serve` process on a database file, and a signed-request sender pointed at it."""

    def __init__(self, slack: SlackStandIn, sim: Simulator, db: Path, **settings: str) -> None:
        self.slack = slack
        self.process = BotProcess(
            process_env(slack, sim, db, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT="0", **settings)
        )
        self.requester = SlackRequester(
            bot_url=f"http://127.0.0.1:{self.process.port}/slack/events",
            signing_secret=SIGNING_SECRET,
            standin=slack,
        )

    def send(self, text: str, *, channel: str = GENERAL, user: str = ALICE) -> Delivery:
        """Type a command; how the bot acknowledged it."""
        sent = self.requester.slash_command(text, user_id=user, channel_id=channel)
        assert sent.status_code == 200, sent.text
        return sent

    def reply(self, text: str, *, channel: str = GENERAL, user: str = ALICE) -> str:
        """Type a command; the private answer it got (the ack's body or its response_url post)."""
        sent = self.send(text, channel=channel, user=user)
        if sent.text.strip():
            return sent.text

        def answered(s: SlackStandIn) -> bool:
            return any(p.url == sent.response_url for p in s.response_url_posts)

        self.slack.wait_for(answered, timeout=10)
        posts = [p for p in self.slack.response_url_posts if p.url == sent.response_url]
        return " ".join(json.dumps(p.payload, ensure_ascii=False) for p in posts)

    def stop(self) -> None:
        """SIGTERM the process, as a container stop does."""
        self.requester.close()
        self.process.terminate()


def seen(message: Any) -> str:
    """Everything of a channel message Slack renders: blocks and fallback text."""
    return json.dumps(message.blocks or [], ensure_ascii=False) + " " + str(message.text)


def assert_inert(text: str) -> None:
    """No live markup from HOSTILE survives (the bot's own `<!date^…>` stamps aside)."""
    own = text.replace("<!date^", "")
    assert "<!channel" not in own
    assert "<!" not in own
    assert "<https://evil" not in own
    assert "@here" not in own
    prose = re.sub(r"```.*?```|`[^`]*`", "`code`", own, flags=re.DOTALL)
    assert "*bold*" not in prose


def hostile_notebooks(folder: Path) -> Path:
    """The sample notebooks, with the sales report renamed to HOSTILE."""
    folder.mkdir()
    sales = (SAMPLES_DIR / "sales-report.deepnote").read_text()
    renamed = sales.replace("      name: Sales report", f"      name: {json.dumps(HOSTILE)}", 1)
    assert renamed != sales
    (folder / "sales-report.deepnote").write_text(renamed)
    return folder


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The Slack stand-in on the real clock."""
    with SlackStandIn(bot_token=BOT_TOKEN) as s:
        yield s


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Deepnote on the real clock, with runs that stay in progress for a while."""
    with Simulator(api_key=DEEPNOTE_KEY, pending_seconds=5, running_seconds=30) as s:
        yield s


def test_a_hostile_notebook_name_in_the_access_refused_schedule_note_is_inert(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    db = tmp_path / "bot.db"
    with Simulator(api_key=DEEPNOTE_KEY, notebooks_dir=hostile_notebooks(tmp_path / "nb")) as sim:
        bot = Serve(slack, sim, db)
        try:
            made = bot.send(f'schedule {SALES_NOTEBOOK_ID} "* * * * *" --tz UTC region=Europe')
            slack.wait_for(lambda s: any("Schedule 1" in m.text for m in s.messages(GENERAL)))
        finally:
            bot.stop()
        assert "could not" not in made.text
        # Its slot is due now (rather than at the next minute), so the restarted bot fires it.
        slot = datetime.now(UTC).replace(second=0, microsecond=0)
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE schedules SET next_fire_at = ?", (slot.isoformat("T", "microseconds"),)
            )
        before = len(slack.messages(GENERAL))
        started = [r for r in sim.requests if r.method == "POST"]
        # A newer rule keeps the notebook out of this channel: the schedule can no longer start.
        bot = Serve(slack, sim, db, NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={OTHER}")
        try:

            def noted(s: SlackStandIn) -> bool:
                return any("could not start" in seen(m) for m in s.messages(GENERAL)[before:])

            slack.wait_for(noted, timeout=15)
        finally:
            bot.stop()
        (note,) = [
            seen(m) for m in slack.messages(GENERAL)[before:] if "could not start" in seen(m)
        ]
        assert "may not be run from this channel" in note
        assert "&lt;!channel&gt;" in note  # the name is shown, as text
        assert_inert(note)
        assert [r for r in sim.requests if r.method == "POST"] == started  # nothing ran


def test_status_and_inputs_of_a_restricted_notebook_stay_in_its_channel(
    tmp_path: Path, slack: SlackStandIn, sim: Simulator
) -> None:
    bot = Serve(
        slack,
        sim,
        tmp_path / "bot.db",
        ADMIN_USER_IDS=ADMIN,
        NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}",
    )
    try:
        bot.send(f'run {SALES_NOTEBOOK_ID} region="Asia Pacific"', channel=FINANCE)
        slack.wait_for(lambda s: len(s.messages(FINANCE)) == 1, timeout=10)
        (card,) = slack.messages(FINANCE)
        run_id = (card.metadata or {})["event_payload"]["run"]
        assert "Asia Pacific" in bot.reply(f"status {run_id}", channel=FINANCE)
        elsewhere = bot.reply(f"status {run_id}", channel=GENERAL)
        assert "Asia Pacific" not in elsewhere  # no inputs leak
        assert "may not have its runs shown in this channel" in elsewhere
        assert f"<#{FINANCE}>" in elsewhere
        assert "region" in bot.reply(f"inputs {SALES_NOTEBOOK_ID}", channel=FINANCE)
        refused = bot.reply(f"inputs {SALES_NOTEBOOK_ID}", channel=GENERAL)
        assert "region" not in refused
        assert "may not have its inputs listed in this channel" in refused
        assert f"<#{FINANCE}>" in refused
        assert slack.messages(GENERAL) == []
    finally:
        bot.stop()


def test_only_the_owner_or_an_admin_may_change_an_alias(
    tmp_path: Path, slack: SlackStandIn, sim: Simulator
) -> None:
    bot = Serve(slack, sim, tmp_path / "bot.db", ADMIN_USER_IDS=ADMIN)
    try:
        assert "now names" in bot.reply(f"alias daily {HELLO_NOTEBOOK_ID}", user=ALICE)
        refused = bot.reply(f"alias daily {SALES_NOTEBOOK_ID}", user=BOB)
        assert f"belongs to <@{ALICE}>" in refused
        assert "only they or a bot admin can change it" in refused
        refused = bot.reply("unalias daily", user=BOB)
        assert f"belongs to <@{ALICE}>" in refused
        assert "can remove it" in refused
        # The alias still names Alice's notebook: running it starts that one.
        bot.send("run daily", user=BOB)
        slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1, timeout=10)
        (card,) = slack.messages(GENERAL)
        assert "Hello world" in seen(card)
        assert "Sales report" not in seen(card)
        deadline = time.monotonic() + 10
        while not sim.runs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.notebook_id for r in sim.runs.values()] == [HELLO_NOTEBOOK_ID]
        assert "Removed the alias" in bot.reply("unalias daily", user=ADMIN)
        assert "`daily`" not in bot.reply("aliases", user=BOB)
    finally:
        bot.stop()
