"""The run form's modal: one input block (or three, for a date range) per notebook input.

>>> from bot.deepnote.models import Notebook, NotebookInput
>>> nb = Notebook("ab" * 16, "Demo", (NotebookInput("n", "input-slider", "3", min=1, max=9),))
>>> view = build_view(nb, metadata="m")
>>> view["blocks"][1]["element"]["type"], view["blocks"][1]["element"]["initial_value"]
('number_input', '3')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    InputInteractiveElement,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.deepnote.inputs import SLIDER_DEFAULTS, describe_input
from bot.deepnote.models import Notebook, NotebookInput
from bot.slack.messages.blocks import Block, context, plain_text, section, to_json
from bot.slack.run_form.request import FormRequest
from bot.text.mrkdwn import code, escape, truncate

CALLBACK_ID = "run_form"
ACTION_ID = "value"
VIEW_BLOCKS = 100
OPTIONS_MAX = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
TEXT_INPUT_CHARS = 3000
LABEL_CHARS = 150
HINT_CHARS = 300
BLOCK_ID_CHARS = 255

USE_DATES = "dates"
PRESET_WORDS = {
    "past7days": "Past 7 days",
    "past14days": "Past 14 days",
    "pastMonth": "Past month",
    "past3months": "Past 3 months",
    "past6months": "Past 6 months",
    "pastYear": "Past year",
}
_CUSTOM_DAYS = re.compile(r"customDays(\d{1,6})", re.IGNORECASE)
_ISO_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


def block_id(inp: NotebookInput, index: int) -> str:
    """The block id of an input's (first) block: its name when that fits, else its position."""
    by_name = f"input:{inp.name}"
    return by_name if len(by_name) <= BLOCK_ID_CHARS - 8 else f"input#{index}"


def _label(inp: NotebookInput, suffix: str = "") -> PlainTextObject:
    name = inp.label.strip() or inp.name
    return plain_text(truncate(name, LABEL_CHARS - len(suffix)) + suffix, LABEL_CHARS)


def _hint(inp: NotebookInput) -> PlainTextObject:
    return plain_text(f"{inp.name} · {describe_input(inp)}", HINT_CHARS)


def _input_block(
    bid: str,
    label: PlainTextObject,
    element: InputInteractiveElement,
    hint: PlainTextObject | None = None,
) -> Block:
    # Every element of the form answers to one action id; its block id tells them apart.
    element.action_id = ACTION_ID
    block = InputBlock(block_id=bid, optional=True, label=label, element=element, hint=hint)
    return to_json(block)


def as_text(value: Any) -> str:
    """An input's value as it is typed in a command (`true`, `a,b`, `3`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(as_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _day(value: Any) -> str | None:
    match = _ISO_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


def option_value(options: Sequence[str], index: int) -> str:
    """An option's value in the form: its text when short enough, else `#<index>`."""
    text = options[index]
    return text if 0 < len(text) <= OPTION_VALUE_CHARS and not text.startswith("#") else f"#{index}"


def _option(text: str, value: str) -> Option:
    return Option(text=plain_text(text or "(empty)", OPTION_TEXT_CHARS), value=value)


def _select_options(options: Sequence[str]) -> list[tuple[str, Option]]:
    """(option text, Block Kit option) for each distinct option."""
    seen: set[str] = set()
    out = []
    for index, text in enumerate(options):
        value = option_value(options, index)
        if value in seen:
            continue
        seen.add(value)
        out.append((text, _option(text, value)))
    return out


def _text_element(inp: NotebookInput, value: Any, *, multiline: bool) -> PlainTextInputElement:
    initial = as_text(value)[:TEXT_INPUT_CHARS]
    return PlainTextInputElement(
        multiline=multiline,
        initial_value=initial or None,
        placeholder=plain_text("path/to/file", 150) if inp.type == "input-file" else None,
    )


def _select_element(inp: NotebookInput, value: Any) -> InputInteractiveElement:
    assert inp.options is not None
    pairs = _select_options(inp.options)
    options = [o for _, o in pairs]
    if inp.multiple:
        chosen = value if isinstance(value, list | tuple) else [value] if value else []
        wanted = {str(c) for c in chosen}
        return StaticMultiSelectElement(
            options=options,
            initial_options=[o for text, o in pairs if text in wanted] or None,
            placeholder=plain_text("Choose any", 150),
        )
    current = as_text(value)
    return StaticSelectElement(
        options=options,
        initial_option=next((o for text, o in pairs if text == current), None),
        placeholder=plain_text("Choose one", 150),
    )


def _is_whole(d: Decimal) -> bool:
    return d == d.to_integral_value()


def _decimal(value: Any, default: float) -> Decimal:
    try:
        d = Decimal(repr(float(value))) if isinstance(value, int | float | str) else None
    except (ValueError, ArithmeticError):
        d = None
    return d if d is not None and d.is_finite() else Decimal(repr(default))


def _number_text(d: Decimal) -> str:
    return str(int(d)) if _is_whole(d) else format(d.normalize(), "f")


def _slider_element(inp: NotebookInput, value: Any) -> NumberInputElement:
    lo_default, hi_default, step_default = SLIDER_DEFAULTS
    lo = _decimal(inp.min, lo_default)
    hi = _decimal(inp.max, hi_default)
    step = _decimal(inp.step, step_default)
    decimal = not (_is_whole(lo) and _is_whole(hi) and _is_whole(step))
    initial = None
    text = as_text(value).strip()
    if text:
        current = _decimal(text, float("nan"))
        if current.is_finite() and lo <= current <= hi and (decimal or _is_whole(current)):
            initial = _number_text(current)
    return NumberInputElement(
        is_decimal_allowed=decimal,
        min_value=_number_text(lo),
        max_value=_number_text(hi),
        initial_value=initial,
    )


def _date_element(value: Any) -> DatePickerElement:
    return DatePickerElement(initial_date=_day(value))


def _range_blocks(inp: NotebookInput, bid: str, value: Any) -> list[Block]:
    start: Any = None
    end: Any = None
    preset = USE_DATES
    if isinstance(value, list | tuple) and len(value) == 2:
        start, end = value
    elif isinstance(value, str):
        word = value.strip()
        if word in PRESET_WORDS or _CUSTOM_DAYS.fullmatch(word):
            preset = word
        elif ".." in word:
            start, _, end = word.partition("..")
    presets = [_option("Use the dates above", USE_DATES)]
    presets += [_option(text, word) for word, text in PRESET_WORDS.items()]
    custom = _CUSTOM_DAYS.fullmatch(preset)
    if custom:
        presets.append(_option(f"Past {int(custom.group(1))} days", preset))
    chosen = next(o for o in presets if o.value == preset)
    return [
        _input_block(f"{bid}:start", _label(inp, " (from)"), _date_element(start), _hint(inp)),
        _input_block(f"{bid}:end", _label(inp, " (to)"), _date_element(end)),
        _input_block(
            f"{bid}:preset",
            _label(inp, " (or a preset)"),
            StaticSelectElement(options=presets, initial_option=chosen),
        ),
    ]


def _element(inp: NotebookInput, value: Any) -> InputInteractiveElement:
    """The element asking for one input (other than a date range), prefilled with `value`."""
    kind = inp.type
    if kind == "input-checkbox":
        option = _option(inp.label.strip() or inp.name, "true")
        return CheckboxesElement(
            options=[option], initial_options=[option] if _truthy(value) else None
        )
    if kind == "input-select" and inp.options and len(inp.options) <= OPTIONS_MAX:
        return _select_element(inp, value)
    if kind == "input-slider":
        return _slider_element(inp, value)
    if kind == "input-date":
        return _date_element(value)
    return _text_element(inp, value, multiline=kind == "input-textarea")


def input_blocks(inp: NotebookInput, index: int, value: Any) -> list[Block]:
    """The input block(s) that ask for one notebook input, prefilled with `value`."""
    bid = block_id(inp, index)
    if inp.type == "input-date-range":
        return _range_blocks(inp, bid, value)
    return [_input_block(bid, _label(inp), _element(inp, value), _hint(inp))]


def _options_line(request: FormRequest | None) -> str | None:
    if request is None:
        return None
    parts = [f"Posts in <#{request.channel_id}>" if request.channel_id[:1] in "CG" else ""]
    if request.options.readonly:
        parts.append("read-only")
    if request.options.block_ids:
        parts.append(f"{len(request.options.block_ids)} block(s) only")
    if request.options.post_outputs:
        parts.append(f"outputs: {escape(truncate(request.options.post_outputs, 200))}")
    shown = [p for p in parts if p]
    return " · ".join(shown) if shown else None


def build_view(
    notebook: Notebook,
    *,
    metadata: str,
    values: Mapping[str, Any] | None = None,
    request: FormRequest | None = None,
) -> dict[str, Any]:
    """The modal asking for every input of `notebook`, prefilled with `values` where given
    and the notebook's current values elsewhere. `metadata` is the signed request."""
    given = values or {}
    name = escape(truncate(notebook.name or notebook.id, 150))
    blocks = [
        section(f"*{name}* ({code(notebook.id, limit=40)})\nSet the inputs, then press *Run*.")
    ]
    line = _options_line(request)
    if line:
        blocks.append(context([line]))
    room = VIEW_BLOCKS - len(blocks) - 1
    left_out = 0
    for index, inp in enumerate(notebook.inputs):
        value = given.get(inp.name, inp.value)
        more = input_blocks(inp, index, value)
        if left_out or len(more) > room:
            left_out += 1
            continue
        blocks += more
        room -= len(more)
    if left_out:
        note = f"{left_out} more input(s) do not fit in a form and keep their current values."
        blocks.append(context([note]))
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=plain_text("Run a notebook", 24),
        submit=plain_text("Run", 24),
        close=plain_text("Cancel", 24),
        private_metadata=metadata,
        blocks=blocks,
    )
    return to_json(view)
