"""Properties: next times match a brute-force oracle; expressions round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.schedules.recurrence as sm
from bot.errors import UserError
from bot.schedules.describe import describe
from bot.schedules.firing import next_time, next_times, previous_time
from bot.schedules.when import parse_when
from tests.bot.schedules.support import (
    LORD_HOWE,
    NEW_YORK,
    PRAGUE,
    SANTIAGO,
    SYDNEY,
    TRANSITIONS,
    UTC_ZONE,
    at,
)

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
    no_day = all(d > sm.MONTH_LENGTH[m - 1] for d in values["dom"] for m in values["month"])
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
