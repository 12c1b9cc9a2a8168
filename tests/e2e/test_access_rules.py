"""`status` and `inputs` follow the same channel and notebook rules as `run` (issue 12, item 9)."""

from __future__ import annotations

import json

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import Bots, Harness

FINANCE = "C0FINANCE"
GENERAL = "C0GENERAL"
ADMIN = "U0ADMIN"


def reply(h: Harness, text: str, *, channel: str) -> str:
    """Type a command in `channel`; return the private answer."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, channel_id=channel)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    return json.dumps(h.slack.response_url_posts[-1].payload, ensure_ascii=False)


def restricted(bots: Bots) -> Harness:
    """A bot where the sales report may only be run from #finance."""
    return bots.start(ADMIN_USER_IDS=ADMIN, NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}")


def test_status_of_a_restricted_notebooks_run_stays_in_its_channels(
    bots: Bots, slack: SlackStandIn
) -> None:
    h = restricted(bots)
    h.command(f'run {SALES_NOTEBOOK_ID} region="Asia Pacific"', channel_id=FINANCE)
    slack.wait_for(lambda s: len(s.messages(FINANCE)) == 1)
    (row,) = h.bot.services.db.query("SELECT id FROM runs")
    in_finance = reply(h, f"status {row['id']}", channel=FINANCE)
    assert "Asia Pacific" in in_finance
    elsewhere = reply(h, f"status {row['id']}", channel=GENERAL)
    assert "Asia Pacific" not in elsewhere  # no inputs leak
    assert "may not have its runs shown in this channel" in elsewhere
    assert f"<#{FINANCE}>" in elsewhere
    assert f"<@{ADMIN}>" in elsewhere


def test_inputs_of_a_restricted_notebook_only_where_it_may_run(
    bots: Bots, slack: SlackStandIn
) -> None:
    h = restricted(bots)
    assert "region" in reply(h, f"inputs {SALES_NOTEBOOK_ID}", channel=FINANCE)
    refused = reply(h, f"inputs {SALES_NOTEBOOK_ID}", channel=GENERAL)
    assert "region" not in refused
    assert "may not have its inputs listed in this channel" in refused
    assert f"<#{FINANCE}>" in refused
    # A notebook without a rule is listed anywhere, as before.
    assert "Hello world" in reply(h, f"inputs {HELLO_NOTEBOOK_ID}", channel=GENERAL)


def test_status_and_inputs_follow_the_channel_allowlist(bots: Bots, slack: SlackStandIn) -> None:
    h = bots.start(ALLOWED_CHANNEL_IDS=GENERAL)
    h.command(f"run {HELLO_NOTEBOOK_ID}", channel_id=GENERAL)
    slack.wait_for(lambda s: len(s.messages(GENERAL)) == 1)
    (row,) = h.bot.services.db.query("SELECT id FROM runs")
    for text in (f"status {row['id']}", f"inputs {HELLO_NOTEBOOK_ID}"):
        assert "not enabled in this channel" in reply(h, text, channel="C0RANDOM")
