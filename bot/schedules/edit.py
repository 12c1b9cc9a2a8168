"""Editing a schedule in place: what an edit asks for, the schedule it makes, what changed.

Pure: `ScheduleService.edit` checks the result against the notebook, stores it and announces
it. Only the fields an edit names change; the id, owner, channel and history stay.

>>> from datetime import UTC, datetime
>>> old = ScheduleRecord(3, "T", "C", "U", "nb", "Sales", "0 9 * * *", "UTC", "always",
...     datetime(2026, 1, 1, tzinfo=UTC), inputs={"region": "Europe"})
>>> new = edited(old, ScheduleEdit(inputs=(("top_n", "3"),), notify="failures"),
...     expression="0 9 * * *", tz="UTC")
>>> new.inputs, new.notify
({'region': 'Europe', 'top_n': '3'}, 'failures')
>>> [c.field for c in changes(old, new)]
['inputs.top_n', 'notify']
>>> alert = replace(old, notify_if="churn_rate > 5%", alert_state="holds", alert_last="holds")
>>> new = edited(alert, ScheduleEdit(notify_if="churn_rate > 6%"), expression="0 9 * * *",
...     tz="UTC")
>>> changes(alert, new), new.alert_state
((FieldChange(field='notify_if', old='churn_rate > 5%', new='churn_rate > 6%'),), None)
>>> edited(alert, ScheduleEdit(notify_if=REMOVE_CONDITION), expression="0 9 * * *",
...     tz="UTC").notify_if is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.commands.conditions import FAILURES_REFUSED
from bot.commands.types import REMOVE_CONDITION as REMOVE_CONDITION
from bot.deepnote.condition_names import check_condition
from bot.deepnote.models import Notebook
from bot.deepnote.output_names import ReadBlock
from bot.errors import UserError
from bot.schedules.describe import describe
from bot.schedules.when import parse_when
from storage.schedules import FieldChange, ScheduleRecord

NOT_CHANGED = "The schedule was not changed."

DEFAULT_OUTPUTS = ""
"""`post_outputs` of an edit that puts the default outputs back (an emptied form field)."""


@dataclass(frozen=True)
class ScheduleEdit:
    """What an edit asks to change; None (or no inputs) leaves a field as it is.

    `replace_inputs`: the inputs given are all of them (the edit form sends every field), so
    stored inputs not among them are dropped; else they are merged into the stored ones.
    """

    when: str | None = None
    inputs: Sequence[tuple[str, str]] = ()
    tz: str | None = None
    notify: str | None = None
    post_outputs: str | None = None
    replace_inputs: bool = False
    notify_if: str | None = None
    """The new `--notify-if` condition; `REMOVE_CONDITION` (`--notify-if none`, an emptied
    form field) removes it."""


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the schedule before and after, the changes, the next runs."""

    before: ScheduleRecord
    after: ScheduleRecord
    changes: tuple[FieldChange, ...]
    next_runs: tuple[datetime, ...] = ()
    actor: str = ""
    announced: bool = True
    """False when the change could not be posted in the schedule's channel."""

    @property
    def changed(self) -> bool:
        """Whether anything changed (an edit to the values it had changes nothing)."""
        return bool(self.changes)


def edited(
    schedule: ScheduleRecord, edit: ScheduleEdit, *, expression: str, tz: str
) -> ScheduleRecord:
    """The schedule as `edit` makes it (`expression` and `tz` already checked)."""
    inputs = {} if edit.replace_inputs else dict(schedule.inputs)
    inputs.update(dict(edit.inputs))
    post = schedule.post_outputs
    if edit.post_outputs is not None:
        post = edit.post_outputs or None
    condition = schedule.notify_if
    if edit.notify_if is not None:
        condition = edit.notify_if or None
    after = replace(
        schedule,
        expression=expression,
        tz=tz,
        notify=edit.notify or schedule.notify,
        post_outputs=post,
        inputs=inputs,
        notify_if=condition,
    )
    if condition != schedule.notify_if:
        # A new condition has never been checked: its alert starts over.
        after = replace(after, alert_state=None, alert_last=None)
    return after


def checked_condition(
    notebook: Notebook, before: ScheduleRecord, after: ScheduleRecord, *, read_block: ReadBlock
) -> ScheduleRecord:
    """`after` with a new condition checked against `notebook` (the names it reads) as
    `schedule` checks it, in its canonical spelling; refused with `--notify failures`."""
    if after.notify_if is not None and after.notify_if != before.notify_if:
        canonical = check_condition(
            notebook, after.notify_if, read_block=read_block, refused=NOT_CHANGED
        )
        after = replace(after, notify_if=canonical)
    if after.notify_if is not None and after.notify == "failures":
        raise UserError(FAILURES_REFUSED, hint=NOT_CHANGED)
    return after


def _when_words(expression: str) -> str:
    return describe(parse_when(expression))


def changes(before: ScheduleRecord, after: ScheduleRecord) -> tuple[FieldChange, ...]:
    """The fields that differ, in the order people read a schedule."""
    found: list[FieldChange] = []
    if before.expression != after.expression:
        found.append(
            FieldChange("when", _when_words(before.expression), _when_words(after.expression))
        )
    if before.tz != after.tz:
        found.append(FieldChange("tz", before.tz, after.tz))
    for name in dict.fromkeys([*before.inputs, *after.inputs]):
        old, new = before.inputs.get(name), after.inputs.get(name)
        if old != new:
            found.append(FieldChange(f"inputs.{name}", old, new))
    if before.notify != after.notify:
        found.append(FieldChange("notify", before.notify, after.notify))
    if before.post_outputs != after.post_outputs:
        found.append(FieldChange("post_outputs", before.post_outputs, after.post_outputs))
    if before.notify_if != after.notify_if:
        found.append(FieldChange("notify_if", before.notify_if, after.notify_if))
    return tuple(found)


def retimed(before: ScheduleRecord, after: ScheduleRecord) -> bool:
    """Whether the edit moved the schedule's slots (its timing or its zone changed)."""
    return before.expression != after.expression or before.tz != after.tz


def typed_when(expression: str) -> str:
    """A schedule's timing as a person would type it: its words when they read back as the
    same schedule, else its crontab.

    >>> typed_when("0 18 * * *"), typed_when("0 9 * * 1-5")
    ('every day at 18:00', '0 9 * * 1-5')
    """
    words = describe(parse_when(expression))
    try:
        same = parse_when(words).expression == expression
    except UserError:
        same = False
    return words if same else expression
