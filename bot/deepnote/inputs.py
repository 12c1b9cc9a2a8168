"""Check `name=value` inputs against a notebook's input blocks and convert them for Deepnote.

Pure functions: the date is an argument. Every problem is collected, so one reply lists them all
and no run starts with any of them.

>>> from datetime import date
>>> nb = Notebook("n1", "Sales", (NotebookInput("months", "input-slider", min=1, max=24, step=1),))
>>> validate_inputs(nb, [("months", "07")], today=date(2026, 1, 31))
{'months': '7'}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

from bot.deepnote.models import DATE_RANGE_PRESETS, InputValue, Notebook, NotebookInput
from bot.errors import UserError
from bot.text.mrkdwn import code, escape, truncate
from bot.text.tokens import closest, list_tokens, quote_token

SLIDER_DEFAULTS = (0.0, 100.0, 1.0)
"""Deepnote's slider min, max and step when the notebook does not say."""

MAX_CUSTOM_DAYS = 3650
_MESSAGE_BUDGET = 2400

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NUMBER = re.compile(r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CUSTOM_DAYS = re.compile(r"customdays(\d{1,6})", re.IGNORECASE)
_PRESETS = {p.lower(): p for p in DATE_RANGE_PRESETS}
_PRESET_WORDS = (*DATE_RANGE_PRESETS, "customDaysN")
_TOLERANCE = Decimal("1e-9")


class _Invalid(Exception):
    """One input's value is wrong; the message is one line for the user."""


def _assignment(name: str, value: str) -> str:
    """`name=value` as a code span, quoting a value with spaces."""
    shown = f'"{value}"' if any(c.isspace() for c in value) or not value else value
    return code(f"{name}={shown}", limit=80)


def _bold(text: str) -> str:
    return f"*{escape(truncate(' '.join(text.split()) or 'this notebook', 80))}*"


# --- per type ---------------------------------------------------------------------------------


def _checkbox(inp: NotebookInput, text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _Invalid(
        f"{quote_token(inp.name)}: {quote_token(text)} is not yes/no; "
        f"use {_assignment(inp.name, 'true')} or {_assignment(inp.name, 'false')}."
    )


def _decimal(x: object, default: float) -> Decimal:
    """A slider bound as an exact decimal (from its shortest float text); the default if unusable.

    Deepnote may send bounds as numbers or numeric strings; anything else falls back.
    """
    try:
        d = Decimal(repr(float(x))) if isinstance(x, int | float | str) else None
    except (ValueError, InvalidOperation, OverflowError):
        d = None
    return d if d is not None and d.is_finite() else Decimal(repr(default))


def format_number(d: Decimal) -> str:
    """A number as Deepnote wants it: "7", not "07" or "7.0"; "2.5" stays.

    >>> format_number(Decimal("07.0")), format_number(Decimal("2.50")), format_number(Decimal("-0"))
    ('7', '2.5', '0')
    """
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def _slider_bounds(inp: NotebookInput) -> tuple[Decimal, Decimal, Decimal]:
    lo_default, hi_default, step_default = SLIDER_DEFAULTS
    return (
        _decimal(inp.min, lo_default),
        _decimal(inp.max, hi_default),
        _decimal(inp.step, step_default),
    )


def _slider_words(inp: NotebookInput) -> str:
    lo, hi, step = _slider_bounds(inp)
    grid = f", step {format_number(step)}" if step > 0 else ""
    return f"number {format_number(lo)}–{format_number(hi)}{grid}"


def _slider(inp: NotebookInput, text: str) -> str:
    lo, hi, step = _slider_bounds(inp)
    rule = f"a number from {format_number(lo)} to {format_number(hi)}" + (
        f" in steps of {format_number(step)}" if step > 0 else ""
    )
    cleaned = text.strip()
    if not _NUMBER.fullmatch(cleaned):
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is not a number; use {rule}, "
            f"e.g. {_assignment(inp.name, format_number(lo))}."
        )
    value = Decimal(cleaned)
    if not lo <= value <= hi:
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is out of range; use {rule}, "
            f"e.g. {_assignment(inp.name, format_number(hi if value > hi else lo))}."
        )
    if step <= 0:
        return format_number(value)
    steps = (value - lo) / step
    nearest = steps.to_integral_value(rounding=ROUND_HALF_EVEN)
    if abs(steps - nearest) > _TOLERANCE:
        below = lo + steps.to_integral_value(rounding=ROUND_FLOOR) * step
        above = below + step
        choices = " or ".join(
            _assignment(inp.name, format_number(v)) for v in (below, above) if lo <= v <= hi
        )
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is not on the slider's steps; "
            f"use {rule}, e.g. {choices}."
        )
    return format_number(lo + nearest * step)


def _match_option(options: Sequence[str], text: str) -> str | None:
    """The option `text` names: exactly, then ignoring surrounding spaces and case."""
    if text in options:
        return text
    stripped = text.strip()
    if stripped in options:
        return stripped
    folded = stripped.casefold()
    return next((o for o in options if o.strip().casefold() == folded), None)


def _select(inp: NotebookInput, text: str) -> InputValue:
    options = inp.options
    if not inp.multiple:
        if options is None:
            return text
        match = _match_option(options, text)
        if match is not None:
            return match
        guess = closest(text.strip(), options)
        did_you_mean = f" Did you mean {code(guess, limit=60)}?" if guess else ""
        example = _assignment(inp.name, options[0]) if options else ""
        allowed = f"one of: {list_tokens(options)}" if options else "no options at all"
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is not an option.{did_you_mean} "
            f"It takes {allowed}" + (f", e.g. {example}." if example else ".")
        )
    if options is not None:
        whole = _match_option(options, text)
        if whole is not None:
            return [whole]
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    if options is None:
        return list(dict.fromkeys(pieces))
    chosen: list[str] = []
    bad: list[str] = []
    for piece in pieces:
        match = _match_option(options, piece)
        if match is None:
            bad.append(piece)
        elif match not in chosen:
            chosen.append(match)
    if bad:
        guess = closest(bad[0], options)
        did_you_mean = f" Did you mean {code(guess, limit=60)}?" if guess else ""
        example = _assignment(inp.name, ",".join(options[:2])) if options else ""
        noun = "is not an option" if len(bad) == 1 else "are not options"
        allowed = f"one or more of: {list_tokens(options)}" if options else "no options at all"
        raise _Invalid(
            f"{quote_token(inp.name)}: {list_tokens(bad, 5)} {noun}.{did_you_mean} "
            f"It takes {allowed}, separated by commas" + (f", e.g. {example}." if example else ".")
        )
    return chosen


def _date(text: str, today: date) -> date | None:
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1) if today > date.min else None
    match = _ISO_DATE.fullmatch(word)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _date_input(inp: NotebookInput, text: str, today: date) -> str:
    day = _date(text, today)
    if day is None:
        what = "a real date" if _ISO_DATE.fullmatch(text.strip()) else "a date"
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is not {what}; use YYYY-MM-DD, "
            f"`today` or `yesterday`, e.g. {_assignment(inp.name, today.isoformat())}."
        )
    return day.isoformat()


def _range_example(inp: NotebookInput, today: date) -> str:
    start = today.replace(day=1)
    return _assignment(inp.name, f"{start.isoformat()}..{today.isoformat()}")


def _date_range(inp: NotebookInput, text: str, today: date) -> InputValue:
    word = text.strip()
    preset = _PRESETS.get(word.lower())
    if preset is not None:
        return preset
    custom = _CUSTOM_DAYS.fullmatch(word)
    if custom:
        days = int(custom.group(1))
        if 1 <= days <= MAX_CUSTOM_DAYS:
            return f"customDays{days}"
        raise _Invalid(
            f"{quote_token(inp.name)}: {quote_token(text)} is out of range; `customDays` takes "
            f"1 to {MAX_CUSTOM_DAYS} days, e.g. {_assignment(inp.name, 'customDays30')}."
        )
    start_text, sep, end_text = word.partition("..")
    if sep:
        start, end = _date(start_text, today), _date(end_text, today)
        if start is not None and end is not None:
            if start <= end:
                return [start.isoformat(), end.isoformat()]
            raise _Invalid(
                f"{quote_token(inp.name)}: {quote_token(text)} ends before it starts; "
                f"put the earlier date first, e.g. "
                f"{_assignment(inp.name, f'{end.isoformat()}..{start.isoformat()}')}."
            )
    guess = closest(word, _PRESET_WORDS) if not sep else None
    did_you_mean = f" Did you mean {code(guess)}?" if guess else ""
    raise _Invalid(
        f"{quote_token(inp.name)}: {quote_token(text)} is not a date range.{did_you_mean} "
        f"Use START..END with dates YYYY-MM-DD, e.g. {_range_example(inp, today)}, or a preset: "
        f"{', '.join(_PRESET_WORDS)} (N = 1 to {MAX_CUSTOM_DAYS})."
    )


def _extensions(inp: NotebookInput) -> tuple[str, ...]:
    """The allowed file extensions, lowercase with a dot; empty when anything goes."""
    if not isinstance(inp.allowed_extensions, str):
        return ()
    pieces = [p.strip().lower() for p in re.split(r"[,;\s]+", inp.allowed_extensions) if p.strip()]
    if not pieces or any(p in ("*", ".*", "*.*") for p in pieces):
        return ()
    dotted = ("." + p.lstrip("*.") for p in pieces)
    return tuple(dict.fromkeys(d for d in dotted if d != "."))


def _file(inp: NotebookInput, text: str) -> str:
    allowed = _extensions(inp)
    if not text or not allowed or text.strip().lower().endswith(allowed):
        return text
    raise _Invalid(
        f"{quote_token(inp.name)}: {quote_token(text)} is not an allowed file type "
        f"({', '.join(allowed)}), e.g. {_assignment(inp.name, 'data' + allowed[0])}."
    )


def convert_value(inp: NotebookInput, text: str, *, today: date) -> InputValue:
    """One input's value as Deepnote takes it; `UserError` (one line) when it is not valid.

    >>> convert_value(NotebookInput("on", "input-checkbox"), "Yes", today=date(2026, 1, 1))
    True
    """
    try:
        return _convert(inp, text, today)
    except _Invalid as exc:
        raise UserError(str(exc)) from None


def _convert(inp: NotebookInput, text: str, today: date) -> InputValue:
    kind = inp.type
    if kind == "input-checkbox":
        return _checkbox(inp, text)
    if kind == "input-slider":
        return _slider(inp, text)
    if kind == "input-select":
        return _select(inp, text)
    if kind == "input-date":
        return _date_input(inp, text, today)
    if kind == "input-date-range":
        return _date_range(inp, text, today)
    if kind == "input-file":
        return _file(inp, text)
    return text


# --- the whole set ----------------------------------------------------------------------------


def _unknown_name(notebook: Notebook, key: str) -> str:
    names = [i.name for i in notebook.inputs]
    guess = next((n for n in names if n.casefold() == key.casefold()), None) or closest(key, names)
    did_you_mean = f" Did you mean {code(guess, limit=60)}?" if guess else ""
    return (
        f"{quote_token(key)} is not an input of {_bold(notebook.name)}. "
        f"Its inputs are: {list_tokens(names)}.{did_you_mean}"
    )


def _bounded(lines: list[str]) -> str:
    """The problem lines, one per line, cut to fit in one Slack reply."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > _MESSAGE_BUDGET and shown:
            break
        shown.append(truncate(line, _MESSAGE_BUDGET))
        used += len(line) + 1
    rest = len(lines) - len(shown)
    if rest:
        shown.append(f"…and {rest} more problem{'s' if rest > 1 else ''}.")
    return "\n".join(shown)


NOTHING_STARTED = "Nothing was started."


def validate_inputs(
    notebook: Notebook,
    raw: Sequence[tuple[str, str]],
    *,
    today: date,
    refused: str = NOTHING_STARTED,
) -> dict[str, InputValue]:
    """Every raw `name=value` checked and converted; one `UserError` naming every problem.

    `today` resolves `today`/`yesterday` and shapes the examples in messages; `refused` says
    what did not happen (a schedule says no schedule was created).
    """
    listing = code(f"/deepnote inputs {notebook.id}", limit=80)
    hint = f"{refused} See the inputs and the values they take with {listing}."
    if raw and not notebook.inputs:
        given = list_tokens([f"{k}={v}" for k, v in raw], 5)
        raise UserError(
            f"{_bold(notebook.name)} takes no inputs, so {given} cannot be set.",
            hint=f"{refused} Try again without `name=value` inputs.",
        )
    values: dict[str, InputValue] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for key, text in raw:
        if key in seen:
            problems.append(f"{quote_token(key)} is given twice; give it once.")
            continue
        seen.add(key)
        inp = notebook.input_named(key)
        if inp is None:
            problems.append(_unknown_name(notebook, key))
            continue
        try:
            values[key] = _convert(inp, text, today)
        except _Invalid as exc:
            problems.append(str(exc))
    if problems:
        raise UserError(_bounded(problems), hint=hint)
    return values


# --- showing inputs to people -----------------------------------------------------------------


def describe_input(inp: NotebookInput) -> str:
    """The type of an input and the values it takes, in words (plain text; escape for mrkdwn).

    >>> describe_input(NotebookInput("months", "input-slider", min=1, max=24, step=1))
    'number 1–24, step 1'
    >>> describe_input(NotebookInput("region", "input-select", options=("EU", "US")))
    'one of: EU, US'
    """
    kind = inp.type
    if kind == "input-text":
        return "text"
    if kind == "input-textarea":
        return "text (may be long; quote it)"
    if kind == "input-checkbox":
        return "yes/no"
    if kind == "input-slider":
        return _slider_words(inp)
    if kind == "input-select":
        options = list(inp.options or ())
        if inp.options is None:
            return "one or more choices, comma-separated" if inp.multiple else "a choice"
        shown = ", ".join(truncate(o, 40) for o in options[:10])
        if len(options) > 10:
            shown += f" and {len(options) - 10} more"
        return f"one or more of: {shown} (comma-separated)" if inp.multiple else f"one of: {shown}"
    if kind == "input-date":
        return "date YYYY-MM-DD (or today, yesterday)"
    if kind == "input-date-range":
        return f"date range START..END or a preset ({', '.join(_PRESET_WORDS)})"
    if kind == "input-file":
        allowed = _extensions(inp)
        return f"file path ({', '.join(allowed)})" if allowed else "file path"
    return f"text ({kind})" if kind else "text"


def format_value(value: InputValue, *, limit: int = 200) -> str:
    """An input value as a person reads it (plain text; escape for mrkdwn).

    >>> format_value(True), format_value(["EU", "US"]), format_value(["2026-01-01", "2026-03-31"])
    ('yes', 'EU, US', '2026-01-01..2026-03-31')
    """
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        if len(value) == 2 and all(_ISO_DATE.fullmatch(str(v)) for v in value):
            text = f"{value[0]}..{value[1]}"
        else:
            text = ", ".join(str(v) for v in value) if value else "(none)"
    else:
        text = str(value) if value != "" else "(empty)"
    return truncate(text, limit)
