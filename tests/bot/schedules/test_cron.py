"""crontab(5): fields, canonical expressions, errors, and which days match."""

from __future__ import annotations

from datetime import date

import pytest

from bot.schedules.firing import next_time, next_times, previous_time
from bot.schedules.when import parse_when
from tests.bot.schedules.support import (
    ALL_DOW,
    ALL_MIN,
    UTC_ZONE,
    at,
    local,
    r,
    user_error,
)


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
