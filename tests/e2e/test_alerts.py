"""Alerts (`--notify-if`) end to end: signed slash commands, the ManualClock, real databases,
the Slack stand-in and the Deepnote simulator's *KPI monitor*, whose numbers change when told.

Each test reads what the channel shows: which runs were posted, and what their replies say.
"""

from __future__ import annotations

import html
from typing import Any

import pytest

from bot.offline.simulator import KPI_NOTEBOOK_ID
from tests.conftest import Harness
from tests.e2e.test_schedules import (
    CHANNEL,
    creates,
    fire_and_finish,
    in_channel,
    private,
    shown,
    stored,
    top,
)
from tests.pg import ENGINES, both_engines


@pytest.fixture(params=ENGINES, name="engine")
def _engine(request: pytest.FixtureRequest) -> str:
    """The alert's state is stored: the scenario runs on SQLite and on PostgreSQL."""
    return both_engines(request)


def read(message: Any) -> str:
    """A message as a person reads it: the text of its blocks, entities and joiners undone."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(getattr(message, "blocks", None) or [])
    texts.append(message.text)
    return html.unescape("\n".join(texts)).replace("\u2060", "")


def replies(h: Harness) -> list[str]:
    """Every thread reply in the channel, as a person reads it, oldest first."""
    cards = [m for m in top(h) if "Deepnote run" in shown(m)]
    return [read(r) for card in cards for r in h.slack.thread(CHANNEL, card.ts)]


def cards(h: Harness) -> int:
    """How many run cards the channel shows."""
    return len([m for m in top(h) if "Deepnote run" in shown(m)])


def test_an_alert_fires_once_stays_quiet_and_says_back_to_normal(harness: Harness) -> None:
    h = harness
    h.deepnote.set_kpi(churn_rate=0.031)
    command = f"schedule {KPI_NOTEBOOK_ID} every hour --notify changes --notify-if churn_rate>5%"
    in_channel(h, command)
    assert "*Notify if:* `churn_rate > 5%` (`changes`)" in read(top(h)[-1])

    fire_and_finish(h)  # 3.1%: recorded quietly
    assert (cards(h), replies(h)) == (0, [])
    assert stored(h)[0].alert_state == "clear"

    h.deepnote.set_kpi(churn_rate=0.052)
    fire_and_finish(h)  # 5.2%: the alert starts, posted with the value that triggered it
    assert cards(h) == 1
    (alert,) = replies(h)
    assert "🚨 *Alert:* `churn_rate > 5%` holds: churn_rate is *5.2%*" in alert
    assert alert.index("Alert:") < alert.index("succeeded")  # above the usual result

    fire_and_finish(h)  # still 5.2%: said once, not again
    assert (cards(h), len(replies(h))) == (1, 1)
    assert "Alert* `churn_rate > 5%`: holds" in html.unescape(private(h, "schedules"))

    h.deepnote.set_kpi(churn_rate=0.049)
    fire_and_finish(h)  # 4.9%: back to normal, once
    assert cards(h) == 2
    assert (
        "Back to normal:* `churn_rate > 5%` no longer holds: churn_rate is *4.9%*"
        in (replies(h)[-1])
    )
    fire_and_finish(h)
    assert (cards(h), len(replies(h))) == (2, 2)
    assert "Alert* `churn_rate > 5%`: normal" in html.unescape(private(h, "schedules"))
    assert len(creates(h)) == 5


def test_a_run_whose_condition_cannot_be_checked_is_posted_with_why(harness: Harness) -> None:
    h = harness
    h.deepnote.set_kpi(missing=["freshness_hours"])
    in_channel(h, f'schedule {KPI_NOTEBOOK_ID} every hour --notify-if "Data freshness" >= 24')
    fire_and_finish(h)
    assert cards(h) == 1
    (reply,) = replies(h)
    assert 'Could not check* `"Data freshness" >= 24`' in reply
    assert "this run has no output named “Data freshness”" in reply
    schedule = stored(h)[0]
    assert (schedule.alert_state, schedule.alert_last) == (None, "unknown")

    # A failed run has no revenue, yet `or status == failed` decides: the alert holds.
    in_channel(h, "unschedule 1")
    h.deepnote.set_kpi(reset=True, fail=True)
    in_channel(
        h, f"schedule {KPI_NOTEBOOK_ID} every hour --notify-if revenue < 1M or status == failed"
    )
    fire_and_finish(h)
    assert cards(h) == 2
    alert = "*Alert:* `revenue < 1M or status == failed` holds: status is *failed (error)*"
    assert any(alert in reply for reply in replies(h)[1:])


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_names_the_notebook_lacks_are_refused_with_the_names_it_has(harness: Harness) -> None:
    h = harness
    reply = private(h, f"schedule {KPI_NOTEBOOK_ID} every day at 9am --notify-if churn > 5%")
    assert "has no output named `churn`" in reply
    for name in ("Churn rate", "Revenue", "Data freshness", "late_orders", "top_region"):
        assert f"`{name}`" in reply, name
    assert "No schedule was created" in reply
    reply = private(h, f"schedule {KPI_NOTEBOOK_ID} every day at 9am --notify-if churn_rate >> 5")
    assert "cannot be read: expected a number" in reply
    assert "at character 13" in reply
    assert (stored(h), top(h)) == ([], [])


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_one_off_run_says_whether_its_condition_held(harness: Harness) -> None:
    h = harness
    h.deepnote.set_kpi(late_orders=3)
    in_channel(h, f'run {KPI_NOTEBOOK_ID} --notify-if rows("Late orders") > 0')
    # The run is created after the card is posted: its first edit says it was.
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    assert cards(h) == 1  # posted as usual: the person asked for it
    (reply,) = replies(h)
    assert 'Condition held:* `rows("Late orders") > 0`: rows("Late orders") is *3 rows*' in reply
