"""Alerts on watches (`watch --notify-if`) end to end: signed slash commands, the ManualClock,
real SQLite, the Slack stand-in and the Deepnote simulator's *KPI monitor*. The runs are
started elsewhere (as in Deepnote's UI); the bot finds them through the notebook's run list,
checks the watch's condition when each ends, and posts only what the condition says.
"""

from __future__ import annotations

import html

import pytest

from bot.offline.simulator import KPI_NOTEBOOK_ID
from storage.watches import WatchRecord
from tests.conftest import Harness
from tests.e2e.test_alerts import read
from tests.e2e.test_mentions_home_aliases import home_text, open_home
from tests.e2e.test_watches import CHANNEL, follow_out, in_channel, private, top
from tests.pg import ENGINES, both_engines

CONDITION = "`churn_rate > 5%`"


@pytest.fixture(params=ENGINES, name="engine")
def _engine(request: pytest.FixtureRequest) -> str:
    """The watch's alert state is stored: the scenario runs on SQLite and on PostgreSQL."""
    return both_engines(request)


def watches(h: Harness) -> list[WatchRecord]:
    """Every watch in the database, by id."""
    rows = h.bot.services.db.query("SELECT id FROM watches ORDER BY id")
    store = h.bot.services.watches.store
    return [w for w in (store.get(int(r["id"])) for r in rows) if w is not None]


def cards(h: Harness) -> list[str]:
    """The run cards the channel shows, as a person reads them."""
    return [read(m) for m in top(h) if "Deepnote run" in read(m)]


def replies(h: Harness) -> list[str]:
    """Every thread reply under the channel's run cards, oldest first."""
    found = [m for m in top(h) if "Deepnote run" in read(m)]
    return [read(r) for card in found for r in h.slack.thread(CHANNEL, card.ts)]


def finished_again(h: Harness) -> bool:
    """The newest watched run's follow-up done once more, as after a restart that stopped
    between recording it and posting: whether the run is then announced."""
    rows = h.bot.services.db.query(
        "SELECT id FROM runs WHERE watch_id IS NOT NULL ORDER BY created_at DESC LIMIT 1"
    )
    run = h.bot.services.store.get(str(rows[0]["id"]))
    assert run is not None
    return h.bot.services.watches.on_finish(run)


def run_elsewhere(h: Harness, churn_rate: float) -> None:
    """Someone runs the KPI monitor in Deepnote with this churn rate; the watch follows it."""
    h.deepnote.set_kpi(churn_rate=churn_rate)
    h.deepnote.start_elsewhere(KPI_NOTEBOOK_ID, "user")
    follow_out(h)


def test_a_watch_alert_fires_once_stays_quiet_and_says_back_to_normal(harness: Harness) -> None:
    h = harness
    command = f"watch {KPI_NOTEBOOK_ID} --notify changes --notify-if churn_rate>5%"
    in_channel(h, command)
    notice = read(top(h)[-1])
    assert f"*Notify if:* {CONDITION} (`changes`)" in notice
    (watch,) = watches(h)
    assert watch.notify_if == "churn_rate > 5%"
    assert "not checked yet" in html.unescape(private(h, "watches"))

    run_elsewhere(h, 0.031)  # 3.1%: recorded quietly
    assert (cards(h), replies(h)) == ([], [])
    assert watches(h)[0].alert_state == "clear"

    run_elsewhere(h, 0.052)  # 5.2%: the alert starts, posted with the value
    assert len(cards(h)) == 1
    assert "someone in Deepnote's UI" in cards(h)[0]
    (alert,) = replies(h)
    assert f"🚨 *Alert:* {CONDITION} holds: churn_rate is *5.2%*" in alert
    assert finished_again(h), "an alert decided on before a restart is still posted"

    run_elsewhere(h, 0.055)  # still holds: said once, not again
    assert (len(cards(h)), len(replies(h))) == (1, 1)
    assert f"Alert* {CONDITION}: holds" in html.unescape(private(h, "watches"))
    assert not finished_again(h), "nor is a quiet one posted after a restart"

    run_elsewhere(h, 0.049)  # 4.9%: back to normal, once
    assert len(cards(h)) == 2
    assert f"Back to normal:* {CONDITION} no longer holds: churn_rate is *4.9%*" in replies(h)[-1]
    run_elsewhere(h, 0.02)
    assert (len(cards(h)), len(replies(h))) == (2, 2)
    assert f"Alert* {CONDITION}: normal" in html.unescape(private(h, "watches"))
    open_home(h)
    assert f"Alert* {CONDITION}: normal" in html.unescape(home_text(h)).replace("\u2060", "")
    assert h.slack.violations == []
    (entry,) = [e for e in h.bot.services.audit.latest(20) if e.action == "watch"]
    assert entry.details["notify_if"] == "churn_rate > 5%"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_watch_run_whose_condition_cannot_be_checked_is_posted_with_why(
    harness: Harness,
) -> None:
    h = harness
    in_channel(h, f"watch {KPI_NOTEBOOK_ID} --notify changes --notify-if churn_rate > 5%")
    h.deepnote.set_kpi(missing=["churn_rate"])
    h.deepnote.start_elsewhere(KPI_NOTEBOOK_ID, "user")
    follow_out(h)
    assert len(cards(h)) == 1
    (reply,) = replies(h)
    assert f"Could not check* {CONDITION}" in reply
    assert (watches(h)[0].alert_state, watches(h)[0].alert_last) == (None, "unknown")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_name_the_notebook_lacks_is_refused_and_nothing_is_watched(harness: Harness) -> None:
    h = harness
    reply = private(h, f"watch {KPI_NOTEBOOK_ID} --notify-if churn > 5%")
    assert "has no output named `churn`" in reply
    for name in ("Churn rate", "Revenue", "Data freshness", "late_orders", "top_region"):
        assert f"`{name}`" in reply, name
    assert "No watch was created" in reply
    refused = private(h, f"watch {KPI_NOTEBOOK_ID} --notify failures --notify-if churn_rate > 5%")
    assert "`--notify failures` and `--notify-if` do not go together" in refused
    assert (watches(h), top(h)) == ([], [])
    assert [e for e in h.bot.services.audit.latest(5) if e.action == "watch"] == []
