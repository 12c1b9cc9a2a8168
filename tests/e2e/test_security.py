"""Access control, the audit log, and secrets that never leak."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

from bot.clock import ManualClock
from bot.logs import setup_logging
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET, Bots, Harness, start_bot

GENERAL = "C0GENERAL"
FINANCE = "C0FINANCE"
ADMIN = "U0ADMIN"


def reply_text(h: Harness, index: int = -1) -> str:
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    return json.dumps(h.slack.response_url_posts[index].payload)


def posts(h: Harness) -> list[object]:
    return [r for r in h.deepnote.requests if r.method == "POST"]


def secured(bots: Bots, **env: str) -> Harness:
    """A bot with one admin and the given access settings."""
    return bots.start(ADMIN_USER_IDS=ADMIN, **env)


def test_channel_allowlist_refuses_with_who_to_ask(bots: Bots, slack: SlackStandIn) -> None:
    h = secured(bots, ALLOWED_CHANNEL_IDS=GENERAL)
    h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id="C0RANDOM")
    text = reply_text(h)
    assert "not enabled in this channel" in text
    assert f"<@{ADMIN}>" in text
    assert f"<#{GENERAL}>" in text
    assert posts(h) == []
    assert slack.messages("C0RANDOM") == []


def test_notebook_access_inline_rule(bots: Bots, slack: SlackStandIn) -> None:
    h = secured(bots, NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}")
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe", channel_id=GENERAL)
    text = reply_text(h)
    assert "may not be run from this channel" in text
    assert f"<#{FINANCE}>" in text
    assert posts(h) == []
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe", channel_id=FINANCE)
    h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=GENERAL)
    slack.wait_for(lambda s: len(posts(h)) == 2)


def test_notebook_access_from_a_yaml_file(bots: Bots, tmp_path: Path, slack: SlackStandIn) -> None:
    rules = tmp_path / "access.yml"
    rules.write_text(f'"{HELLO_NOTEBOOK_ID}": "*"\n"*": [{FINANCE}]\n')
    h = secured(bots, NOTEBOOK_ACCESS=str(rules))
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe", channel_id=GENERAL)
    assert "may not be run from this channel" in reply_text(h)
    h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=GENERAL)
    slack.wait_for(lambda s: len(posts(h)) == 1)


def test_audit_log_for_admins_only(bots: Bots, slack: SlackStandIn) -> None:
    h = secured(bots)
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    h.command(f'schedule {HELLO_NOTEBOOK_ID} "0 9 * * 1-5" --tz Europe/Prague')
    deadline = time.monotonic() + 10
    while len(h.bot.services.audit.latest(10)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # the audit entry is written just after the channel notice
    h.command("audit", user_id="U0ALICE")
    slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    assert "Only bot admins" in json.dumps(slack.response_url_posts[-1].payload)
    h.command("audit", user_id=ADMIN)
    slack.wait_for(lambda s: len(s.response_url_posts) >= 2)
    text = json.dumps(slack.response_url_posts[-1].payload)
    assert f"ran Hello world ({HELLO_NOTEBOOK_ID})" in text
    assert "created schedule 1: Hello world" in text
    assert "<@U0ALICE>" in text
    entries = h.bot.services.audit.latest(10)
    assert {e.action for e in entries} == {"run", "schedule"}
    assert all(e.user_id == "U0ALICE" and e.channel_id == GENERAL for e in entries)


def test_no_secret_reaches_logs_messages_or_the_database(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    stream = io.StringIO()
    secrets = (BOT_TOKEN, DEEPNOTE_KEY, SIGNING_SECRET)
    setup_logging("DEBUG", secrets, stream=stream)
    h = start_bot(slack, deepnote, clock, tmp_path / "bot.db")
    try:
        h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
        h.command(f"run {SALES_NOTEBOOK_ID} region=Mars")
        h.command(f"run {SALES_NOTEBOOK_ID} regoin=Mars")
        h.command("run 0123456789abcdef0123456789abcdef")
        slack.wait_for(lambda s: len(s.calls("chat.update")) >= 2)
        h.run_until_finished()
        deepnote.revoke_key()
        h.command(f"inputs {SALES_NOTEBOOK_ID}")
        h.command(f"run {HELLO_NOTEBOOK_ID}")
        slack.wait_for(lambda s: len(s.response_url_posts) >= 4)
        h.advance(5)
    finally:
        h.stop()
        logging.getLogger().handlers.clear()
    haystacks = {
        "logs": stream.getvalue(),
        "slack calls": json.dumps([c.args for c in slack.calls()], default=str),
        "responses": json.dumps([p.payload for p in slack.response_url_posts], default=str),
        "database": b"".join(
            p.read_bytes() for p in tmp_path.glob("bot.db*") if p.is_file()
        ).decode("latin-1"),
    }
    assert "poll" in haystacks["logs"] or "run" in haystacks["logs"]
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"


def test_snapshot_links_only_in_the_runs_own_channel(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=GENERAL)
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe", channel_id=FINANCE)
    h.slack.wait_for(lambda s: len(s.calls("chat.update")) >= 2)
    h.run_until_finished()
    channel_of = {}
    for record in h.bot.services.store.recent_for_user("U0ALICE"):
        channel_of[record.run_id] = record.channel_id
    for message in h.slack.all_messages():
        blob = json.dumps(message.blocks) + message.text
        for run_id, channel in channel_of.items():
            if f"/_snapshots/{run_id}" in blob:
                assert message.channel == channel
    for post in h.slack.response_url_posts:
        assert "/_snapshots/" not in json.dumps(post.payload)
