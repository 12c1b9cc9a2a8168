"""Schedule maths: parsing, words and firing times; every time is an argument."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.schedules.recurrence as sm
from bot.errors import UserError
from bot.schedules.recurrence import (
    EXAMPLES,
    Recurrence,
    describe,
    next_time,
    next_times,
    parse_when,
    previous_time,
)
from bot.schedules.zones import resolve_timezone

PRAGUE = ZoneInfo("Europe/Prague")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")
UTC_ZONE = ZoneInfo("UTC")


def r(lo: int, hi: int, step: int = 1) -> frozenset[int]:
    return frozenset(range(lo, hi + 1, step))


def at(zone: ZoneInfo, text: str) -> datetime:
    """A wall-clock time in a zone (first occurrence when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def local(instants: list[datetime], zone: ZoneInfo) -> list[str]:
    return [t.astimezone(zone).isoformat(timespec="minutes") for t in instants]


def user_error(text: str) -> UserError:
    with pytest.raises(UserError) as caught:
        parse_when(text)
    return caught.value


# -- crontab fields ------------------------------------------------------------------------

ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW = r(0, 59), r(0, 23), r(1, 31), r(1, 12), r(0, 6)


@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        ("0 9 * * 0", "weekdays", {0}),
        ("0 9 * * 7", "weekdays", {0}),
        ("0 9 * * 0,7", "weekdays", {0}),
        ("0 9 * * sun", "weekdays", {0}),
        ("0 9 * * SUN", "weekdays", {0}),
        ("0 9 * * Mon-Fri", "weekdays", {1, 2, 3, 4, 5}),
        ("0 9 * * 5-7", "weekdays", {5, 6, 0}),
        ("0 9 * * fri-sat,sun", "weekdays", {5, 6, 0}),
        ("0 9 * * 1-7/2", "weekdays", {1, 3, 5, 0}),
        ("0 9 * * */2", "weekdays", {0, 2, 4, 6}),
        ("0 9 * * *", "weekdays", set(ALL_DOW)),
        ("0 9 * * 0-7", "weekdays", set(ALL_DOW)),
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("5-59/20 * * * *", "minutes", {5, 25, 45}),
        ("10/15 * * * *", "minutes", {10, 25, 40, 55}),
        ("1,2,5-7,59 * * * *", "minutes", {1, 2, 5, 6, 7, 59}),
        ("*/7 * * * *", "minutes", {0, 7, 14, 21, 28, 35, 42, 49, 56}),
        ("* * * * *", "minutes", set(ALL_MIN)),
        ("0 */6 * * *", "hours", {0, 6, 12, 18}),
        ("0 9-17 * * *", "hours", set(r(9, 17))),
        ("0 22,23,0-2 * * *", "hours", {22, 23, 0, 1, 2}),
        ("0 0 */10 * *", "days", {1, 11, 21, 31}),
        ("0 0 1,15 * *", "days", {1, 15}),
        ("0 0 31 * *", "days", {31}),
        ("0 0 1 jan,JUL *", "months", {1, 7}),
        ("0 0 1 Mar-May *", "months", {3, 4, 5}),
        ("0 0 1 */3 *", "months", {1, 4, 7, 10}),
        ("0 0 1 2/5 *", "months", {2, 7, 12}),
        ("0 0 1 12 *", "months", {12}),
        ("00 09 01 01 00", "hours", {9}),
    ],
)
def test_cron_fields(text: str, field: str, values: set[int]) -> None:
    assert getattr(parse_when(text), field) == values


@pytest.mark.parametrize(
    ("text", "day_restricted", "weekday_restricted", "wildcard"),
    [
        ("0 9 * * *", False, False, False),
        ("0 9 1 * *", True, False, False),
        ("0 9 * * 1", False, True, False),
        ("0 9 1 * 1", True, True, False),
        ("0 9 */2 * 1", False, True, False),
        ("0 9 1-31 * 0-7", True, True, False),
        ("*/15 * * * *", False, False, True),
        ("0 * * * *", False, False, True),
        ("0 */2 * * *", False, False, True),
        ("*/5 9 * * *", False, False, True),
        ("0-59/15 9-17 * * *", False, False, False),
        ("0 0-23 * * *", False, False, False),
    ],
)
def test_cron_flags(
    text: str, day_restricted: bool, weekday_restricted: bool, wildcard: bool
) -> None:
    rec = parse_when(text)
    assert (rec.day_restricted, rec.weekday_restricted, rec.wildcard) == (
        day_restricted,
        weekday_restricted,
        wildcard,
    )


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
        ("0 9 * * MON-FRI", "0 9 * * 1-5"),
        ("0   9 * *   1-5", "0 9 * * 1-5"),
        ("`0 9 * * 1-5`", "0 9 * * 1-5"),
        ("0 9 * * 7", "0 9 * * 0"),
        ("0 9 * * 0-7", "0 9 * * 0-6"),
        ("0 9 1-31 * *", "0 9 1-31 * *"),
        ("0-59/15 * * * *", "*/15 * * * *"),
        ("0 0-23 * * *", "0 0-23 * * *"),
        ("0 */2 * * *", "0 */2 * * *"),
        ("5-59/20 * * * *", "5,25,45 * * * *"),
        ("0 0 1 2/5 *", "0 0 1 2,7,12 *"),
        ("0 0 1 */3 *", "0 0 1 1-10/3 *"),
        ("0 0 */10 * *", "0 0 */10 * *"),
        ("0 0 */31 * *", "0 0 */31 * *"),
        ("0 0 * * */7", "0 0 * * */7"),
        ("0 0 */2,4 * *", "0 0 */2,4 * *"),
        ("0 */24 * * *", "0 */24 * * *"),
    ],
)
def test_canonical_expression(text: str, expression: str) -> None:
    rec = parse_when(text)
    assert rec.expression == expression
    assert parse_when(rec.expression) == rec


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("60 * * * *", "minute 60 is out of range (0-59)"),
        ("0 24 * * *", "hour 24 is out of range (0-23)"),
        ("0 0 0 * *", "day of month 0 is out of range (1-31)"),
        ("0 0 32 * *", "day of month 32 is out of range (1-31)"),
        ("0 0 * 13 *", "month 13 is out of range (1-12)"),
        ("0 0 * 0 *", "month 0 is out of range (1-12)"),
        ("0 9 * * 8", "day of week 8 is out of range (0-7)"),
        ("0 9 * foo *", "`foo` is not a month (use jan-dec)"),
        ("0 9 * * mon-fry", "`fry` is not a day of week (use sun-sat)"),
        ("0 9 * mon *", "`mon` is not a month"),
        ("0 9 * * jan", "`jan` is not a day of week"),
        ("*/0 * * * *", "the step in `*/0` must be between 1 and 60"),
        ("*/61 * * * *", "the step in `*/61` must be between 1 and 60"),
        ("*/x * * * *", "the step in `*/x` must be a whole number"),
        ("5-1 * * * *", "the range `5-1` goes backwards"),
        ("0 9 * * fri-mon", "`fri-sat,sun-mon`"),
        ("1,,2 * * * *", "has an empty list item"),
        ("-5 * * * *", "a minute value is missing"),
        ("0 9 ? * *", "`?` is Quartz cron syntax"),
        ("0 9 * * mon#2", "`mon#2` is Quartz cron syntax"),
        ("0 9 l * *", "`l` is Quartz cron syntax"),
        ("0 9 15w * *", "`15w` is Quartz cron syntax"),
        ("0 9 *", "`0 9 *` has 3 fields; a cron expression has 5"),
        ("0 9 * * 1 2 3", "has 7 fields"),
        ("0 0 9 * * *", "has 6 fields: cron with seconds"),
        ("0 0 9 * * ?", "has 6 fields: cron with seconds"),
        ("0 0 30 2 *", "never fires: February has no 30th"),
        ("0 0 30,31 feb *", "never fires: February has no 30th or 31st"),
        ("0 0 31 4,6 *", "never fires: April and June have no 31st"),
        ("0 0 31 2,4 */2", "never fires: February and April have no 31st"),
        ("@reboot", "`@reboot` runs when a machine starts"),
        ("@midnight", "Unknown cron macro `@midnight`"),
        ("@every 5m", "Unknown cron macro"),
    ],
)
def test_invalid_cron(text: str, fragment: str) -> None:
    error = user_error(text)
    assert fragment in error.message
    assert error.hint


def test_cron_errors_explain_the_fields() -> None:
    hint = user_error("0 24 * * *").hint or ""
    assert "0 and 7 are both Sunday" in hint
    assert "`30 9 * * 1-5`" in hint


@pytest.mark.parametrize(
    ("text", "day", "fires"),
    [
        # both restricted: either one fires (Friday the 13th rule -> any 13th or any Friday)
        ("0 9 13 * 5", date(2026, 2, 13), True),  # a Friday and the 13th
        ("0 9 13 * 5", date(2026, 2, 20), True),  # a Friday
        ("0 9 13 * 5", date(2026, 1, 13), True),  # a Tuesday, the 13th
        ("0 9 13 * 5", date(2026, 1, 14), False),
        # one of them starts with `*`: both must match
        ("0 9 13 * *", date(2026, 2, 20), False),
        ("0 9 * * 5", date(2026, 1, 13), False),
        ("0 9 */2 * 5", date(2026, 2, 13), True),  # odd day and Friday
        ("0 9 */2 * 5", date(2026, 2, 20), False),  # Friday, but an even day
        ("0 9 */2 * 5", date(2026, 1, 13), False),  # odd day, but Tuesday
        ("0 9 13 * */5", date(2026, 1, 13), False),  # the 13th, but not Sun or Fri
        ("0 9 13 * */5", date(2026, 2, 13), True),
        # month still applies under the either rule
        ("0 9 13 jan 5", date(2026, 2, 20), False),
        ("0 9 13 jan 5", date(2026, 1, 16), True),
        # 0-7 and 1-31 start with a digit, so they are restrictions: every day fires
        ("0 9 1 * 0-7", date(2026, 1, 14), True),
        ("0 9 1-31 * 1", date(2026, 1, 14), True),
    ],
)
def test_day_of_month_or_day_of_week(text: str, day: date, fires: bool) -> None:
    assert parse_when(text).matches_day(day) is fires


def test_either_rule_in_next_times() -> None:
    rec = parse_when("0 9 13 * 5")  # 2026-03-13 is a Friday
    assert local(next_times(rec, UTC_ZONE, at(UTC_ZONE, "2026-03-01T00:00"), 5), UTC_ZONE) == [
        "2026-03-06T09:00+00:00",
        "2026-03-13T09:00+00:00",
        "2026-03-20T09:00+00:00",
        "2026-03-27T09:00+00:00",
        "2026-04-03T09:00+00:00",
    ]
    rec = parse_when("0 9 30 2 mon")  # February has no 30th, but the Mondays fire
    assert local(next_times(rec, UTC_ZONE, at(UTC_ZONE, "2026-01-01T00:00"), 2), UTC_ZONE) == [
        "2026-02-02T09:00+00:00",
        "2026-02-09T09:00+00:00",
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2025-01-01T00:00", ["2028-02-29", "2032-02-29", "2036-02-29"]),
        ("2028-02-29T00:00", ["2032-02-29", "2036-02-29", "2040-02-29"]),
        ("2096-03-01T00:00", ["2104-02-29", "2108-02-29", "2112-02-29"]),  # 2100 is not leap
    ],
)
def test_february_29(after: str, expected: list[str]) -> None:
    found = next_times(parse_when("0 0 29 2 *"), UTC_ZONE, at(UTC_ZONE, after))
    assert [t.date().isoformat() for t in found] == expected


def test_february_29_on_a_weekday_far_ahead() -> None:
    rec = parse_when("0 0 29 2 */7")  # AND rule: Feb 29 that is a Sunday
    assert next_time(rec, UTC_ZONE, at(UTC_ZONE, "2033-01-01T00:00")) == at(
        UTC_ZONE, "2060-02-29T00:00"
    )
    assert previous_time(rec, UTC_ZONE, at(UTC_ZONE, "2059-01-01T00:00")) == at(
        UTC_ZONE, "2032-02-29T00:00"
    )


# -- plain English -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expression", "words"),
    [
        ("every day at 9:00", "0 9 * * *", "every day at 09:00"),
        ("every day at 9", "0 9 * * *", "every day at 09:00"),
        ("Every  Day  at 09:00.", "0 9 * * *", "every day at 09:00"),
        ("daily at 18:30", "30 18 * * *", "every day at 18:30"),
        ("every weekday at 9am", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("weekdays at 9 am", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("at 9am every weekday", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("9am every weekday", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("every weekend at 10:00", "0 10 * * 0,6", "every Saturday and Sunday at 10:00"),
        ("every monday at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        ("every Monday at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        ("mondays at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        (
            "every mon, wed and fri at 7pm",
            "0 19 * * 1,3,5",
            "every Monday, Wednesday and Friday at 19:00",
        ),
        (
            "every mon,wed, and fri at 7pm",
            "0 19 * * 1,3,5",
            "every Monday, Wednesday and Friday at 19:00",
        ),
        (
            "every tuesday and thursday at 12:30pm",
            "30 12 * * 2,4",
            "every Tuesday and Thursday at 12:30",
        ),
        ("every mon-fri at 9", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        (
            "every monday to thursday at 9",
            "0 9 * * 1-4",
            "every Monday, Tuesday, Wednesday and Thursday at 09:00",
        ),
        ("every friday at 5pm", "0 17 * * 5", "every Friday at 17:00"),
        ("every sunday at 11:59 p.m.", "59 23 * * 0", "every Sunday at 23:59"),
        ("every day at noon", "0 12 * * *", "every day at 12:00"),
        ("every day at midnight", "0 0 * * *", "every day at 00:00"),
        ("daily at 9 o'clock", "0 9 * * *", "every day at 09:00"),
        ("every day at 9am and 5pm", "0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("every hour", "0 * * * *", "every hour"),
        ("hourly", "0 * * * *", "every hour"),
        ("every hour at :15", "15 * * * *", "at minute 15 of every hour"),
        ("hourly at :45", "45 * * * *", "at minute 45 of every hour"),
        ("every hour at 15 past", "15 * * * *", "at minute 15 of every hour"),
        ("every hour at minute 5", "5 * * * *", "at minute 5 of every hour"),
        ("every minute", "* * * * *", "every minute"),
        ("every 1 minute", "* * * * *", "every minute"),
        ("every 15 minutes", "*/15 * * * *", "every 15 minutes"),
        ("every 5 mins", "*/5 * * * *", "every 5 minutes"),
        ("every 30 minutes", "*/30 * * * *", "every 30 minutes"),
        ("every 2 hours", "0 */2 * * *", "every 2 hours"),
        ("every 6 hours at :30", "30 */6 * * *", "every day at 00:30, 06:30, 12:30 and 18:30"),
        ("every 3 hours at :30", "30 */3 * * *", "every 3 hours at minute 30"),
        ("every 1 hour", "0 * * * *", "every hour"),
        (
            "every 15 minutes on weekdays",
            "*/15 * * * 1-5",
            "every 15 minutes on weekdays (Mon–Fri)",
        ),
        ("every hour on mondays", "0 * * * 1", "every hour on Mondays"),
        ("every month on the 1st at 06:00", "0 6 1 * *", "on the 1st of every month at 06:00"),
        ("monthly on the 2nd at 6am", "0 6 2 * *", "on the 2nd of every month at 06:00"),
        ("on the 3rd of every month at 7:15", "15 7 3 * *", "on the 3rd of every month at 07:15"),
        (
            "every month on the 1st and 15th at 8",
            "0 8 1,15 * *",
            "on the 1st and 15th of every month at 08:00",
        ),
        (
            "every month on the 31st at 23:00",
            "0 23 31 * *",
            "on the 31st of every month at 23:00 (skipped in months without a 31st)",
        ),
    ],
)
def test_english(text: str, expression: str, words: str) -> None:
    rec = parse_when(text)
    assert rec.expression == expression
    assert describe(rec) == words
    assert parse_when(rec.expression) == rec


@pytest.mark.parametrize(
    ("text", "expression", "assumed"),
    [
        ("every day", "0 9 * * *", "09:00 by default"),
        ("daily", "0 9 * * *", "09:00 by default"),
        ("every weekday", "0 9 * * 1-5", "09:00 by default"),
        ("every month on the 15th", "0 9 15 * *", "09:00 by default"),
        ("monthly", "0 9 1 * *", "the 1st at 09:00 by default"),
    ],
)
def test_english_defaults_are_stated(text: str, expression: str, assumed: str) -> None:
    rec = parse_when(text)
    assert rec.expression == expression
    assert assumed in describe(rec)
    assert "at 09:00" in describe(rec)
    assert rec == parse_when(rec.expression)  # the note is not part of the schedule


@pytest.mark.parametrize(
    ("time_text", "hour", "minute"),
    [
        ("9", 9, 0),
        ("9:00", 9, 0),
        ("09:00", 9, 0),
        ("9am", 9, 0),
        ("9 am", 9, 0),
        ("9AM", 9, 0),
        ("9 a.m.", 9, 0),
        ("9:30pm", 21, 30),
        ("9:30 pm", 21, 30),
        ("9.30", 9, 30),
        ("12am", 0, 0),
        ("12pm", 12, 0),
        ("12:30am", 0, 30),
        ("1am", 1, 0),
        ("0:00", 0, 0),
        ("23:59", 23, 59),
        ("noon", 12, 0),
        ("midnight", 0, 0),
    ],
)
def test_english_times(time_text: str, hour: int, minute: int) -> None:
    rec = parse_when(f"every day at {time_text}")
    assert (rec.hours, rec.minutes) == (frozenset({hour}), frozenset({minute}))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("every day at 25", '"25" is not a valid time: the hour goes from 0 to 23'),
        ("every day at 24:00", '"24:00" is not a valid time'),
        ("every day at 9:75", '"9:75" is not a valid time: minutes go from 00 to 59'),
        ("every day at 13pm", '"13pm" is not a valid time: with am/pm the hour goes from 1 to 12'),
        ("every day at 0am", "with am/pm the hour goes from 1 to 12"),
        ("every 7 minutes", "every 7 minutes"),
        ("every 45 minutes", "the minutes must divide the hour evenly"),
        ("every 60 minutes", "`every hour`"),
        ("every 0 minutes", "every 0 minutes"),
        ("every 5 hours", "the hours must divide the day evenly"),
        ("every 24 hours", "`every day at 9:00`"),
        ("every hour at :75", "Minute 75 is not valid"),
        ("every hour at half past", '"half past" is not a minute of the hour'),
        ("every day at 9:00 and 17:30", "09:00 and 17:30 need separate schedules"),
        ("every other monday at 9", "cannot skip weeks"),
        ("fortnightly", "cannot skip weeks"),
        ("every month on the last day", "the last day of the month"),
        ("every month on the 32nd", "There is no day 32 in a month"),
        ("every month on the first", '"first" is not a day of the month'),
    ],
)
def test_invalid_english(text: str, fragment: str) -> None:
    error = user_error(text)
    assert fragment in error.message
    assert error.hint


@pytest.mark.parametrize(
    "text",
    [
        "blah",
        "tomorrow",
        "at 9am",
        "every day at",
        "every blursday at 9",
        "every 15 parsecs",
        "9 every",
        "every day at 9:00 please",
        "sometime next week",
    ],
)
def test_not_understood(text: str) -> None:
    error = user_error(text)
    assert error.message == f'I could not understand "{text}" as a schedule.'
    hint = error.hint or ""
    assert "`every weekday at 9am`" in hint  # English
    assert "`30 9 * * 1-5`" in hint  # cron


def test_empty_text() -> None:
    for text in ("", "   ", "."):
        assert "when the schedule should run" in user_error(text).message


def test_long_text_is_shortened_in_the_error() -> None:
    message = user_error("x" * 500).message
    assert len(message) < 140
    assert "..." in message


def test_examples_all_parse_and_read_well() -> None:
    assert len(EXAMPLES) >= 8
    assert any(e[0].isdigit() for e in EXAMPLES)
    assert any(e.startswith("@") for e in EXAMPLES)
    for example in EXAMPLES:
        words = describe(parse_when(example))
        assert not words.startswith("cron")


# -- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("*/15 * * * *", "every 15 minutes"),
        ("15 * * * *", "at minute 15 of every hour"),
        ("0 6 1 * *", "on the 1st of every month at 06:00"),
        ("30 8 * * mon", "every Monday at 08:30"),
        ("0 9 1 * 1", "at 09:00 on day 1 of the month or on Mondays"),
        ("0 9 1,15 * 1,3", "at 09:00 on days 1 and 15 of the month or on Mondays and Wednesdays"),
        ("0 9 1 * 0-7", "every day at 09:00"),
        ("0 0 * * *", "every day at 00:00"),
        ("* * * * *", "every minute"),
        ("0 * * * *", "every hour"),
        ("0,30 * * * *", "every 30 minutes"),
        ("15,45 * * * *", "at minutes 15 and 45 of every hour"),
        ("0 */2 * * *", "every 2 hours"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("*/30 9-17 * * 1-5", "every 30 minutes from 09:00 to 17:30 on weekdays (Mon–Fri)"),
        ("0 9-17 * * 1-5", "every hour from 09:00 to 17:00 on weekdays (Mon–Fri)"),
        ("* 9 * * *", "every minute from 09:00 to 09:59"),
        ("0 12 * jan,jul *", "every day in January and July at 12:00"),
        ("0 0 1 1 *", "on the 1st of January at 00:00"),
        ("0 0 29 2 *", "on the 29th of February at 00:00 (the 29th only in leap years)"),
        ("0 0 30 * *", "on the 30th of every month at 00:00 (skipped in months without a 30th)"),
        ("0 0 31 1,3 *", "on the 31st of January and March at 00:00"),
        ("0 8 * * 6,0", "every Saturday and Sunday at 08:00"),
        ("0 8 * 6-8 1-5", "every weekday (Mon–Fri) in June, July and August at 08:00"),
        ("0 9 */2 * *", "cron `0 9 */2 * *`"),
        ("*/7 * * * *", "cron `*/7 * * * *`"),
        ("0 9 */2 * 5", "cron `0 9 */2 * 5`"),
        ("1,2,3,4,5,6,7 1,2 * * *", "cron `1-7 1,2 * * *`"),
    ],
)
def test_describe(text: str, words: str) -> None:
    assert describe(parse_when(text)) == words


# -- firing times --------------------------------------------------------------------------


def test_next_times_are_utc_and_strictly_after() -> None:
    rec = parse_when("0 9 * * *")
    after = at(PRAGUE, "2026-01-10T09:00")  # exactly a firing instant: excluded
    found = next_times(rec, PRAGUE, after, 2)
    assert [t.isoformat() for t in found] == [
        "2026-01-11T08:00:00+00:00",
        "2026-01-12T08:00:00+00:00",
    ]
    assert all(t.tzinfo is UTC for t in found)
    assert next_time(rec, PRAGUE, after) == found[0]
    assert previous_time(rec, PRAGUE, after) == after  # at or before


def test_after_may_be_in_any_zone() -> None:
    rec = parse_when("0 9 * * *")
    after = datetime(2026, 1, 10, 3, 0, tzinfo=NEW_YORK)  # 09:00 in Prague
    assert next_time(rec, PRAGUE, after) == datetime(2026, 1, 11, 8, 0, tzinfo=UTC)
    assert next_time(rec, PRAGUE, after - timedelta(seconds=1)) == datetime(
        2026, 1, 10, 8, 0, tzinfo=UTC
    )


def test_next_times_argument_checks() -> None:
    rec = parse_when("0 9 * * *")
    with pytest.raises(ValueError, match="aware"):
        next_times(rec, PRAGUE, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        previous_time(rec, PRAGUE, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        next_times(rec, PRAGUE, at(PRAGUE, "2026-01-01T00:00"), -1)
    assert next_times(rec, PRAGUE, at(PRAGUE, "2026-01-01T00:00"), 0) == []


def test_a_schedule_that_never_fires_is_a_user_error() -> None:
    never = Recurrence(
        minutes=frozenset({0}),
        hours=frozenset({0}),
        days=frozenset({30}),
        months=frozenset({2}),
        weekdays=ALL_DOW,
        day_restricted=True,
        weekday_restricted=False,
        wildcard=False,
        expression="0 0 30 2 *",
    )
    with pytest.raises(UserError, match="never fires: February has no 30th"):
        next_times(never, UTC_ZONE, at(UTC_ZONE, "2026-01-01T00:00"))
    assert next_time(never, UTC_ZONE, at(UTC_ZONE, "2026-01-01T00:00")) is None
    assert previous_time(never, UTC_ZONE, at(UTC_ZONE, "2026-01-01T00:00")) is None


def test_nothing_within_the_horizon() -> None:
    rec = parse_when("0 0 29 2 *")
    with pytest.raises(UserError, match="does not fire in the next"):
        next_times(rec, UTC_ZONE, at(UTC_ZONE, "9997-01-01T00:00"))


def test_previous_time_finds_a_missed_firing() -> None:
    rec = parse_when("every weekday at 9am")
    last_run = at(PRAGUE, "2026-01-09T09:00")  # a Friday
    now = at(PRAGUE, "2026-01-12T09:05")  # Monday: the bot was down at 09:00
    missed = previous_time(rec, PRAGUE, now)
    assert missed is not None
    assert missed > last_run
    assert local([missed], PRAGUE) == ["2026-01-12T09:00+01:00"]
    assert previous_time(rec, PRAGUE, at(PRAGUE, "2026-01-12T08:59")) == last_run


@pytest.mark.parametrize(
    ("zone", "text", "after", "expected"),
    [
        # Europe/Prague: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00
        (
            PRAGUE,
            "0 9 * * *",
            "2026-03-28T00:00",
            ["2026-03-28T09:00+01:00", "2026-03-29T09:00+02:00", "2026-03-30T09:00+02:00"],
        ),
        (
            PRAGUE,
            "30 2 * * *",
            "2026-03-28T12:00",
            ["2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
        ),
        (
            PRAGUE,
            "0,30 2 * * *",
            "2026-03-28T12:00",
            ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00", "2026-03-30T02:30+02:00"],
        ),
        (
            PRAGUE,
            "0 2,3 * * *",
            "2026-03-28T12:00",
            ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00"],
        ),
        (
            PRAGUE,
            "30 * * * *",
            "2026-03-29T00:45",
            ["2026-03-29T01:30+01:00", "2026-03-29T03:30+02:00", "2026-03-29T04:30+02:00"],
        ),
        (
            PRAGUE,
            "0 */2 * * *",
            "2026-03-29T00:30",
            ["2026-03-29T04:00+02:00", "2026-03-29T06:00+02:00"],
        ),
        (
            PRAGUE,
            "0 9 * * *",
            "2026-10-24T00:00",
            ["2026-10-24T09:00+02:00", "2026-10-25T09:00+01:00", "2026-10-26T09:00+01:00"],
        ),
        (
            PRAGUE,
            "30 2 * * *",
            "2026-10-24T12:00",
            ["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
        ),
        (
            PRAGUE,
            "0 2-3 * * *",
            "2026-10-24T12:00",
            ["2026-10-25T02:00+02:00", "2026-10-25T03:00+01:00", "2026-10-26T02:00+01:00"],
        ),
        (
            PRAGUE,
            "30 * * * *",
            "2026-10-25T01:00",
            [
                "2026-10-25T01:30+02:00",
                "2026-10-25T02:30+02:00",
                "2026-10-25T02:30+01:00",
                "2026-10-25T03:30+01:00",
            ],
        ),
        (
            PRAGUE,
            "0 */2 * * *",
            "2026-10-25T01:00",
            ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T04:00+01:00"],
        ),
        # America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00
        (
            NEW_YORK,
            "0 9 * * *",
            "2026-03-07T00:00",
            ["2026-03-07T09:00-05:00", "2026-03-08T09:00-04:00", "2026-03-09T09:00-04:00"],
        ),
        (
            NEW_YORK,
            "30 2 * * *",
            "2026-03-07T12:00",
            ["2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"],
        ),
        (
            NEW_YORK,
            "0 9 * * *",
            "2026-10-31T00:00",
            ["2026-10-31T09:00-04:00", "2026-11-01T09:00-05:00", "2026-11-02T09:00-05:00"],
        ),
        (
            NEW_YORK,
            "30 1 * * *",
            "2026-10-31T12:00",
            ["2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
        ),
        (
            NEW_YORK,
            "30 2 * * *",
            "2026-10-31T12:00",
            ["2026-11-01T02:30-05:00", "2026-11-02T02:30-05:00"],
        ),
        # Australia/Sydney: 2026-04-05 03:00 -> 02:00, 2026-10-04 02:00 -> 03:00
        (
            SYDNEY,
            "0 9 * * *",
            "2026-04-04T00:00",
            ["2026-04-04T09:00+11:00", "2026-04-05T09:00+10:00"],
        ),
        (
            SYDNEY,
            "30 2 * * *",
            "2026-04-04T12:00",
            ["2026-04-05T02:30+11:00", "2026-04-06T02:30+10:00"],
        ),
        (
            SYDNEY,
            "0 9 * * *",
            "2026-10-03T00:00",
            ["2026-10-03T09:00+10:00", "2026-10-04T09:00+11:00"],
        ),
        (
            SYDNEY,
            "30 2 * * *",
            "2026-10-03T12:00",
            ["2026-10-04T03:00+11:00", "2026-10-05T02:30+11:00"],
        ),
        # Australia/Lord_Howe moves by 30 minutes: 02:00 -> 01:30 and 02:00 -> 02:30
        (
            LORD_HOWE,
            "45 1 * * *",
            "2026-04-04T12:00",
            ["2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30"],
        ),
        (
            LORD_HOWE,
            "15 2 * * *",
            "2026-10-03T12:00",
            ["2026-10-04T02:30+11:00", "2026-10-05T02:15+11:00"],
        ),
        # America/Santiago changes at midnight: 09-06 00:00 -> 01:00, 04-05 00:00 -> 04-04 23:00
        (
            SANTIAGO,
            "@daily",
            "2026-09-05T12:00",
            ["2026-09-06T01:00-03:00", "2026-09-07T00:00-03:00"],
        ),
        (
            SANTIAGO,
            "30 23 * * *",
            "2026-04-04T12:00",
            ["2026-04-04T23:30-03:00", "2026-04-05T23:30-04:00"],
        ),
        (
            SANTIAGO,
            "0,30 * * * *",
            "2026-04-04T22:45",
            [
                "2026-04-04T23:00-03:00",
                "2026-04-04T23:30-03:00",
                "2026-04-04T23:00-04:00",
                "2026-04-04T23:30-04:00",
                "2026-04-05T00:00-04:00",
            ],
        ),
        # Pacific/Apia skipped 2011-12-30 entirely: too big a jump to catch up (cronie)
        (
            ZoneInfo("Pacific/Apia"),
            "0 9 * * *",
            "2011-12-29T12:00",
            ["2011-12-31T09:00+14:00", "2012-01-01T09:00+14:00"],
        ),
    ],
)
def test_daylight_saving(zone: ZoneInfo, text: str, after: str, expected: list[str]) -> None:
    found = next_times(parse_when(text), zone, at(zone, after), len(expected))
    assert local(found, zone) == expected


TRANSITIONS = [
    (PRAGUE, "2026-03-29T01:00"),
    (PRAGUE, "2026-10-25T01:00"),
    (NEW_YORK, "2026-03-08T07:00"),
    (NEW_YORK, "2026-11-01T06:00"),
    (SYDNEY, "2026-04-04T16:00"),
    (SYDNEY, "2026-10-03T16:00"),
    (LORD_HOWE, "2026-04-04T15:00"),
    (LORD_HOWE, "2026-10-03T15:30"),
    (SANTIAGO, "2026-04-05T03:00"),
    (SANTIAGO, "2026-09-06T04:00"),
]
"""(zone, the UTC instant of a change of offset)."""


@pytest.mark.parametrize(("zone", "change"), TRANSITIONS)
@pytest.mark.parametrize("minutes", [1, 5, 15, 30])
def test_every_n_minutes_keeps_real_time_across_changes(
    zone: ZoneInfo, change: str, minutes: int
) -> None:
    start = at(UTC_ZONE, change) - timedelta(hours=3)
    count = 6 * 60 // minutes
    found = next_times(parse_when(f"every {minutes} minutes"), zone, start, count)
    assert found == [start + timedelta(minutes=minutes * (i + 1)) for i in range(count)]


@pytest.mark.parametrize(("zone", "change"), [t for t in TRANSITIONS if t[0] is not LORD_HOWE])
def test_every_hour_keeps_real_time_across_changes(zone: ZoneInfo, change: str) -> None:
    start = at(UTC_ZONE, change) - timedelta(hours=5)
    found = next_times(parse_when("every hour"), zone, start, 10)
    assert found == [start + timedelta(hours=i + 1) for i in range(10)]


@pytest.mark.parametrize(("zone", "change"), TRANSITIONS)
def test_daily_nine_stays_at_nine_local(zone: ZoneInfo, change: str) -> None:
    start = at(UTC_ZONE, change) - timedelta(days=3)
    found = next_times(parse_when("every day at 9:00"), zone, start, 6)
    assert {(t.astimezone(zone).hour, t.astimezone(zone).minute) for t in found} == {(9, 0)}
    days = [t.astimezone(zone).date() for t in found]
    assert days == [days[0] + timedelta(days=i) for i in range(6)]


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (PRAGUE, "2026-03-29"),
        (PRAGUE, "2026-10-25"),
        (NEW_YORK, "2026-03-08"),
        (SYDNEY, "2026-04-05"),
        (SYDNEY, "2026-10-04"),
    ],
)
def test_two_thirty_fires_once_on_change_days(zone: ZoneInfo, day: str) -> None:
    rec = parse_when("30 2 * * *")
    found = next_times(rec, zone, at(zone, f"{day}T00:00") - timedelta(days=1), 3)
    on_day = [t for t in found if t.astimezone(zone).date().isoformat() == day]
    assert len(on_day) == 1
    assert previous_time(rec, zone, at(zone, f"{day}T12:00")) == on_day[0]


# -- time zones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user_tz", "shown"),
    [
        (None, None, "UTC"),
        (None, "Europe/Prague", "Europe/Prague"),
        ("America/New_York", "Europe/Prague", "America/New_York"),
        ("  Europe/Prague ", None, "Europe/Prague"),
        ("europe/prague", None, "Europe/Prague"),
        ("america/new_york", None, "America/New_York"),
        ("utc", "Europe/Prague", "UTC"),
        ("UTC", None, "UTC"),
        (None, "Not/AZone", "UTC"),  # a bad Slack value is not the user's typo
        (None, "", "UTC"),
    ],
)
def test_resolve_timezone(name: str | None, user_tz: str | None, shown: str) -> None:
    zone, label = resolve_timezone(name, user_tz=user_tz)
    assert (zone.key, label) == (shown, shown)


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "",
        "  ",
        "../../etc/passwd",
        "/etc/localtime",
        "localtime",
        "Europe",
        "a\0b",
    ],
)
def test_resolve_timezone_rejects_unknown_names(name: str) -> None:
    with pytest.raises(UserError) as caught:
        resolve_timezone(name, user_tz="Europe/Prague")
    assert "Unknown time zone" in caught.value.message
    assert "Europe/Prague" in (caught.value.hint or "")


# -- properties ----------------------------------------------------------------------------

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FIELD_SPECS = {
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "dom": (1, 31, ()),
    "month": (1, 12, MONTHS),
    "dow": (0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
}


@st.composite
def cron_field(draw: st.DrawFn, kind: str) -> tuple[str, set[int]]:
    """Text for one field and the values it means (an independent reading of crontab(5))."""
    low, high, names = FIELD_SPECS[kind]
    name_base = 1 if kind == "month" else 0

    def show(value: int) -> str:
        index = value - name_base
        if names and index < len(names) and draw(st.booleans()):
            name = names[index]
            return name.upper() if draw(st.booleans()) else name
        return str(value)

    if draw(st.integers(0, 2)) == 0 and kind in ("dom", "month", "dow"):
        return "*", {0 if (kind == "dow" and v == 7) else v for v in range(low, high + 1)}
    texts: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.sampled_from(["star", "step", "one", "one", "range", "range/step", "a/n"]))
        step = draw(st.integers(1, min(high - low + 1, 25)))
        a, b = sorted(draw(st.integers(low, high)) for _ in range(2))
        if shape == "star":
            texts.append("*")
            values |= set(range(low, high + 1))
        elif shape == "step":
            texts.append(f"*/{step}")
            values |= set(range(low, high + 1, step))
        elif shape == "one":
            texts.append(show(a))
            values.add(a)
        elif shape == "range":
            texts.append(f"{show(a)}-{show(b)}")
            values |= set(range(a, b + 1))
        elif shape == "range/step":
            texts.append(f"{show(a)}-{show(b)}/{step}")
            values |= set(range(a, b + 1, step))
        else:
            texts.append(f"{show(a)}/{step}")
            values |= set(range(a, high + 1, step))
    if kind == "dow":
        values = {0 if v == 7 else v for v in values}
    return ",".join(texts), values


@st.composite
def cron_case(draw: st.DrawFn) -> tuple[str, dict[str, set[int]], dict[str, bool]]:
    parts = {kind: draw(cron_field(kind)) for kind in FIELD_SPECS}
    text = " ".join(t for t, _ in parts.values())
    starts = {kind: t.startswith("*") for kind, (t, _) in parts.items()}
    return text, {kind: v for kind, (_, v) in parts.items()}, starts


def slot(values: dict[str, set[int]], starts: dict[str, bool], wall: datetime) -> bool:
    """Whether a wall-clock minute matches, straight from crontab(5)."""
    dom = wall.day in values["dom"]
    dow = wall.isoweekday() % 7 in values["dow"]
    day = (dom or dow) if not starts["dom"] and not starts["dow"] else (dom and dow)
    return (
        wall.minute in values["minute"]
        and wall.hour in values["hour"]
        and wall.month in values["month"]
        and day
    )


def oracle(
    values: dict[str, set[int]],
    starts: dict[str, bool],
    zone: ZoneInfo,
    after: datetime,
    end: datetime,
) -> list[datetime]:
    """Every firing instant in (after, end], by walking each UTC minute (the cronie rules)."""
    wildcard = starts["minute"] or starts["hour"]
    found = []
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= end:
        wall = moment.astimezone(zone)
        before = (moment - timedelta(minutes=1)).astimezone(zone)
        fires = slot(values, starts, wall) and (wildcard or wall.fold == 0)
        jump = (wall.utcoffset() or timedelta()) - (before.utcoffset() or timedelta())
        if not fires and not wildcard and timedelta() < jump <= timedelta(hours=3):
            skipped = wall.replace(tzinfo=None) - jump  # wall times that did not happen
            while skipped < wall.replace(tzinfo=None):
                fires = fires or slot(values, starts, skipped)
                skipped += timedelta(minutes=1)
        if fires:
            found.append(moment)
        moment += timedelta(minutes=1)
    return found


ZONES = [UTC_ZONE, PRAGUE, NEW_YORK, SYDNEY, LORD_HOWE, SANTIAGO, ZoneInfo("Asia/Kolkata")]
WINDOW = timedelta(hours=30)


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    if draw(st.booleans()):
        zone, change = draw(st.sampled_from(TRANSITIONS))
        offset = draw(st.integers(-int(WINDOW.total_seconds()), 0))
        return zone, at(UTC_ZONE, change) + timedelta(seconds=offset)
    moment = draw(st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)))
    return draw(st.sampled_from(ZONES)), moment


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cron_case(), where=zone_and_instant())
def test_next_times_match_brute_force(
    case: tuple[str, dict[str, set[int]], dict[str, bool]], where: tuple[ZoneInfo, datetime]
) -> None:
    text, values, starts = case
    zone, after = where
    no_day = all(d > sm._MONTH_LENGTH[m - 1] for d in values["dom"] for m in values["month"])
    if no_day and (starts["dom"] or starts["dow"]):  # only then may an expression be refused
        with pytest.raises(UserError, match="never fires"):
            parse_when(text)
        return
    rec = parse_when(text)
    fields = (rec.minutes, rec.hours, rec.days, rec.months, rec.weekdays)
    assert fields == tuple(frozenset(values[k]) for k in ("minute", "hour", "dom", "month", "dow"))
    assert parse_when(rec.expression) == rec
    assert describe(rec)

    end = after + WINDOW
    expected = oracle(values, starts, zone, after, end)
    found = next_times(rec, zone, after, len(expected) + 1)
    assert found[: len(expected)] == expected
    assert all(a < b for a, b in pairwise(found))
    assert found[-1] > after
    if len(found) > len(expected):
        assert found[len(expected)] > end
    latest = previous_time(rec, zone, end)
    if expected:
        assert latest == expected[-1]
        assert next_time(rec, zone, expected[0] - timedelta(seconds=1)) == expected[0]
    else:
        assert latest is None or latest <= after


@settings(max_examples=300, deadline=None)
@given(case=cron_case())
def test_canonical_expression_round_trips(
    case: tuple[str, dict[str, set[int]], dict[str, bool]],
) -> None:
    text, _, starts = case
    try:
        rec = parse_when(text)
    except UserError:
        return
    again = parse_when(rec.expression)
    assert again == rec
    assert again.expression == rec.expression
    assert rec.wildcard == (starts["minute"] or starts["hour"])
    assert rec.day_restricted == (not starts["dom"])
    assert rec.weekday_restricted == (not starts["dow"])
