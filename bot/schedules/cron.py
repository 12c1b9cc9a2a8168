"""crontab(5) expressions: read the five fields into a `Recurrence`, write its canonical form.

>>> rec = parse_cron("0 9 * * mon-fri".split())
>>> rec.expression, sorted(rec.weekdays)
('0 9 * * 1-5', [1, 2, 3, 4, 5])
>>> compress({1, 2, 3, 5}), compress({0, 15, 30, 45})
('1-3,5', '0-45/15')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from itertools import pairwise

from bot.errors import UserError
from bot.schedules.recurrence import (
    ALL_MONTHS,
    DOM,
    DOW,
    FIELDS,
    HOUR,
    MINUTE,
    Field,
    Recurrence,
    never_fires,
    shown,
)

_CRON_HINT = (
    "A cron expression has 5 fields: minute (0-59), hour (0-23), day of month (1-31), "
    "month (1-12 or jan-dec) and day of week (0-7 or sun-sat; 0 and 7 are both Sunday), "
    "e.g. `30 9 * * 1-5` for 09:30 on weekdays."
)


def parse_cron(tokens: list[str]) -> Recurrence:
    """The `Recurrence` of a 5-field crontab(5) expression, split into its fields."""
    expr = shown(" ".join(tokens))
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
        _parse_field(text, spec, expr) for text, spec in zip(tokens, FIELDS, strict=True)
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
    problem = never_fires(rec)
    if problem:
        raise UserError(
            f"`{expr}` never fires: {problem}.",
            hint="Check the day-of-month and month fields.",
        )
    return replace(rec, expression=_render(rec))


def _cron_error(expr: str, problem: str) -> UserError:
    return UserError(f"Invalid cron expression `{expr}`: {problem}.", hint=_CRON_HINT)


def _parse_field(text: str, spec: Field, expr: str) -> frozenset[int]:
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


def _field_value(part: str, spec: Field, expr: str) -> int:
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


def _render(rec: Recurrence) -> str:
    """The canonical 5-field text; keeps every `*`-start that changes meaning."""
    minute_star, hour_star = _star_text(rec.minutes, MINUTE), _star_text(rec.hours, HOUR)
    if rec.wildcard:
        if minute_star is None and hour_star is None:
            if 0 in rec.hours:
                hour_star = _forced_star_text(rec.hours, HOUR)
            else:
                minute_star = _forced_star_text(rec.minutes, MINUTE)
        minute = minute_star or compress(rec.minutes)
        hour = hour_star or compress(rec.hours)
    else:
        minute, hour = compress(rec.minutes), compress(rec.hours)
    day = compress(rec.days) if rec.day_restricted else _any_star_text(rec.days, DOM)
    weekday = (
        compress(rec.weekdays) if rec.weekday_restricted else _any_star_text(rec.weekdays, DOW)
    )
    month = "*" if rec.months == ALL_MONTHS else compress(rec.months)
    return f"{minute} {hour} {day} {month} {weekday}"


def _star_text(values: frozenset[int], spec: Field) -> str | None:
    """`*` or `*/n` when that is what the values are (a lone `*/n` value is not shown so)."""
    for step in range(1, spec.span + 1):
        if len(spec.star(step)) > 1 and spec.star(step) == values:
            return "*" if step == 1 else f"*/{step}"
    return None


def _forced_star_text(values: frozenset[int], spec: Field) -> str:
    """A `*/n,...` text for values that hold `spec.low`: the biggest `*/n` part, then the rest."""
    step = min(
        (n for n in range(2, spec.span + 1) if spec.star(n) <= values),
        key=lambda n: len(values - spec.star(n)),
    )
    rest = values - spec.star(step)
    return f"*/{step}" + (f",{compress(rest)}" if rest else "")


def _any_star_text(values: frozenset[int], spec: Field) -> str:
    return _star_text(values, spec) or _forced_star_text(values, spec)


def compress(values: Iterable[int]) -> str:
    """A crontab field for a set of values: ranges, steps and lists ("1-5", "0-45/15")."""
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
