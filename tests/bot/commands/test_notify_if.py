"""`--notify-if` in commands: the rest of the command is the condition, read (or refused) before
anything else happens; and the alert decision that posts a schedule's runs."""

from __future__ import annotations

import pytest

from bot.commands.parse import parse_command
from bot.commands.types import (
    REMOVE_CONDITION,
    EditCommand,
    RunCommand,
    ScheduleCommand,
    WatchCommand,
)
from bot.errors import UserError
from bot.schedules.rules import alert_decision

KPI = "7968cafc8e2a4f1d970843603af5071c"


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        (f"schedule {KPI} every day at 9am --notify-if churn_rate > 5%", "churn_rate > 5%"),
        (f'schedule {KPI} every day --notify-if "churn_rate > 5%"', "churn_rate > 5%"),
        (f"schedule {KPI} every day --notify-if “churn_rate>5%”", "churn_rate > 5%"),
        (
            f"schedule {KPI} every day --notify-if='rows(\"Late orders\") > 0'",
            'rows("Late orders") > 0',
        ),
        (
            f'schedule {KPI} every day —notify-if "Data freshness" &gt;= 24',
            '"Data freshness" >= 24',
        ),
        (
            f"schedule {KPI} every day --NOTIFY_IF revenue &lt; 1M or status == failed",
            "revenue < 1M or status == failed",
        ),
    ],
)
def test_schedule_takes_the_rest_of_the_command_as_its_condition(text: str, condition: str) -> None:
    command = parse_command(text)
    assert isinstance(command, ScheduleCommand)
    assert command.notify_if == condition
    assert command.when in ("every day", "every day at 9am")


def test_run_carries_the_condition_in_its_options() -> None:
    command = parse_command(f"run {KPI} region=Europe --notify-if rows(late_orders)>0")
    assert isinstance(command, RunCommand)
    assert command.inputs == (("region", "Europe"),)
    assert command.options.notify_if == 'rows("late_orders") > 0'


def test_watch_takes_a_condition_like_schedule() -> None:
    command = parse_command(f"watch {KPI} --notify changes --notify-if churn_rate>5%")
    assert command == WatchCommand(KPI, notify="changes", notify_if="churn_rate > 5%")
    assert parse_command(f"watch {KPI}") == WatchCommand(KPI)


def test_edit_sets_replaces_or_removes_the_condition() -> None:
    command = parse_command("edit 3 every hour --notify-if='churn_rate>5%'")
    assert isinstance(command, EditCommand)
    assert (command.when, command.notify_if) == ("every hour", "churn_rate > 5%")
    assert not command.changes_nothing()
    for removal in (
        "edit 3 --notify-if none",
        "edit 3 --notify-if None",
        "edit 3 --notify-if=none",
    ):
        command = parse_command(removal)
        assert isinstance(command, EditCommand)
        assert command.notify_if == REMOVE_CONDITION
        assert not command.changes_nothing()
    command = parse_command("edit 3 --tz UTC")
    assert isinstance(command, EditCommand)
    assert command.notify_if is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            f"schedule {KPI} every day --notify-if churn_rate > 5% --notify changes",
            "put `--notify-if` last",
        ),
        (
            f"schedule {KPI} every day --notify failures --notify-if churn_rate > 5%",
            "`--notify failures` and `--notify-if` do not go together",
        ),
        (
            f"watch {KPI} --notify failures --notify-if churn_rate > 5%",
            "`--notify failures` and `--notify-if` do not go together",
        ),
        (f"watch {KPI} --notify-if churn_rate > 5% --notify changes", "put `--notify-if` last"),
        (f"schedule {KPI} every day --notify-if", "`--notify-if` needs a condition"),
        (f"schedule {KPI} every day --notify-if churn_rate >", "The condition cannot be read"),
        (
            "schedules --notify-if churn_rate > 5%",
            "works with `run`, `schedule`, `watch` and `edit` only",
        ),
        (
            "edit 3 --notify failures --notify-if churn_rate > 5%",
            "`--notify failures` and `--notify-if` do not go together",
        ),
        ("edit 3 --notify-if churn_rate > 5% --tz UTC", "put `--notify-if` last"),
        ("edit 3 --notify-if", "`--notify-if` needs a condition"),
    ],
)
def test_refusals_say_what_to_change(text: str, said: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_command(text)
    assert said in caught.value.user_message


@pytest.mark.parametrize(
    ("notify", "runs", "posted", "kinds"),
    [
        # changes: once when it starts, once when it is back to normal.
        (
            "changes",
            ["clear", "holds", "holds", "clear", "clear"],
            [False, True, False, True, False],
            ["quiet", "started", "quiet", "back_to_normal", "quiet"],
        ),
        # always: every run where it holds, then back to normal once.
        (
            "always",
            ["holds", "holds", "clear", "clear", "holds"],
            [True, True, True, False, True],
            ["started", "still", "back_to_normal", "quiet", "started"],
        ),
        # A run that cannot be checked is posted and changes nothing.
        (
            "changes",
            ["holds", "unknown", "holds", "unknown", "clear"],
            [True, True, False, True, True],
            ["started", "unchecked", "quiet", "unchecked", "back_to_normal"],
        ),
    ],
)
def test_alert_decision_over_a_series_of_runs(
    notify: str, runs: list[str], posted: list[bool], kinds: list[str]
) -> None:
    state = None
    seen = []
    for result in runs:
        decision = alert_decision(notify, result, state)
        seen.append((decision.post, decision.kind))
        state = decision.state
    assert seen == list(zip(posted, kinds, strict=True))
