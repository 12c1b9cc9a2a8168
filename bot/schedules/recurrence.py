"""A schedule as crontab(5) sees it: the `Recurrence` value, its five fields, and the words
shared by the modules that read, describe and iterate schedules.

The schedule maths, lowest first (each imports only those before it):
`recurrence` (this), `cron` (crontab text), `english` (phrases), `when` (`parse_when`),
`describe` (words), `firing` (next and previous times across DST), `zones` (which zone).
All are pure: time is always an argument and nothing reads the clock (zoneinfo loading a
zone's rules is the only file access). `service` is the stateful part that uses them.

>>> join_words(["Monday", "Wednesday", "Friday"]), ordinal(22), shown("  every   day ")
('Monday, Wednesday and Friday', '22nd', 'every day')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTHS_FULL = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS_FULL = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTH_LENGTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MINUTE_DIVISORS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
HOUR_DIVISORS = (1, 2, 3, 4, 6, 8, 12)


@dataclass(frozen=True)
class Field:
    """One crontab field: its name, range and (for months and weekdays) names."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_offset: int = 0

    @property
    def span(self) -> int:
        """How many values the field has."""
        return self.high - self.low + 1

    def star(self, step: int) -> frozenset[int]:
        """What `*/step` means in this field (day of week folds 7 into 0)."""
        return self.fold(range(self.low, self.high + 1, step))

    def fold(self, values: Iterable[int]) -> frozenset[int]:
        """The values as a set, a day-of-week 7 stored as 0 (both are Sunday)."""
        return frozenset(0 if (self.high == 7 and v == 7) else v for v in values)


MINUTE = Field("minute", 0, 59)
HOUR = Field("hour", 0, 23)
DOM = Field("day of month", 1, 31)
MONTH = Field("month", 1, 12, MONTH_NAMES, 1)
DOW = Field("day of week", 0, 7, DAY_NAMES, 0)
FIELDS = (MINUTE, HOUR, DOM, MONTH, DOW)
ALL_DAYS = DOM.star(1)
ALL_WEEKDAYS = DOW.star(1)
ALL_MONTHS = MONTH.star(1)


@dataclass(frozen=True)
class Recurrence:
    """A parsed schedule: the crontab(5) fields as sets, in the zone's wall-clock time.

    `weekdays` counts like crontab: 0 is Sunday (a 7 in the expression is stored as 0).
    `day_restricted` / `weekday_restricted` say whether that field did not start with `*`;
    when both are restricted a day matching either fires, otherwise both must match.
    `wildcard` is cronie's notion (minute or hour field starts with `*`), used for DST.
    `expression` is the canonical 5-field form: `parse_when(rec.expression) == rec`.
    `note` says what was assumed for a vague phrase; it is not part of equality.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_restricted: bool
    weekday_restricted: bool
    wildcard: bool
    expression: str
    note: str = field(default="", compare=False)

    def matches_day(self, day: date) -> bool:
        """True when the schedule fires on this calendar day (at some time)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = day.isoweekday() % 7 in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return dom or dow
        return dom and dow

    def matches(self, wall: datetime) -> bool:
        """True when this wall-clock minute is a slot (tzinfo, seconds are ignored).

        >>> from bot.schedules.when import parse_when
        >>> parse_when("every weekday at 9am").matches(datetime(2026, 3, 2, 9, 0))
        True
        """
        return wall.minute in self.minutes and wall.hour in self.hours and self.matches_day(wall)


def never_fires(rec: Recurrence) -> str:
    """Why the day fields can never match, or "" when they can."""
    if rec.day_restricted and rec.weekday_restricted:
        return ""  # either rule: the weekdays alone fire
    first = min(rec.days)
    short = [m for m in sorted(rec.months) if first > MONTH_LENGTH[m - 1]]
    if len(short) < len(rec.months):
        return ""
    names = join_words([MONTHS_FULL[m - 1] for m in short])
    verb = "has" if len(short) == 1 else "have"
    return f"{names} {verb} no {join_words([ordinal(d) for d in sorted(rec.days)], 'or')}"


def shown(text: str) -> str:
    """User text to quote back in a message: trimmed, never long."""
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def join_words(items: list[str], last_word: str = "and") -> str:
    """Items joined for a sentence: "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last_word} {items[-1]}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
