"""Helpers shared by the schedule maths tests: zones, value sets, wall-clock times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserError
from bot.schedules.when import parse_when

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


ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MONTH, ALL_DOW = r(0, 59), r(0, 23), r(1, 31), r(1, 12), r(0, 6)

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
