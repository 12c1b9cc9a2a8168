"""When a schedule fires: the next and previous instants, in UTC, across daylight saving.

Daylight saving follows cronie, the cron most Linux systems run. Slots are evaluated in the
zone's local wall-clock time, and a job is "wildcard" when its minute or hour field starts
with `*` (`*/15 * * * *`, `0 * * * *`, `0 */2 * * *`), "fixed" otherwise (`30 2 * * *`):

* spring forward (a local time that does not exist): a fixed job's skipped slot fires once,
  at the first instant after the gap (02:30 -> 03:00 local); wildcard jobs just go on, so
  "every 15 minutes" keeps firing every real 15 minutes. Gaps over 3 hours (a zone skipping
  a whole day) are treated like cronie treats a clock reset: the slot is skipped.
* fall back (a local time that happens twice): a fixed job fires once, at the first
  occurrence (fold=0); wildcard jobs fire at both, so they keep their real-time rhythm.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, islice
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.schedules.recurrence import Recurrence, never_fires

HORIZON_YEARS = 50
"""How far `next_times` / `previous_time` search (Feb 29 on a given weekday recurs within 40)."""

_MAX_SHIFT = timedelta(hours=3)
_MARGIN = timedelta(days=1)  # more than any UTC offset (LMT included, under 16 h) + a 3 h shift
_FIRST_DAY = date(2, 1, 1)
_LAST_DAY = date(9998, 12, 31)


def next_times(rec: Recurrence, tz: ZoneInfo, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` firing instants strictly after `after`, as aware UTC datetimes.

    >>> from bot.schedules.when import parse_when
    >>> rec = parse_when("every day at 9:00")
    >>> [t.isoformat() for t in next_times(rec, ZoneInfo("Europe/Prague"),
    ...                                    datetime(2026, 1, 1, tzinfo=UTC), 2)]
    ['2026-01-01T08:00:00+00:00', '2026-01-02T08:00:00+00:00']
    """
    if count < 0:
        raise ValueError("count must not be negative")
    start = _aware(after, "after").astimezone(UTC)
    problem = never_fires(rec)
    if problem:
        raise UserError(f"`{rec.expression}` never fires: {problem}.")
    found = list(islice(_forward(rec, tz, start), count))
    if count and not found:
        raise UserError(f"`{rec.expression}` does not fire in the next {HORIZON_YEARS} years.")
    return found


def next_time(rec: Recurrence, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first firing instant strictly after `after` (UTC), or None within the horizon."""
    return next(_forward(rec, tz, _aware(after, "after").astimezone(UTC)), None)


def previous_time(rec: Recurrence, tz: ZoneInfo, before: datetime) -> datetime | None:
    """The latest firing instant at or before `before` (UTC), or None within the horizon."""
    return next(_backward(rec, tz, _aware(before, "before").astimezone(UTC)), None)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment


def _forward(rec: Recurrence, tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Firing instants > after, in order.

    A day's instants are buffered until no later day can produce an earlier one: any wall
    time on day D maps to an instant within `_MARGIN` of D's midnight read as UTC.
    """
    if after >= _midnight(_LAST_DAY):
        return
    local = max(after, _midnight(_FIRST_DAY)).astimezone(tz).date()
    first = max(local - 2 * _MARGIN, _FIRST_DAY)
    last = _day_clamped(local.toordinal() + 366 * HORIZON_YEARS)
    heap: list[datetime] = []
    emitted = after
    for day in chain(_matching_days(rec, first, last, forward=True), [None]):
        bound = _midnight(day if day else last + timedelta(days=1)) - _MARGIN
        while heap and heap[0] < bound:
            instant = heapq.heappop(heap)
            if instant > emitted:  # a slot shifted out of a DST gap may repeat another
                emitted = instant
                yield instant
        if day is not None:
            for instant in _day_instants(rec, tz, day):
                if instant > after:
                    heapq.heappush(heap, instant)


def _backward(rec: Recurrence, tz: ZoneInfo, before: datetime) -> Iterator[datetime]:
    """Firing instants <= before, latest first (mirror of `_forward`)."""
    if before < _midnight(_FIRST_DAY):
        return
    local = min(before, _midnight(_LAST_DAY)).astimezone(tz).date()
    first = min(local + 2 * _MARGIN, _LAST_DAY)
    last = _day_clamped(local.toordinal() - 366 * HORIZON_YEARS)
    heap: list[tuple[float, datetime]] = []
    emitted: datetime | None = None
    for day in chain(_matching_days(rec, first, last, forward=False), [None]):
        bound = _midnight(day + timedelta(days=1) if day else last) + _MARGIN
        while heap and heap[0][1] >= bound:
            _, instant = heapq.heappop(heap)
            if instant != emitted:
                emitted = instant
                yield instant
        if day is not None:
            for instant in _day_instants(rec, tz, day):
                if instant <= before:
                    heapq.heappush(heap, (-instant.timestamp(), instant))


def _day_clamped(ordinal: int) -> date:
    return date.fromordinal(min(max(ordinal, _FIRST_DAY.toordinal()), _LAST_DAY.toordinal()))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _matching_days(rec: Recurrence, first: date, last: date, *, forward: bool) -> Iterator[date]:
    """Days from `first` towards `last` (inclusive) on which the schedule fires."""
    day = first
    step = timedelta(days=1 if forward else -1)
    while (day <= last) if forward else (day >= last):
        if day.month not in rec.months:
            month_start = day.replace(day=1)
            day = (month_start + timedelta(days=32)).replace(day=1) if forward else month_start
            if not forward:
                day -= timedelta(days=1)
            continue
        if rec.matches_day(day):
            yield day
        day += step


def _day_instants(rec: Recurrence, tz: ZoneInfo, day: date) -> list[datetime]:
    """The instants (UTC) of one local day's slots, unordered only around a DST change."""
    instants: list[datetime] = []
    minutes = sorted(rec.minutes)
    steps = [timedelta(minutes=m) for m in minutes]
    for hour in sorted(rec.hours):
        top = datetime(day.year, day.month, day.day, hour)
        offsets = {_offset(top, tz, fold) for fold in (0, 1)}
        offsets |= {_offset(top.replace(minute=59), tz, fold) for fold in (0, 1)}
        if len(offsets) == 1:  # the usual case: one offset for the whole hour
            (shift,) = offsets
            start = (top - shift).replace(tzinfo=UTC)
            instants.extend(start + step for step in steps)
        else:
            for m in minutes:
                instants.extend(_wall_instants(top.replace(minute=m), tz, wildcard=rec.wildcard))
    return instants


def _offset(wall: datetime, tz: ZoneInfo, fold: int) -> timedelta:
    offset = wall.replace(tzinfo=tz, fold=fold).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _wall_instants(wall: datetime, tz: ZoneInfo, *, wildcard: bool) -> list[datetime]:
    """When one wall-clock slot fires, per the cronie rules in the module docstring."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first < second:  # the wall time happens twice
        return [first, second] if wildcard else [first]
    # the wall time does not exist: fold=1 read it with the later offset, so second < first
    if wildcard or first - second > _MAX_SHIFT:
        return []
    return [_transition(tz, second, first)]


def _transition(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The instant in (low, high] where the zone's offset becomes the one it has at `high`."""
    target = high.astimezone(tz).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)
