"""Firing times: UTC instants, the horizon, and daylight saving (cronie rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserError
from bot.schedules.firing import next_time, next_times, previous_time
from bot.schedules.recurrence import Recurrence
from bot.schedules.when import parse_when
from tests.bot.schedules.support import (
    ALL_DOW,
    LORD_HOWE,
    NEW_YORK,
    PRAGUE,
    SANTIAGO,
    SYDNEY,
    TRANSITIONS,
    UTC_ZONE,
    at,
    local,
)


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
