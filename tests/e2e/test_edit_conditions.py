"""Changing a schedule's `--notify-if` condition with `/deepnote edit` and the edit form.

The real bot over signed HTTP, the ManualClock, real SQLite, the Slack stand-in and the
Deepnote simulator's *KPI monitor* (its numbers change when told); each test types or clicks
as a person would and reads which runs the channel shows.
"""

from __future__ import annotations

import html

from bot.offline.simulator import KPI_NOTEBOOK_ID
from bot.slack.schedule_form import NOTIFY_BLOCK, NOTIFY_IF_BLOCK
from tests.conftest import Harness
from tests.e2e.test_alerts import cards, replies
from tests.e2e.test_interactions import submit
from tests.e2e.test_schedule_edit import audit_text, edit_form, initial, with_values
from tests.e2e.test_schedules import fire_and_finish, in_channel, private, shown, stored, top


def said(text: str) -> str:
    """A message as a person reads it (entities undone)."""
    return html.unescape(text)


def to_next_slot(h: Harness) -> None:
    """Go to the schedule's next slot: it fires, and its run is under way."""
    slot = stored(h)[0].next_fire_at
    assert slot is not None
    h.advance((slot - h.clock.now()).total_seconds())


def test_edit_sets_replaces_and_removes_the_condition_that_decides_the_next_runs(
    harness: Harness,
) -> None:
    h = harness
    h.deepnote.set_kpi(churn_rate=0.031)
    in_channel(h, f"schedule {KPI_NOTEBOOK_ID} every hour --tz UTC")
    fire_and_finish(h)
    assert cards(h) == 1  # no condition: every run is posted

    notice = said(in_channel(h, "edit 1 --notify-if churn_rate>5%"))
    assert "*Notify if:* _not set_ → `churn_rate > 5%`" in notice
    assert "The alert starts afresh: the new condition has not been checked yet" in notice
    assert '["notify_if", null, "churn_rate > 5%"]' in audit_text(h)
    fire_and_finish(h)  # 3.1%: the condition does not hold, so the run is not posted
    assert cards(h) == 1
    h.deepnote.set_kpi(churn_rate=0.052)
    fire_and_finish(h)  # 5.2%: it holds, posted as an alert
    assert cards(h) == 2
    assert "*Alert:* `churn_rate > 5%` holds: churn_rate is *5.2%*" in replies(h)[-1]
    assert stored(h)[0].alert_state == "holds"

    notice = said(in_channel(h, "edit 1 --notify-if churn_rate > 6%"))
    assert "*Notify if:* `churn_rate > 5%` → `churn_rate > 6%`" in notice
    assert (stored(h)[0].alert_state, stored(h)[0].alert_last) == (None, None)
    assert "Alert* `churn_rate > 6%`: not checked yet" in said(private(h, "schedules"))
    fire_and_finish(h)  # 5.2% is not above 6%: quiet
    assert cards(h) == 2

    notice = said(in_channel(h, "edit 1 --notify-if none"))
    assert "*Notify if:* `churn_rate > 6%` → _not set_" in notice
    assert "Without a condition, runs are posted by *Notify* (`always`)" in notice
    fire_and_finish(h)  # posted as before the condition
    assert cards(h) == 3
    assert "Alert" not in replies(h)[-1]
    assert stored(h)[0].notify_if is None


def test_a_condition_the_notebook_cannot_answer_is_refused_and_nothing_changes(
    harness: Harness,
) -> None:
    h = harness
    in_channel(h, f"schedule {KPI_NOTEBOOK_ID} every hour --notify-if churn_rate > 5%")
    posted = len(top(h))
    reply = said(private(h, "edit 1 every day at 9 --notify-if churn > 5%"))
    assert "has no output named `churn`" in reply
    for name in ("Churn rate", "Revenue", "late_orders"):
        assert f"`{name}`" in reply, name
    assert "The schedule was not changed." in reply
    reply = said(private(h, "edit 1 --notify failures"))
    assert "`--notify failures` and `--notify-if` do not go together" in reply
    assert "The schedule was not changed." in reply
    reply = said(private(h, "edit 1 --notify failures --notify-if revenue < 1M"))
    assert "do not go together" in reply
    (schedule,) = stored(h)
    assert (schedule.expression, schedule.notify, schedule.notify_if) == (
        "0 * * * *",
        "always",
        "churn_rate > 5%",
    )
    assert len(top(h)) == posted  # nothing announced
    # Removing the condition and posting failures only, in one edit, is fine.
    notice = said(in_channel(h, "edit 1 --notify failures --notify-if none"))
    assert "*Notify:* `always` → `failures`" in notice
    assert (stored(h)[0].notify, stored(h)[0].notify_if) == ("failures", None)


def test_a_run_under_way_keeps_the_condition_it_started_with(harness: Harness) -> None:
    h = harness
    h.deepnote.set_kpi(churn_rate=0.052)
    in_channel(h, f"schedule {KPI_NOTEBOOK_ID} every hour --tz UTC --notify-if churn_rate>5%")
    to_next_slot(h)  # its run starts under `churn_rate > 5%`
    in_channel(h, "edit 1 --notify-if churn_rate > 6%")
    h.run_until_finished()
    h.advance(1)
    assert cards(h) == 1  # 5.2% > 5%: posted by the condition it started with
    assert "*Alert:* `churn_rate > 5%` holds" in replies(h)[-1]
    # ... and says nothing of the new condition, which is still not checked.
    assert (stored(h)[0].alert_state, stored(h)[0].alert_last) == (None, None)

    to_next_slot(h)
    in_channel(h, "edit 1 --notify-if none")  # under way: `churn_rate > 6%`, which is clear
    h.run_until_finished()
    h.advance(1)
    assert cards(h) == 1, "the run under way was posted without its condition"
    fire_and_finish(h)  # the next run has no condition: posted
    assert cards(h) == 2


def test_the_edit_form_shows_the_condition_and_checks_a_new_one(harness: Harness) -> None:
    h = harness
    in_channel(h, f"schedule {KPI_NOTEBOOK_ID} every hour --notify-if churn_rate > 5%")
    h.command("edit 1")
    h.slack.wait_for(lambda s: len(s.views) == 1)
    view = edit_form(h)
    assert initial(view, NOTIFY_IF_BLOCK) == "churn_rate > 5%"

    for typed, error in (
        ("churn > 5%", "KPI monitor has no output named churn"),
        ("churn_rate >> 5", "cannot be read"),
    ):
        answer = submit(h, view, with_values(view, **{NOTIFY_IF_BLOCK: typed})).json()
        assert answer["response_action"] == "errors"
        assert error in answer["errors"][NOTIFY_IF_BLOCK], answer
    values = with_values(view, **{NOTIFY_BLOCK: "failures"})
    answer = submit(h, view, values).json()
    assert "Failed runs only does not go with a condition" in answer["errors"][NOTIFY_IF_BLOCK]
    assert stored(h)[0].notify_if == "churn_rate > 5%"

    before = len(top(h))
    assert submit(h, view, with_values(view, **{NOTIFY_IF_BLOCK: "revenue<1M"})).text == ""
    h.slack.wait_for(lambda s: len(top(h)) > before)
    assert "*Notify if:* `churn_rate > 5%` → `revenue < 1M`" in said(shown(top(h)[-1]))
    assert stored(h)[0].notify_if == "revenue < 1M"
    # Emptying the field removes the condition.
    before = len(top(h))
    assert submit(h, view, with_values(view, **{NOTIFY_IF_BLOCK: ""})).text == ""
    h.slack.wait_for(lambda s: len(top(h)) > before)
    assert stored(h)[0].notify_if is None
