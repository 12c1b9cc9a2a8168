"""Reading a submitted run form back, and checking it as the slash command checks inputs.

`parse_state` reads a view submission into raw `name=value` pairs that go through the same
`validate_inputs` as the slash command; `validate_form` maps any problem back to the block it
belongs to, for `response_action: errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.deepnote.inputs import convert_value, validate_inputs
from bot.deepnote.models import InputValue, Notebook, NotebookInput
from bot.errors import FormErrors, UserError
from bot.slack.run_form.view import ACTION_ID, USE_DATES, block_id
from bot.text.mrkdwn import truncate

ERROR_CHARS = 300


@dataclass(frozen=True)
class FormValues:
    """What a submitted form says: raw `name=value` pairs for `validate_inputs`, values that
    cannot be written that way (choices with commas), and problems found while reading."""

    raw: tuple[tuple[str, str], ...]
    exact: Mapping[str, InputValue] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    blocks: Mapping[str, str] = field(default_factory=dict)
    """The block id that shows each input's errors."""


def _state(values: Mapping[str, Any], bid: str) -> Mapping[str, Any] | None:
    block = values.get(bid)
    if not isinstance(block, Mapping):
        return None
    element = block.get(ACTION_ID)
    return element if isinstance(element, Mapping) else None


def _chosen(options: Sequence[str], value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value.startswith("#") and value[1:].isdigit():
        index = int(value[1:])
        return options[index] if index < len(options) else None
    return value if value in options else None


def _option_values(element: Mapping[str, Any]) -> list[object]:
    selected = element.get("selected_options")
    if not isinstance(selected, list):
        return []
    return [o.get("value") for o in selected if isinstance(o, Mapping)]


def _read_select(inp: NotebookInput, element: Mapping[str, Any]) -> tuple[InputValue | None, bool]:
    """(the choice, whether it is valid) for a select element."""
    options = inp.options or ()
    if inp.multiple:
        picked = [_chosen(options, v) for v in _option_values(element)]
        if any(p is None for p in picked):
            return None, False
        return [p for p in picked if p is not None], True
    selected = element.get("selected_option")
    if not isinstance(selected, Mapping):
        return None, True
    choice = _chosen(options, selected.get("value"))
    return choice, choice is not None


@dataclass
class _Reading:
    """What `parse_state` has read so far."""

    raw: list[tuple[str, str]] = field(default_factory=list)
    exact: dict[str, InputValue] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)

    def values(self) -> FormValues:
        """The reading as a `FormValues`."""
        return FormValues(tuple(self.raw), self.exact, self.errors, self.blocks)


def _read_range(inp: NotebookInput, bid: str, state: Mapping[str, Any], out: _Reading) -> None:
    """A date range's three blocks: a preset wins over the two dates."""
    start, end, preset = (_state(state, f"{bid}:{p}") for p in ("start", "end", "preset"))
    if start is None and end is None and preset is None:
        return
    out.blocks[inp.name] = f"{bid}:start"
    chosen = (preset or {}).get("selected_option")
    word = chosen.get("value") if isinstance(chosen, Mapping) else None
    if isinstance(word, str) and word != USE_DATES:
        out.blocks[inp.name] = f"{bid}:preset"
        out.raw.append((inp.name, word))
        return
    first = (start or {}).get("selected_date")
    last = (end or {}).get("selected_date")
    if first and last:
        out.raw.append((inp.name, f"{first}..{last}"))
    elif first or last:
        missing = f"{bid}:end" if first else f"{bid}:start"
        out.errors[missing] = "Pick both dates, or choose a preset below."


def _read_choice(inp: NotebookInput, bid: str, element: Mapping[str, Any], out: _Reading) -> None:
    choice, ok = _read_select(inp, element)
    if not ok:
        out.errors[bid] = "That choice is no longer an option of this notebook; pick again."
    elif isinstance(choice, list) and any("," in c for c in choice):
        out.exact[inp.name] = choice  # the comma syntax cannot say this; options are valid
    elif isinstance(choice, list):
        out.raw.append((inp.name, ",".join(choice)))
    elif isinstance(choice, str):
        out.raw.append((inp.name, choice))


def _read_element(inp: NotebookInput, bid: str, element: Mapping[str, Any], out: _Reading) -> None:
    """One input block's element, by its type."""
    etype = element.get("type")
    if etype == "checkboxes":
        out.raw.append((inp.name, "true" if _option_values(element) else "false"))
    elif etype in ("static_select", "multi_static_select"):
        _read_choice(inp, bid, element, out)
    elif etype == "datepicker":
        day = element.get("selected_date")
        if isinstance(day, str) and day:
            out.raw.append((inp.name, day))
    elif etype == "number_input":
        number = element.get("value")
        if isinstance(number, str) and number.strip():
            out.raw.append((inp.name, number))
    else:
        text = element.get("value")
        out.raw.append((inp.name, text if isinstance(text, str) else ""))


def parse_state(notebook: Notebook, state: Mapping[str, Any]) -> FormValues:
    """A view submission's `view.state.values` as raw `name=value` pairs, input by input.

    Inputs left empty where empty means nothing (a select, a date, a number) are left out,
    so the notebook keeps its own value; an emptied text field sends the empty text.
    """
    out = _Reading()
    for index, inp in enumerate(notebook.inputs):
        bid = block_id(inp, index)
        if inp.type == "input-date-range":
            _read_range(inp, bid, state, out)
            continue
        element = _state(state, bid)
        if element is None:
            continue  # not in the form (it did not fit, or the notebook changed since)
        out.blocks[inp.name] = bid
        _read_element(inp, bid, element, out)
    return out.values()


def plain_error(message: str, name: str) -> str:
    """A one-line mrkdwn problem as plain text for a field, without the repeated input name.

    >>> plain_error("`top_n`: `abc` is not a number; use 1 to 10, e.g. `top_n=1`.", "top_n")
    'abc is not a number; use 1 to 10, e.g. top_n=1.'
    """
    text = message.replace("`", "").replace("ˋ", "`")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.removeprefix(f"{name}: ")
    return truncate(" ".join(text.split()), ERROR_CHARS) or "This value is not valid."


def validate_form(notebook: Notebook, values: FormValues, *, today: date) -> dict[str, InputValue]:
    """The inputs to run with, checked exactly as the command checks them; `FormErrors`
    keyed by block id when anything is wrong."""
    errors = dict(values.errors)
    inputs: dict[str, InputValue] = {}
    try:
        inputs = validate_inputs(notebook, values.raw, today=today)
    except UserError as exc:
        for name, text in values.raw:
            inp = notebook.input_named(name)
            bid = values.blocks.get(name)
            if inp is None or bid is None:
                continue
            try:
                convert_value(inp, text, today=today)
            except UserError as problem:
                errors[bid] = plain_error(problem.message, name)
        if not errors:
            first = next(iter(values.blocks.values()), None)
            if first is None:
                raise
            errors[first] = plain_error(exc.message, "")
    if errors:
        raise FormErrors(errors)
    inputs.update(values.exact)
    return inputs
