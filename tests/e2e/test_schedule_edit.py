"""Editing schedules in place: `/deepnote edit`, the *Edit…* buttons and the edit form.

The real bot over signed HTTP, the ManualClock, real SQLite, the Slack stand-in and the
Deepnote simulator; each test types or clicks as a person would and reads what Slack shows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.slack_standin import SlackStandIn
from bot.offline.slack_standin.records import View
from bot.slack.messages.schedules import EDIT_SCHEDULE
from bot.slack.schedule_form import EDIT_CALLBACK_ID, NOTIFY_BLOCK, TZ_BLOCK, WHEN_BLOCK
from storage.engine import open_database
from storage.intents import EDIT_FORM, Intent, IntentStore
from tests.conftest import Bots, Harness
from tests.e2e.test_interactions import TEAM, button, click, submit, unchanged_state
from tests.e2e.test_mentions_home_aliases import home_click, home_text, open_home
from tests.e2e.test_schedules import (
    ALICE,
    BOB,
    CHANNEL,
    OTHER,
    creates,
    in_channel,
    newest_run_id,
    private,
    shown,
    stored,
    top,
)
from tests.pg import ENGINES

ADMIN = "U0ADMIN"


def schedule_sales(h: Harness) -> str:
    """Alice schedules the Sales report every day at 9:00 UTC with region=Europe."""
    return in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every day at 9:00 region=Europe --tz UTC")


def audit_text(h: Harness) -> str:
    """The audit log's entries, as stored."""
    return json.dumps([(e.action, e.details) for e in h.bot.services.audit.latest(50)])


def edit_form(h: Harness) -> View:
    """The edit form the bot opened last."""
    view = h.slack.views[-1]
    assert view.callback_id == EDIT_CALLBACK_ID
    return view


def initial(view: View, bid: str) -> Any:
    """The prefilled value of one field of a form."""
    el = next(b for b in view.blocks if b.get("block_id") == bid)["element"]
    option = el.get("initial_option")
    return option["value"] if option else el.get("initial_value")


def with_values(view: View, **changes: Any) -> dict[str, Any]:
    """The form's state with some text fields or selects changed (by block id)."""
    values = unchanged_state(view)
    for bid, value in changes.items():
        state = next(iter(values[bid].values()))
        if state["type"] == "static_select":
            state["selected_option"] = {
                "text": {"type": "plain_text", "text": value},
                "value": value,
            }
        else:
            state["value"] = value
    return values


# --- the command ---------------------------------------------------------------------------------


def test_edit_changes_only_the_timing_and_announces_the_next_three_runs(harness: Harness) -> None:
    h = harness
    schedule_sales(h)
    notice = in_channel(h, "edit 1 every weekday at 9")
    for fragment in (
        "<@U0ALICE> changed schedule `1`",
        "*When:* every day at 09:00 → every weekday (Mon–Fri) at 09:00",
        "Thu 26 Nov 2026, 09:00 UTC",
        "Fri 27 Nov 2026, 09:00 UTC",
        "Mon 30 Nov 2026, 09:00 UTC",
        "Edit…",
    ):
        assert fragment in notice, fragment
    assert "Input" not in notice  # only what was given changed
    (schedule,) = stored(h)
    assert (schedule.id, schedule.owner_id, schedule.channel_id) == (1, ALICE, CHANNEL)
    assert schedule.expression == "0 9 * * 1-5"
    assert (schedule.inputs, schedule.notify, schedule.tz) == (
        {"region": "Europe"},
        "always",
        "UTC",
    )
    assert schedule.next_fire_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    (edit,) = [e for e in h.bot.services.audit.latest(50) if e.action == "edit"]
    assert edit.user_id == ALICE
    assert edit.details["changes"] == [
        ["when", "every day at 09:00", "every weekday (Mon–Fri) at 09:00"]
    ]
    assert h.slack.violations == []


def test_edit_inputs_zone_notify_and_outputs_keeps_the_rest(harness: Harness) -> None:
    h = harness
    schedule_sales(h)
    notice = in_channel(h, "edit 1 top_n=3 --tz Europe/Prague --notify failures --post-outputs all")
    for fragment in (
        "*Input `top_n`:* _not set_ → `3`",
        "*Time zone:* `UTC` → `Europe/Prague`",
        "*Notify:* `always` → `failures`",
        "*Outputs posted:* _not set_ → `all`",
        "Thu 26 Nov 2026, 09:00 CET",
    ):
        assert fragment in notice, fragment
    (schedule,) = stored(h)
    assert schedule.inputs == {"region": "Europe", "top_n": "3"}
    assert (schedule.tz, schedule.notify, schedule.post_outputs) == (
        "Europe/Prague",
        "failures",
        "all",
    )
    assert schedule.expression == "0 9 * * *"
    assert schedule.next_fire_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    # The audit log keeps what changed, old and new.
    entry = audit_text(h)
    assert '["tz", "UTC", "Europe/Prague"]' in entry
    assert '["inputs.top_n", null, "3"]' in entry
    # The same values again change nothing and say so.
    assert "nothing changed" in private(h, "edit 1 top_n=3 --notify failures")
    assert len([e for e in h.bot.services.audit.latest(50) if e.action == "edit"]) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("edit 1 every blue moon", "could not understand"),
        ("edit 1 region=Atlantis", "Atlantis"),
        ("edit 1 regoin=Asia", "regoin"),
        ("edit 1 --tz Mars/Olympus", "time zone"),
        ("edit 1 --post-outputs no_such_block", "no_such_block"),
        ("edit 7 every hour", "There is no schedule `7`"),
    ],
    ids=["when", "input-value", "input-name", "tz", "post-outputs", "unknown"],
)
def test_a_bad_edit_is_refused_and_changes_nothing(
    harness: Harness, text: str, expected: str
) -> None:
    h = harness
    schedule_sales(h)
    before = stored(h)
    messages = len(top(h))
    answer = private(h, text)
    assert expected in answer
    assert stored(h) == before
    assert len(top(h)) == messages
    assert "edit" not in [e.action for e in h.bot.services.audit.latest(50)]


def test_only_the_owner_or_an_admin_may_edit(bots: Bots, slack: SlackStandIn) -> None:
    slack.set_user(ADMIN, tz="UTC", name="Ada Admin")
    h = bots.start(ADMIN_USER_IDS=ADMIN)
    schedule_sales(h)
    refusal = private(h, "edit 1 every hour", user=BOB)
    assert "You cannot edit schedule `1`" in refusal
    assert "<@U0ALICE>" in refusal
    assert "<@U0ADMIN>" in refusal
    assert stored(h)[0].expression == "0 9 * * *"
    # An admin may, from another channel: the change is announced in the schedule's channel.
    answer = private(h, "edit 1 every hour", user=ADMIN, channel=OTHER)
    assert f"announced in <#{CHANNEL}>" in answer
    assert "<@U0ADMIN> changed schedule `1`" in shown(top(h)[-1])
    assert stored(h)[0].owner_id == ALICE
    audit = private(h, "audit", user=ADMIN)
    assert "<@U0ADMIN> edited schedule 1: Sales report" in audit
    assert "when every day at 09:00 → every hour" in audit


def test_edit_follows_the_notebook_access_rules(bots: Bots) -> None:
    h = bots.start()
    in_channel(h, f"schedule {HELLO_NOTEBOOK_ID} every hour --tz UTC")
    bots.stop(h)
    h = bots.start(NOTEBOOK_ACCESS=f"{HELLO_NOTEBOOK_ID}={OTHER}")
    assert "may not be run from this channel" in private(h, "edit 1 every day at 9")
    assert stored(h)[0].expression == "0 * * * *"


def test_a_run_under_way_finishes_as_it_started_and_the_next_slot_uses_the_change(
    harness: Harness,
) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every hour region=Europe --tz UTC")
    h.advance(3600)  # 13:00: the slot fires
    (first,) = creates(h)
    assert first.body["inputs"] == {"region": "Europe"}
    in_channel(h, "edit 1 region=Mars --post-outputs none")  # while the run is in flight
    h.run_until_finished()
    card = [m for m in top(h) if "Sales report" in m.text and "succeeded" in m.text]
    assert card, "the run under way did not finish with its own inputs"
    (reply,) = h.slack.thread(CHANNEL, card[-1].ts)
    assert "Top products" in shown(reply) or "Revenue" in shown(reply)  # old outputs setting
    assert len(creates(h)) == 1, "the edit fired the schedule again"
    assert stored(h)[0].next_fire_at == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    h.advance((datetime(2026, 11, 25, 14, 0, tzinfo=UTC) - h.clock.now()).total_seconds())
    assert creates(h)[-1].body["inputs"] == {"region": "Mars"}
    h.deepnote.finish_run(newest_run_id(h), "error", error="ZeroDivisionError")
    h.run_until_finished()
    assert stored(h)[0].last_status == "error"


def test_a_notify_change_while_a_run_is_under_way_applies_from_the_next_run(
    harness: Harness,
) -> None:
    h = harness
    in_channel(h, f"schedule {SALES_NOTEBOOK_ID} every hour --tz UTC --notify failures")
    h.advance(3600)  # 13:00: the slot fires, quietly (only failures are posted)
    assert len(creates(h)) == 1
    h.advance(5)
    in_channel(h, "edit 1 --notify always")
    posted = len(top(h))
    h.run_until_finished()
    h.advance(1)
    assert len(top(h)) == posted, "the run under way was announced by the new setting"
    h.advance((datetime(2026, 11, 25, 14, 0, tzinfo=UTC) - h.clock.now()).total_seconds())
    assert len(creates(h)) == 2
    h.slack.wait_for(lambda s: len(top(h)) == posted + 1)
    assert "Sales report" in top(h)[-1].text  # the next run's card: every run is posted now


# --- the form ---------------------------------------------------------------------------------


def test_edit_alone_opens_the_form_filled_in_and_saving_it_changes_the_schedule(
    harness: Harness,
) -> None:
    h = harness
    schedule_sales(h)
    assert h.command("edit 1").status_code == 200
    h.slack.wait_for(lambda s: len(s.views) == 1)
    view = edit_form(h)
    assert initial(view, WHEN_BLOCK) == "every day at 09:00"
    assert initial(view, TZ_BLOCK) == "UTC"
    assert initial(view, NOTIFY_BLOCK) == "always"
    assert initial(view, "input:region") == "Europe"
    assert initial(view, "input:top_n") == "5"  # the notebook's own value, as the run form
    values = with_values(
        view,
        **{WHEN_BLOCK: "every hour", NOTIFY_BLOCK: "changes", "input:region": "Asia Pacific"},
    )
    assert submit(h, view, values).text == ""
    h.slack.wait_for(lambda s: "changed schedule" in shown(top(h)[-1]))
    (schedule,) = stored(h)
    # Fields left as the notebook has them keep following the notebook.
    assert schedule.inputs == {"region": "Asia Pacific"}
    assert (schedule.expression, schedule.notify) == ("0 * * * *", "changes")
    assert "*Input `region`:* `Europe` → `Asia Pacific`" in shown(top(h)[-1])


def test_the_form_shows_problems_next_to_their_fields_and_saves_nothing(harness: Harness) -> None:
    h = harness
    schedule_sales(h)
    h.command("edit 1")
    h.slack.wait_for(lambda s: len(s.views) == 1)
    view = edit_form(h)
    values = with_values(view, **{WHEN_BLOCK: "every blue moon", TZ_BLOCK: "Mars/Olympus"})
    answer = submit(h, view, values).json()
    assert answer["response_action"] == "errors"
    assert "could not understand" in answer["errors"][WHEN_BLOCK]
    assert "time zone" in answer["errors"][TZ_BLOCK]
    assert stored(h)[0].expression == "0 9 * * *"
    # A form for someone else, or with changed metadata, is refused.
    forged = submit(h, view, unchanged_state(view), user=BOB).json()
    assert "could not be checked" in json.dumps(forged)


def test_the_edit_button_on_the_schedules_message_opens_the_form_for_its_owner_only(
    harness: Harness,
) -> None:
    h = harness
    schedule_sales(h)
    message = top(h)[-1]
    assert button(message, EDIT_SCHEDULE)["value"] == "1"
    click(h, message, EDIT_SCHEDULE, user=BOB)
    h.slack.wait_for(lambda s: any("You cannot edit" in e.text for e in s.ephemerals()))
    assert h.slack.views == []
    click(h, message, EDIT_SCHEDULE)
    h.slack.wait_for(lambda s: len(s.views) == 1)
    assert edit_form(h).private_metadata


def test_the_home_tab_edit_button_and_form(harness: Harness) -> None:
    h = harness
    schedule_sales(h)
    view = open_home(h)
    assert EDIT_SCHEDULE in json.dumps(view.blocks)
    home_click(h, EDIT_SCHEDULE, "1")
    h.slack.wait_for(lambda s: len(s.views) == 1)
    form = edit_form(h)
    submit(h, form, with_values(form, **{WHEN_BLOCK: "every monday at 8:30"}))
    h.slack.wait_for(lambda s: "Changed schedule `1`" in home_text(h))
    assert stored(h)[0].expression == "30 8 * * 1"
    assert "changed schedule `1`" in shown(top(h)[-1])
    assert "every Monday at 08:30" in home_text(h)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_saved_form_a_stopped_bot_left_undone_is_saved_after_the_restart(
    bots: Bots, engine: str
) -> None:
    h = bots.start()
    schedule_sales(h)
    h.command("edit 1")
    h.slack.wait_for(lambda s: len(s.views) == 1)
    form = edit_form(h)
    values = with_values(form, **{WHEN_BLOCK: "every hour"})
    bots.stop(h)
    # What the stopped process had stored before acknowledging the form, and never carried out.
    body = {
        "type": "view_submission",
        "user": {"id": ALICE, "username": "u0alice", "team_id": TEAM},
        "team": {"id": TEAM},
        "view": {
            **form.view,
            "private_metadata": form.private_metadata,
            "state": {"values": values},
        },
    }
    db = open_database(bots.path)
    IntentStore(db).add(
        Intent(
            id="edit-form-1",
            team_id=TEAM,
            user_id=ALICE,
            channel_id=CHANNEL,
            thread_ts=None,
            text="1",
            response_url=None,
            holder="a-stopped-process",
            received_at=h.clock.now(),
            kind=EDIT_FORM,
            payload=json.dumps(body),
        )
    )
    db.close()
    h2 = bots.start()
    h2.advance(1)
    h2.slack.wait_for(lambda s: "changed schedule `1`" in shown(top(h2)[-1]))
    assert stored(h2)[0].expression == "0 * * * *"
    h2.advance(1)  # carrying it out again finds nothing to change
    assert len([m for m in top(h2) if "changed schedule" in shown(m)]) == 1
