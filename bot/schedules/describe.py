"""A `Recurrence` in words: "every weekday (Mon–Fri) at 09:00", or cron text when unusual."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.schedules.recurrence import (
    ALL_DAYS,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    DAYS_FULL,
    HOUR,
    HOUR_DIVISORS,
    MINUTE,
    MINUTE_DIVISORS,
    MONTH_LENGTH,
    MONTHS_FULL,
    Recurrence,
    join_words,
    ordinal,
)


@dataclass(frozen=True)
class _DayWords:
    every: str  # "every Monday", used before a clock time
    on: str  # "on Mondays", used after "every 15 minutes"
    either: bool = False
    note: str = ""  # said last, in parentheses


def describe(rec: Recurrence) -> str:
    """The schedule in words; unusual expressions come back as "cron `...`".

    >>> from bot.schedules.when import parse_when
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
    return "at " + join_words(times)


def _within_day_words(rec: Recurrence) -> str | None:
    minutes, hours = rec.minutes, rec.hours
    minute_step = next((n for n in MINUTE_DIVISORS if minutes == MINUTE.star(n)), None)
    hour_step = next((n for n in HOUR_DIVISORS if hours == HOUR.star(n)), None)
    every_n_minutes = {None: "", 1: "every minute"}.get(minute_step, f"every {minute_step} minutes")
    if hour_step == 1:
        if every_n_minutes:
            return every_n_minutes
        if minutes == {0}:
            return "every hour"
        if len(minutes) <= 4:
            word = "minute" if len(minutes) == 1 else "minutes"
            return f"at {word} {join_words([str(m) for m in sorted(minutes)])} of every hour"
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
    all_dom, all_dow = rec.days == ALL_DAYS, rec.weekdays == ALL_WEEKDAYS
    either = rec.day_restricted and rec.weekday_restricted
    in_months = "" if rec.months == ALL_MONTHS else " in " + _month_list(rec.months)
    if (either and (all_dom or all_dow)) or (all_dom and all_dow):
        return _DayWords("every day" + in_months, in_months.strip())
    if either:
        word = "day" if len(rec.days) == 1 else "days"
        numbers = join_words([str(d) for d in sorted(rec.days)])
        names = join_words([DAYS_FULL[d] + "s" for d in _monday_first(rec.weekdays)])
        text = f"on {word} {numbers} of the month or on {names}{in_months}"
        return _DayWords(text, text, either=True)
    if all_dom:
        if rec.weekdays == {1, 2, 3, 4, 5}:
            return _DayWords(
                "every weekday (Mon–Fri)" + in_months, "on weekdays (Mon–Fri)" + in_months
            )
        ordered = _monday_first(rec.weekdays)
        return _DayWords(
            "every " + join_words([DAYS_FULL[d] for d in ordered]) + in_months,
            "on " + join_words([DAYS_FULL[d] + "s" for d in ordered]) + in_months,
        )
    if all_dow and len(rec.days) <= 6:
        of = "every month" if not in_months else _month_list(rec.months)
        text = f"on the {join_words([ordinal(d) for d in sorted(rec.days)])} of {of}"
        return _DayWords(text, text, note=_skipped_days_note(rec))
    return None


def _skipped_days_note(rec: Recurrence) -> str:
    if rec.months == {2} and 29 in rec.days:
        return "the 29th only in leap years"
    short = [d for d in sorted(rec.days) if any(d > _common_length(m) for m in rec.months)]
    if not short:
        return ""
    return f"skipped in months without a {join_words([ordinal(d) for d in short], 'or')}"


def _common_length(month: int) -> int:
    return 28 if month == 2 else MONTH_LENGTH[month - 1]


def _monday_first(weekdays: Iterable[int]) -> list[int]:
    return sorted(weekdays, key=lambda d: (d + 6) % 7)


def _month_list(months: Iterable[int]) -> str:
    return join_words([MONTHS_FULL[m - 1] for m in sorted(months)])
