"""Input checks as Deepnote makes them when a run starts, and what a date range means."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from bot.deepnote.models import (
    DATE_RANGE_PRESETS,
    Notebook,
    NotebookInput,
)
from bot.offline.simulator.notebooks import numeric_string

# -- input checks --------------------------------------------------------------------------

_SLIDER_VALUE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_CUSTOM_DAYS = re.compile(r"customDays([1-9][0-9]*)")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def input_problem(spec: NotebookInput, value: Any) -> str | None:
    """Why Deepnote would refuse `value` for this input (a 400 message), or None if it is fine."""
    label = f'Input "{spec.name}"'
    check = _CHECKS.get(spec.type)
    if check is not None:
        return check(spec, value, label)
    # input-text, input-textarea, input-file and any type the simulator does not know.
    return None if isinstance(value, str) else f"{label} expects a string, got {_json_type(value)}"


def _checkbox_problem(spec: NotebookInput, value: Any, label: str) -> str | None:
    """A checkbox takes a boolean."""
    return (
        None if isinstance(value, bool) else f"{label} expects a boolean, got {_json_type(value)}"
    )


def _slider_problem(spec: NotebookInput, value: Any, label: str) -> str | None:
    """A slider takes a numeric string within its range, on its steps."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'{label} is a slider: send its value as a numeric string such as "5", not as a number'
        )
    if not isinstance(value, str):
        return f"{label} expects a numeric string, got {_json_type(value)}"
    if not _SLIDER_VALUE.fullmatch(value):
        return f'{label} expects a numeric string such as "5", got "{value}"'
    number, low, high = (
        float(value),
        spec.min or 0.0,
        spec.max if spec.max is not None else 100.0,
    )
    if not low <= number <= high:
        return f"{label} must be between {numeric_string(low)} and {numeric_string(high)}"
    step = spec.step or 1.0
    if abs((number - low) / step - round((number - low) / step)) > 1e-9:
        return f"{label} must be a multiple of {numeric_string(step)} from {numeric_string(low)}"
    return None


def _select_problem(spec: NotebookInput, value: Any, label: str) -> str | None:
    """A select takes one of its options (a list of them when it allows several)."""
    options = spec.options or ()
    if spec.multiple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{label} allows several values: send a list of strings"
        unknown = [v for v in value if v not in options]
    else:
        if not isinstance(value, str):
            return f"{label} expects a string, got {_json_type(value)}"
        unknown = [value] if value not in options else []
    if unknown:
        return f'{label} has no option "{unknown[0]}". Options: ' + ", ".join(
            f'"{o}"' for o in options
        )
    return None


def _date_problem(spec: NotebookInput, value: Any, label: str) -> str | None:
    """A date takes YYYY-MM-DD."""
    return None if _is_date(value) else f"{label} expects a date as YYYY-MM-DD"


def _date_range_problem(spec: NotebookInput, value: Any, label: str) -> str | None:
    """A date range takes a preset, customDays<N>, or two dates in order."""
    if isinstance(value, str):
        if value in DATE_RANGE_PRESETS or _CUSTOM_DAYS.fullmatch(value):
            return None
        return (
            f"{label} expects one of {', '.join(DATE_RANGE_PRESETS)}, customDays<N> "
            f'or two dates like ["2026-01-01", "2026-01-31"], got "{value}"'
        )
    if isinstance(value, list) and len(value) == 2 and all(_is_date(v) for v in value):
        return None if value[0] <= value[1] else f"{label} starts after it ends"
    return f"{label} expects a preset such as past7days or a list of two YYYY-MM-DD dates"


_CHECKS: dict[str, Callable[[NotebookInput, Any, str], str | None]] = {
    "input-checkbox": _checkbox_problem,
    "input-slider": _slider_problem,
    "input-select": _select_problem,
    "input-date": _date_problem,
    "input-date-range": _date_range_problem,
}


def inputs_problem(notebook: Notebook, inputs: Any) -> str | None:
    """Why Deepnote would refuse this `inputs` object for the notebook, or None."""
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        return "inputs must be an object keyed by input name"
    for name, value in inputs.items():
        spec = notebook.input_named(name)
        if spec is None:
            known = ", ".join(i.name for i in notebook.inputs)
            return f'Unknown input "{name}". ' + (
                f"The notebook's inputs are: {known}" if known else "The notebook has no inputs"
            )
        problem = input_problem(spec, value)
        if problem:
            return problem
    return None


# -- date ranges ----------------------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def date_range_bounds(value: Any, today: date) -> tuple[date, date]:
    """A date-range input's value as (start, end), the way Deepnote turns presets into dates."""
    if isinstance(value, list) and len(value) == 2:
        return date.fromisoformat(str(value[0])), date.fromisoformat(str(value[1]))
    text = str(value)
    fixed = {"past7days": 7, "past14days": 14}
    months = {"pastMonth": 1, "past3months": 3, "past6months": 6, "pastYear": 12}
    custom = _CUSTOM_DAYS.fullmatch(text)
    if text in fixed:
        return today - timedelta(days=fixed[text]), today
    if text in months:
        return _months_back(today, months[text]), today
    if custom:
        return today - timedelta(days=int(custom.group(1))), today
    return today, today
