"""The pure rules of schedules: which slot runs, which are skipped, what is announced.

No I/O: `ScheduleService` asks these and acts on the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.conditions import (
    BACK_TO_NORMAL,
    CLEAR,
    HOLDS,
    QUIET,
    STARTED,
    STILL,
    UNCHECKED,
    Evaluation,
    Facts,
    evaluate_text,
)
from bot.schedules.describe import describe
from bot.schedules.firing import next_time, next_times, previous_time
from bot.schedules.recurrence import Recurrence
from bot.schedules.when import parse_when
from bot.text.mrkdwn import user_mention
from storage.schedules import SUCCESS, ScheduleRecord

MISSED_CAP = 1000
_TINY = timedelta(microseconds=1)


def should_announce(notify: str, *, success: bool, previous_status: str | None) -> bool:
    """Whether a finished scheduled run is posted in the channel.

    `changes` posts when the outcome (success or not) differs from the previous run's; a
    first run has nothing to differ from, so it is posted only when it fails.

    >>> [should_announce("changes", success=s, previous_status=p)
    ...  for s, p in ((True, None), (False, None), (True, "error"), (True, "success"))]
    [False, True, True, False]
    """
    if notify == "failures":
        return not success
    if notify == "changes":
        if previous_status is None:
            return not success
        return success != (previous_status == SUCCESS)
    return True


@dataclass(frozen=True)
class AlertDecision:
    """Whether to post a run of an alert, what its message says, and the alert state to keep."""

    post: bool
    kind: str
    """`STARTED`, `STILL`, `BACK_TO_NORMAL`, `UNCHECKED` or `QUIET`."""
    state: str | None
    """The alert state after this run (`holds`, `clear`, or None before any answer)."""


def alert_decision(notify: str, result: str, previous: str | None) -> AlertDecision:
    """What to do with a run whose `--notify-if` condition said `result` (holds, clear or
    unknown), given the alert state `previous` (holds, clear, or None for no answer yet).

    "Alert started" and "back to normal" are posted once each; while the condition keeps
    holding, `--notify changes` stays quiet and `--notify always` posts every run. A run whose
    condition could not be checked is always posted (with why) and leaves the state as it was.

    >>> runs = (("holds", None), ("holds", "holds"), ("clear", "holds"), ("clear", None),
    ...         ("unknown", "holds"))
    >>> [alert_decision("changes", r, p).kind for r, p in runs]
    ['started', 'quiet', 'back_to_normal', 'quiet', 'unchecked']
    >>> alert_decision("always", "holds", "holds")
    AlertDecision(post=True, kind='still', state='holds')
    """
    if result == HOLDS:
        if previous == HOLDS:
            return AlertDecision(notify == "always", STILL if notify == "always" else QUIET, HOLDS)
        return AlertDecision(True, STARTED, HOLDS)
    if result == CLEAR:
        if previous == HOLDS:
            return AlertDecision(True, BACK_TO_NORMAL, CLEAR)
        return AlertDecision(False, QUIET, CLEAR)
    return AlertDecision(True, UNCHECKED, previous)


def decide_alert(
    notify: str, condition: str, previous: str | None, *, status: str, facts: Facts
) -> tuple[Evaluation, AlertDecision]:
    """Check `condition` (its text) on one run's outcome and facts, and decide as
    `alert_decision` does: the one call for anything that posts runs by a condition."""
    evaluation = evaluate_text(condition, replace(facts, status=status))
    return evaluation, alert_decision(notify, evaluation.result, previous)


@dataclass(frozen=True)
class SlotPlan:
    """What to do about a due schedule: the slot to run now (if any) and the slots skipped."""

    run: datetime | None
    next_fire_at: datetime | None
    skipped: int = 0
    skipped_first: datetime | None = None
    skipped_last: datetime | None = None


def plan_slots(
    rec: Recurrence, tz: ZoneInfo, *, expected: datetime, now: datetime, grace_seconds: float
) -> SlotPlan:
    """Decide a due schedule's firing: only the latest slot runs, and only within the grace.

    Slots before it (missed while the bot was down) are skipped, never caught up.

    >>> from datetime import UTC
    >>> rec, utc = parse_when("every hour"), ZoneInfo("UTC")
    >>> at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    >>> plan = plan_slots(rec, utc, expected=at, now=at + timedelta(hours=2, minutes=5),
    ...                   grace_seconds=600)
    >>> plan.run.hour, plan.skipped, plan.next_fire_at.hour
    (11, 2, 12)
    """
    latest = previous_time(rec, tz, now)
    if latest is None or latest < expected:
        latest = expected
    run = latest if (now - latest).total_seconds() <= grace_seconds else None
    following = next_time(rec, tz, now)
    if run == expected:
        return SlotPlan(run=run, next_fire_at=following)
    bound = latest if run is None else latest - _TINY
    missed = [
        t for t in next_times(rec, tz, expected - _TINY, MISSED_CAP) if t <= bound and t >= expected
    ]
    if not missed:
        return SlotPlan(run=run, next_fire_at=following)
    # Counting stops at MISSED_CAP; the last missed slot is still the real one.
    last = previous_time(rec, tz, bound) if len(missed) == MISSED_CAP else missed[-1]
    return SlotPlan(
        run=run,
        next_fire_at=following,
        skipped=len(missed),
        skipped_first=missed[0],
        skipped_last=last or missed[-1],
    )


def parse_schedule_id(text: str) -> int | None:
    """The schedule id in what a user typed (`12`, `#12`), or None.

    >>> parse_schedule_id("#12"), parse_schedule_id("abc")
    (12, None)
    """
    digits = text.strip().removeprefix("#")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        return None
    return int(digits)


def zone_source(tz: str | None, user_tz: str | None, zone_name: str) -> str:
    """Where a schedule's zone came from, in words for the confirmation.

    >>> zone_source(None, "Europe/Prague", "Europe/Prague"), zone_source(None, None, "UTC")
    ('your Slack time zone', 'UTC, because your Slack profile has no time zone')
    """
    if tz is not None:
        return "set with --tz"
    if user_tz and (zone_name != "UTC" or user_tz.strip().lower() in ("utc", "gmt")):
        return "your Slack time zone"
    if user_tz:
        return f"UTC, because your Slack time zone {user_tz[:64]!r} is unknown here"
    return "UTC, because your Slack profile has no time zone"


def local_today(now: datetime, tz: str) -> date:
    """The date in the schedule's zone (what `today` means for its inputs)."""
    return now.astimezone(ZoneInfo(tz)).date()


def words(schedule: ScheduleRecord) -> str:
    """The schedule's timing in words (bot-written mrkdwn)."""
    return describe(parse_when(schedule.expression))


def who_may_change(owner_id: str, admins: tuple[str, ...]) -> str:
    """Who may change a schedule or watch, in words, for a refusal.

    >>> who_may_change("U0123ABCD", ())
    'its owner <@U0123ABCD> (this bot has no admins set up)'
    """
    owner = user_mention(owner_id)
    if not admins:
        return f"its owner {owner} (this bot has no admins set up)"
    named = ", ".join(user_mention(a) for a in admins[:5])
    more = " and others" if len(admins) > 5 else ""
    return f"its owner {owner} or a bot admin ({named}{more})"
