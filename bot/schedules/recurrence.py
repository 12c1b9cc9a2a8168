"""Schedule maths: read a schedule (crontab or plain English), describe it, find its firing times.

Everything here is pure: time is always an argument and nothing reads the clock (zoneinfo
loading a zone's rules is the only file access).

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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, islice, pairwise
from zoneinfo import ZoneInfo

from bot.errors import UserError

EXAMPLES: tuple[str, ...] = (
    "every day at 9:00",
    "every weekday at 9am",
    "every monday at 8:30",
    "every mon, wed and fri at 7pm",
    "every weekend at 10:00",
    "every month on the 1st at 06:00",
    "every hour at :15",
    "every 15 minutes",
    "every 2 hours",
    "30 9 * * 1-5",
    "@daily",
)
"""Phrases `parse_when` accepts, for help text; the last two are crontab forms."""

HORIZON_YEARS = 50
"""How far `next_times` / `previous_time` search (Feb 29 on a given weekday recurs within 40)."""

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS_FULL = (
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
_DAYS_FULL = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_LENGTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MINUTE_DIVISORS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
_HOUR_DIVISORS = (1, 2, 3, 4, 6, 8, 12)
_MAX_SHIFT = timedelta(hours=3)
_MARGIN = timedelta(days=1)  # more than any UTC offset (LMT included, under 16 h) + a 3 h shift
_MAX_TEXT = 200
_FIRST_DAY = date(2, 1, 1)
_LAST_DAY = date(9998, 12, 31)

_CRON_HINT = (
    "A cron expression has 5 fields: minute (0-59), hour (0-23), day of month (1-31), "
    "month (1-12 or jan-dec) and day of week (0-7 or sun-sat; 0 and 7 are both Sunday), "
    "e.g. `30 9 * * 1-5` for 09:30 on weekdays."
)
_EXAMPLES_HINT = (
    "Try for example: "
    + ", ".join(f"`{e}`" for e in EXAMPLES[:-2])
    + f", or a cron expression such as `{EXAMPLES[-2]}` or `{EXAMPLES[-1]}`."
)
_TIME_HINT = "Write times like 9, 9:00, 09:30, 9am, 6:30pm, noon or midnight."


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_offset: int = 0

    @property
    def span(self) -> int:
        return self.high - self.low + 1

    def star(self, step: int) -> frozenset[int]:
        """What `*/step` means in this field (day of week folds 7 into 0)."""
        return self.fold(range(self.low, self.high + 1, step))

    def fold(self, values: Iterable[int]) -> frozenset[int]:
        return frozenset(0 if (self.high == 7 and v == 7) else v for v in values)


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DOM = _Field("day of month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTH_NAMES, 1)
_DOW = _Field("day of week", 0, 7, _DAY_NAMES, 0)
_FIELDS = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)
_ALL_DAYS = _DOM.star(1)
_ALL_WEEKDAYS = _DOW.star(1)
_ALL_MONTHS = _MONTH.star(1)


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

        >>> parse_when("every weekday at 9am").matches(datetime(2026, 3, 2, 9, 0))
        True
        """
        return wall.minute in self.minutes and wall.hour in self.hours and self.matches_day(wall)


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_when(text: str) -> Recurrence:
    """Read a schedule typed by a user: crontab(5), an @macro or plain English.

    >>> parse_when("every weekday at 9am").expression
    '0 9 * * 1-5'
    >>> parse_when("*/15 * * * *").expression
    '*/15 * * * *'
    """
    s = _normalize(text)
    if not s:
        raise UserError("Tell me when the schedule should run.", hint=_EXAMPLES_HINT)
    if len(s) > _MAX_TEXT:
        raise UserError(
            f'I could not understand "{_shown(text)}" as a schedule.', hint=_EXAMPLES_HINT
        )
    if s.startswith("@"):
        return _parse_macro(s)
    tokens = s.split(" ")
    if _looks_like_cron(tokens):
        return _parse_cron(tokens)
    english = _parse_english(s)
    if english is None:
        raise UserError(
            f'I could not understand "{_shown(text)}" as a schedule.', hint=_EXAMPLES_HINT
        )
    cron, note = english
    return replace(_parse_cron(cron.split(" ")), note=note)


def _shown(text: str) -> str:
    """User text to quote back in a message: trimmed, never long."""
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _normalize(text: str) -> str:
    s = text.strip().strip("`\"'“”‘’").strip().lower()
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s.rstrip(".").strip()


_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def _parse_macro(s: str) -> Recurrence:
    if s in _MACROS:
        return _parse_cron(_MACROS[s].split(" "))
    if s == "@reboot":
        raise UserError(
            "`@reboot` runs when a machine starts; a schedule here needs times on a clock.",
            hint=_EXAMPLES_HINT,
        )
    raise UserError(
        f"Unknown cron macro `{s}`.",
        hint="The macros are " + ", ".join(f"`{m}`" for m in _MACROS) + ".",
    )


_CRON_TOKEN = re.compile(r"(?:[0-9*?#/,\-]|[a-z]{3}(?![a-z])|(?<![a-z])[lw](?![a-z]))+")


_ENGLISH_WORDS = {"every", "each", "at", "on", "and", "am", "pm", "daily", "hourly", "past"}
_ENGLISH_WORDS |= {"minute", "minutes", "hour", "hours", "day", "days", "week", "month"}


def _looks_like_cron(tokens: list[str]) -> bool:
    """Crontab-shaped: starts like a cron field, no English words, five fields or cron text."""
    return (
        len(tokens) >= 2
        and tokens[0][0] in "0123456789*?,/-"
        and not _ENGLISH_WORDS.intersection(tokens)
        and (len(tokens) >= 5 or all(_CRON_TOKEN.fullmatch(t) for t in tokens))
    )


def _parse_cron(tokens: list[str]) -> Recurrence:
    expr = _shown(" ".join(tokens))
    if len(tokens) == 6:
        raise UserError(
            f"`{expr}` has 6 fields: cron with seconds (or a year) is not supported. "
            "Schedules run at most once a minute; drop the seconds field.",
            hint=_CRON_HINT,
        )
    if len(tokens) != 5:
        raise UserError(
            f"`{expr}` has {len(tokens)} fields; a cron expression has 5.", hint=_CRON_HINT
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(text, spec, expr) for text, spec in zip(tokens, _FIELDS, strict=True)
    )
    rec = Recurrence(
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        day_restricted=not tokens[2].startswith("*"),
        weekday_restricted=not tokens[4].startswith("*"),
        wildcard=tokens[0].startswith("*") or tokens[1].startswith("*"),
        expression="",
    )
    problem = _never_fires(rec)
    if problem:
        raise UserError(
            f"`{expr}` never fires: {problem}.",
            hint="Check the day-of-month and month fields.",
        )
    return replace(rec, expression=_render(rec))


def _cron_error(expr: str, problem: str) -> UserError:
    return UserError(f"Invalid cron expression `{expr}`: {problem}.", hint=_CRON_HINT)


def _parse_field(text: str, spec: _Field, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _cron_error(expr, f"the {spec.name} field `{text}` has an empty list item")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not re.fullmatch(r"[0-9]{1,4}", step_text):
                raise _cron_error(expr, f"the step in `{item}` must be a whole number")
            step = int(step_text)
            if not 1 <= step <= spec.span:
                raise _cron_error(expr, f"the step in `{item}` must be between 1 and {spec.span}")
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _field_value(first, spec, expr), _field_value(last, spec, expr)
            if low > high:
                named = first in spec.names
                top = spec.names[-1] if named else str(spec.high)
                bottom = spec.names[0] if named else str(spec.low)
                raise _cron_error(
                    expr,
                    f"the range `{base}` goes backwards; put the smaller value first, "
                    f"or split a range that wraps around: `{first}-{top},{bottom}-{last}`",
                )
        else:
            low = _field_value(base, spec, expr)
            high = spec.high if slash else low
        values.update(range(low, high + 1, step))
    return spec.fold(values)


def _field_value(part: str, spec: _Field, expr: str) -> int:
    if re.fullmatch(r"[0-9]{1,4}", part):
        value = int(part)
        if not spec.low <= value <= spec.high:
            raise _cron_error(expr, f"{spec.name} {value} is out of range ({spec.low}-{spec.high})")
        return value
    if part in spec.names:
        return spec.names.index(part) + spec.name_offset
    if not part:
        raise _cron_error(expr, f"a {spec.name} value is missing")
    if part == "?" or "#" in part or re.fullmatch(r"[0-9]*[lw]+", part):
        raise _cron_error(
            expr, f"`{part}` is Quartz cron syntax, which crontab does not have (use `*`)"
        )
    if spec.names and part.isalpha():
        first, last = spec.names[0], spec.names[-1]
        raise _cron_error(expr, f"`{part}` is not a {spec.name} (use {first}-{last})")
    raise _cron_error(expr, f"`{part}` is not a valid {spec.name}")


def _never_fires(rec: Recurrence) -> str:
    """Why the day fields can never match, or "" when they can."""
    if rec.day_restricted and rec.weekday_restricted:
        return ""  # either rule: the weekdays alone fire
    first = min(rec.days)
    short = [m for m in sorted(rec.months) if first > _MONTH_LENGTH[m - 1]]
    if len(short) < len(rec.months):
        return ""
    names = _join([_MONTHS_FULL[m - 1] for m in short])
    verb = "has" if len(short) == 1 else "have"
    return f"{names} {verb} no {_join([_ordinal(d) for d in sorted(rec.days)], 'or')}"


# ---------------------------------------------------------------------------------------------
# Canonical expression


def _render(rec: Recurrence) -> str:
    """The canonical 5-field text; keeps every `*`-start that changes meaning."""
    minute_star, hour_star = _star_text(rec.minutes, _MINUTE), _star_text(rec.hours, _HOUR)
    if rec.wildcard:
        if minute_star is None and hour_star is None:
            if 0 in rec.hours:
                hour_star = _forced_star_text(rec.hours, _HOUR)
            else:
                minute_star = _forced_star_text(rec.minutes, _MINUTE)
        minute = minute_star or _compress(rec.minutes)
        hour = hour_star or _compress(rec.hours)
    else:
        minute, hour = _compress(rec.minutes), _compress(rec.hours)
    day = _compress(rec.days) if rec.day_restricted else _any_star_text(rec.days, _DOM)
    weekday = (
        _compress(rec.weekdays) if rec.weekday_restricted else _any_star_text(rec.weekdays, _DOW)
    )
    month = "*" if rec.months == _ALL_MONTHS else _compress(rec.months)
    return f"{minute} {hour} {day} {month} {weekday}"


def _star_text(values: frozenset[int], spec: _Field) -> str | None:
    """`*` or `*/n` when that is what the values are (a lone `*/n` value is not shown so)."""
    for step in range(1, spec.span + 1):
        if len(spec.star(step)) > 1 and spec.star(step) == values:
            return "*" if step == 1 else f"*/{step}"
    return None


def _forced_star_text(values: frozenset[int], spec: _Field) -> str:
    """A `*/n,...` text for values that hold `spec.low`: the biggest `*/n` part, then the rest."""
    step = min(
        (n for n in range(2, spec.span + 1) if spec.star(n) <= values),
        key=lambda n: len(values - spec.star(n)),
    )
    rest = values - spec.star(step)
    return f"*/{step}" + (f",{_compress(rest)}" if rest else "")


def _any_star_text(values: frozenset[int], spec: _Field) -> str:
    return _star_text(values, spec) or _forced_star_text(values, spec)


def _compress(values: Iterable[int]) -> str:
    ordered = sorted(values)
    if len(ordered) >= 4:
        step = ordered[1] - ordered[0]
        if step > 1 and all(b - a == step for a, b in pairwise(ordered)):
            return f"{ordered[0]}-{ordered[-1]}/{step}"
    parts: list[str] = []
    start = prev = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        if prev - start >= 2:
            parts.append(f"{start}-{prev}")
        else:
            parts.extend(str(v) for v in range(start, prev + 1))
        if value is not None:
            start = prev = value
    return ",".join(parts)


# ---------------------------------------------------------------------------------------------
# Plain English

_TIME = r"(?:noon|midnight|\d{1,2}(?:[:.]\d{2})?(?: ?[ap]m)?)"
_STRICT_TIME = r"(?:noon|midnight|\d{1,2}[:.]\d{2}(?: ?[ap]m)?|\d{1,2} ?[ap]m)"
_LIST_SEP = r"(?:,? and |, | & )"
_TIMES = rf"{_TIME}(?:{_LIST_SEP}{_TIME})*"
_STRICT_TIMES = rf"{_STRICT_TIME}(?:{_LIST_SEP}{_STRICT_TIME})*"
_SPLITS = (
    re.compile(rf"at (?P<t>{_TIMES}),? (?P<d>.+)"),
    re.compile(rf"(?P<d>.+?),? at (?P<t>{_TIMES})"),
    re.compile(rf"(?P<d>.+?),? (?P<t>{_STRICT_TIMES})"),
    re.compile(rf"(?P<t>{_STRICT_TIMES}),? (?P<d>.+)"),
)
_SUBDAILY = re.compile(
    r"(?:(?:every|each) (?:(?P<n>\d+) )?(?P<unit>minute|min|hour|hr)s?|(?P<hourly>hourly))"
    r"(?: at (?P<at>.+?))?(?: (?P<days>(?:on|every|each) .+))?"
)
_MINUTE_SPEC = re.compile(
    r":(?P<a>\d{1,2})|minute (?P<b>\d{1,2})|(?P<c>\d{1,2})(?: minutes?)? past(?: the hour)?"
    r"|(?P<d>\d{1,2})"
)
_EVERY_DAY = {"every day", "daily", "each day", "everyday", "every single day"}
_WORKDAYS = {"weekday", "weekdays", "workday", "workdays", "working day", "working days"}
_WORKDAYS |= {"business day", "business days"}
_WEEKENDS = {"weekend", "weekends", "weekend day", "weekend days"}
_MONTHLY = (
    re.compile(r"(?:(?:every|each) month|monthly)(?:,? on (?:the )?(?P<days>.+))?"),
    re.compile(r"on (?:the )?(?P<days>.+?) of (?:every|each|the) month"),
)
_DAY_WORDS: dict[str, int] = {}
for _number, _full in enumerate(_DAYS_FULL):
    for _word in (_full.lower(), _full.lower() + "s", _full[:3].lower()):
        _DAY_WORDS[_word] = _number
_DAY_WORDS.update({"tues": 2, "weds": 3, "thur": 4, "thurs": 4})
_ITEM_SPLIT = re.compile(r"\s*(?:,\s*and\b|,|\band\b|&|/|\+)\s*")
_DEFAULT_TIME = "09:00"


def _parse_english(s: str) -> tuple[str, str] | None:
    """A plain-English schedule as (cron text, note), or None when it is not understood."""
    s = re.sub(r"\s*,\s*", ", ", s)
    s = re.sub(r" ?o['’]?clock\b", "", s)
    if re.search(r"\bevery other\b|\bbi-?weekly\b|\bfortnight", s):
        raise UserError(
            "A cron schedule cannot skip weeks (every other week).",
            hint="Use a weekly schedule (e.g. `every monday at 9:00`) or fixed days of the "
            "month (e.g. `every month on the 1st and 15th at 9:00`).",
        )
    subdaily = _parse_subdaily(s)
    if subdaily is not None:
        return subdaily, ""
    time_text, day_text = None, s
    for pattern in _SPLITS:
        match = pattern.fullmatch(s)
        if match:
            time_text, day_text = match["t"], match["d"]
            break
    days = _parse_days(day_text)
    if days is None:
        return None
    dom, dow, note = days
    if time_text is None:
        minute, hours = 0, [9]
        note = f"{note} at {_DEFAULT_TIME}" if note else _DEFAULT_TIME
    else:
        minute, hours = _parse_times(time_text)
    if note:
        note += " by default; add e.g. `at 7:30` to choose the time"
    return f"{minute} {','.join(map(str, hours))} {dom} * {dow}", note


def _parse_subdaily(s: str) -> str | None:
    match = _SUBDAILY.fullmatch(s)
    if not match:
        return None
    dom, dow = "*", "*"
    if match["days"]:
        days = _parse_days(match["days"])
        if days is None or days[2]:
            return None
        dom, dow, _ = days
    n = int(match["n"]) if match["n"] else 1
    if match["unit"] in ("minute", "min"):
        if match["at"]:
            return None
        if n not in _MINUTE_DIVISORS:
            suggestion = " (`every hour` runs every 60 minutes)" if n == 60 else ""
            raise UserError(
                f"I can't run something every {n} minutes{suggestion}: "
                "the minutes must divide the hour evenly so each hour looks the same.",
                hint="Choose 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes, e.g. "
                "`every 15 minutes`.",
            )
        return f"{'*' if n == 1 else f'*/{n}'} * {dom} * {dow}"
    if n not in _HOUR_DIVISORS:
        suggestion = " (use `every day at 9:00` for once a day)" if n == 24 else ""
        raise UserError(
            f"I can't run something every {n} hours{suggestion}: "
            "the hours must divide the day evenly so each day looks the same.",
            hint="Choose 1, 2, 3, 4, 6, 8 or 12 hours, e.g. `every 2 hours`.",
        )
    minute = _parse_minute(match["at"]) if match["at"] else 0
    return f"{minute} {'*' if n == 1 else f'*/{n}'} {dom} * {dow}"


def _parse_minute(text: str) -> int:
    match = _MINUTE_SPEC.fullmatch(text)
    if not match:
        raise UserError(
            f'"{_shown(text)}" is not a minute of the hour.',
            hint="Write it like `every hour at :15` or `every 2 hours at :30`.",
        )
    value = int(next(g for g in match.groups() if g is not None))
    if value > 59:
        raise UserError(f"Minute {value} is not valid; use 0-59.", hint="E.g. `every hour at :15`.")
    return value


def _parse_times(text: str) -> tuple[int, list[int]]:
    """(minute, hours) of one or more clock times that share their minute."""
    times = [_parse_time(t) for t in re.split(_LIST_SEP, text)]
    minutes = {m for _, m in times}
    if len(minutes) > 1:
        shown = " and ".join(f"{h:02}:{m:02}" for h, m in times)
        raise UserError(
            f"One schedule can run at several times a day only when they share the minutes; "
            f"{shown} need separate schedules.",
            hint="E.g. `every day at 9:00 and 17:00` works.",
        )
    return minutes.pop(), sorted({h for h, _ in times})


def _parse_time(text: str) -> tuple[int, int]:
    if text == "noon":
        return 12, 0
    if text == "midnight":
        return 0, 0
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(?: ?([ap]m))?", text)
    if not match:
        raise UserError(f'"{text}" is not a time of day.', hint=_TIME_HINT)
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if minute > 59:
        raise UserError(f'"{text}" is not a valid time: minutes go from 00 to 59.', hint=_TIME_HINT)
    if half:
        if not 1 <= hour <= 12:
            raise UserError(
                f'"{text}" is not a valid time: with am/pm the hour goes from 1 to 12.',
                hint=_TIME_HINT,
            )
        return hour % 12 + (12 if half == "pm" else 0), minute
    if hour > 23:
        raise UserError(
            f'"{text}" is not a valid time: the hour goes from 0 to 23 (midnight is 0:00).',
            hint=_TIME_HINT,
        )
    return hour, minute


def _parse_days(text: str) -> tuple[str, str, str] | None:
    """(day-of-month field, day-of-week field, note) for a day phrase, or None."""
    if text in _EVERY_DAY:
        return "*", "*", ""
    for pattern in _MONTHLY:
        match = pattern.fullmatch(text)
        if match:
            if not match["days"]:
                return "1", "*", "the 1st"
            return _parse_month_days(match["days"]), "*", ""
    rest = re.sub(r"^(?:on )?(?:every |each )?", "", text)
    if rest in _WORKDAYS:
        return "*", "1-5", ""
    if rest in _WEEKENDS:
        return "*", "0,6", ""
    weekdays = _parse_day_names(rest)
    if weekdays is None:
        return None
    return "*", _compress(weekdays), ""


def _parse_month_days(text: str) -> str:
    days: set[int] = set()
    for item in _ITEM_SPLIT.split(text):
        if re.fullmatch(r"(?:the )?last(?: day)?", item):
            raise UserError(
                "Cron cannot say 'the last day of the month'.",
                hint="Pick a day every month has, such as the 28th, or the 1st of the next month.",
            )
        match = re.fullmatch(r"(?:the |day )?(\d{1,2})(?:st|nd|rd|th)?(?: day)?", item)
        if not match:
            raise UserError(
                f'"{_shown(item)}" is not a day of the month.',
                hint="Write it like `every month on the 1st` or `every month on the 1st and 15th`.",
            )
        day = int(match[1])
        if not 1 <= day <= 31:
            raise UserError(f"There is no day {day} in a month; use 1-31.", hint=_EXAMPLES_HINT)
        days.add(day)
    return _compress(days)


def _parse_day_names(text: str) -> set[int] | None:
    days: set[int] = set()
    for item in _ITEM_SPLIT.split(text):
        span = re.fullmatch(r"(\w+) ?(?:-|to|through|thru|until|till) ?(\w+)", item)
        if span:
            first, last = _DAY_WORDS.get(span[1]), _DAY_WORDS.get(span[2])
            if first is None or last is None:
                return None
            days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
        elif item in _DAY_WORDS:
            days.add(_DAY_WORDS[item])
        else:
            return None
    return days


# ---------------------------------------------------------------------------------------------
# Words


@dataclass(frozen=True)
class _DayWords:
    every: str  # "every Monday", used before a clock time
    on: str  # "on Mondays", used after "every 15 minutes"
    either: bool = False
    note: str = ""  # said last, in parentheses


def describe(rec: Recurrence) -> str:
    """The schedule in words; unusual expressions come back as "cron `...`".

    >>> describe(parse_when("0 9 * * 1-5"))
    'every weekday (Mon–Fri) at 09:00'
    """
    days = _day_words(rec)
    text = _describe_words(rec, days) if days else None
    if text is None:
        return f"cron `{rec.expression}`" + (f" ({rec.note})" if rec.note else "")
    notes = "; ".join(n for n in (days.note if days else "", rec.note) if n)
    return f"{text} ({notes})" if notes else text


def _describe_words(rec: Recurrence, days: _DayWords) -> str | None:
    clock = _clock_words(rec)
    if clock is not None:
        if days.either:
            return f"{clock} {days.on}"
        return f"{days.every} {clock}"
    within = _within_day_words(rec)
    if within is None:
        return None
    return f"{within} {days.on}".strip()


def _clock_words(rec: Recurrence) -> str | None:
    if len(rec.minutes) * len(rec.hours) > 6:
        return None
    times = [f"{h:02}:{m:02}" for h in sorted(rec.hours) for m in sorted(rec.minutes)]
    return "at " + _join(times)


def _within_day_words(rec: Recurrence) -> str | None:
    minutes, hours = rec.minutes, rec.hours
    minute_step = next((n for n in _MINUTE_DIVISORS if minutes == _MINUTE.star(n)), None)
    hour_step = next((n for n in _HOUR_DIVISORS if hours == _HOUR.star(n)), None)
    every_n_minutes = {None: "", 1: "every minute"}.get(minute_step, f"every {minute_step} minutes")
    if hour_step == 1:
        if every_n_minutes:
            return every_n_minutes
        if minutes == {0}:
            return "every hour"
        if len(minutes) <= 4:
            word = "minute" if len(minutes) == 1 else "minutes"
            return f"at {word} {_join([str(m) for m in sorted(minutes)])} of every hour"
        return None
    if len(minutes) == 1 and hour_step is not None:
        (minute,) = minutes
        return f"every {hour_step} hours" + (f" at minute {minute}" if minute else "")
    first, last = min(hours), max(hours)
    if len(hours) == last - first + 1:
        if every_n_minutes:
            return f"{every_n_minutes} from {first:02}:00 to {last:02}:{max(minutes):02}"
        if len(minutes) == 1:
            (minute,) = minutes
            return f"every hour from {first:02}:{minute:02} to {last:02}:{minute:02}"
    return None


def _day_words(rec: Recurrence) -> _DayWords | None:
    all_dom, all_dow = rec.days == _ALL_DAYS, rec.weekdays == _ALL_WEEKDAYS
    either = rec.day_restricted and rec.weekday_restricted
    in_months = "" if rec.months == _ALL_MONTHS else " in " + _month_list(rec.months)
    if (either and (all_dom or all_dow)) or (all_dom and all_dow):
        return _DayWords("every day" + in_months, in_months.strip())
    if either:
        word = "day" if len(rec.days) == 1 else "days"
        numbers = _join([str(d) for d in sorted(rec.days)])
        names = _join([_DAYS_FULL[d] + "s" for d in _monday_first(rec.weekdays)])
        text = f"on {word} {numbers} of the month or on {names}{in_months}"
        return _DayWords(text, text, either=True)
    if all_dom:
        if rec.weekdays == {1, 2, 3, 4, 5}:
            return _DayWords(
                "every weekday (Mon–Fri)" + in_months, "on weekdays (Mon–Fri)" + in_months
            )
        ordered = _monday_first(rec.weekdays)
        return _DayWords(
            "every " + _join([_DAYS_FULL[d] for d in ordered]) + in_months,
            "on " + _join([_DAYS_FULL[d] + "s" for d in ordered]) + in_months,
        )
    if all_dow and len(rec.days) <= 6:
        of = "every month" if not in_months else _month_list(rec.months)
        text = f"on the {_join([_ordinal(d) for d in sorted(rec.days)])} of {of}"
        return _DayWords(text, text, note=_skipped_days_note(rec))
    return None


def _skipped_days_note(rec: Recurrence) -> str:
    if rec.months == {2} and 29 in rec.days:
        return "the 29th only in leap years"
    short = [d for d in sorted(rec.days) if any(d > _common_length(m) for m in rec.months)]
    if not short:
        return ""
    return f"skipped in months without a {_join([_ordinal(d) for d in short], 'or')}"


def _common_length(month: int) -> int:
    return 28 if month == 2 else _MONTH_LENGTH[month - 1]


def _monday_first(weekdays: Iterable[int]) -> list[int]:
    return sorted(weekdays, key=lambda d: (d + 6) % 7)


def _month_list(months: Iterable[int]) -> str:
    return _join([_MONTHS_FULL[m - 1] for m in sorted(months)])


def _join(items: list[str], last_word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last_word} {items[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---------------------------------------------------------------------------------------------
# Firing times


def next_times(rec: Recurrence, tz: ZoneInfo, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` firing instants strictly after `after`, as aware UTC datetimes.

    >>> rec = parse_when("every day at 9:00")
    >>> [t.isoformat() for t in next_times(rec, ZoneInfo("Europe/Prague"),
    ...                                    datetime(2026, 1, 1, tzinfo=UTC), 2)]
    ['2026-01-01T08:00:00+00:00', '2026-01-02T08:00:00+00:00']
    """
    if count < 0:
        raise ValueError("count must not be negative")
    start = _aware(after, "after").astimezone(UTC)
    problem = _never_fires(rec)
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
