"""Schedules in plain English ("every weekday at 9am"), turned into crontab text."""

from __future__ import annotations

import re

from bot.errors import UserError
from bot.schedules.cron import compress
from bot.schedules.recurrence import DAYS_FULL, HOUR_DIVISORS, MINUTE_DIVISORS, shown
from bot.text.mrkdwn import fill

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


EXAMPLES_HINT = (
    "Try for example: "
    + ", ".join(f"`{e}`" for e in EXAMPLES[:-2])
    + f", or a cron expression such as `{EXAMPLES[-2]}` or `{EXAMPLES[-1]}`."
)
_TIME_HINT = "Write times like 9, 9:00, 09:30, 9am, 6:30pm, noon or midnight."


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
_DAY_WORDS: dict[str, int] = {
    word: number
    for number, full in enumerate(DAYS_FULL)
    for word in (full.lower(), full.lower() + "s", full[:3].lower())
} | {"tues": 2, "weds": 3, "thur": 4, "thurs": 4}
_ITEM_SPLIT = re.compile(r"\s*(?:,\s*and\b|,|\band\b|&|/|\+)\s*")
_DEFAULT_TIME = "09:00"


def parse_english(s: str) -> tuple[str, str] | None:
    """A plain-English schedule as (cron text, note), or None when it is not understood.

    `s` is already normalized: lowercase, single spaces, "a.m." written "am".

    >>> parse_english("every mon, wed and fri at 7pm")
    ('0 19 * * 1,3,5', '')
    >>> parse_english("every weekday")
    ('0 9 * * 1-5', '09:00 by default; add e.g. `at 7:30` to choose the time')
    """
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
        if n not in MINUTE_DIVISORS:
            suggestion = " (`every hour` runs every 60 minutes)" if n == 60 else ""
            raise UserError(
                f"I can't run something every {n} minutes{suggestion}: "
                "the minutes must divide the hour evenly so each hour looks the same.",
                hint="Choose 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes, e.g. "
                "`every 15 minutes`.",
            )
        return f"{'*' if n == 1 else f'*/{n}'} * {dom} * {dow}"
    if n not in HOUR_DIVISORS:
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
            f'"{shown(text)}" is not a minute of the hour.',
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
        raise UserError(fill('"{text}" is not a time of day.', text=shown(text)), hint=_TIME_HINT)
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
    return "*", compress(weekdays), ""


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
                f'"{shown(item)}" is not a day of the month.',
                hint="Write it like `every month on the 1st` or `every month on the 1st and 15th`.",
            )
        day = int(match[1])
        if not 1 <= day <= 31:
            raise UserError(f"There is no day {day} in a month; use 1-31.", hint=EXAMPLES_HINT)
        days.add(day)
    return compress(days)


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
