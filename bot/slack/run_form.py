"""The run form: a modal built from a notebook's input blocks, and reading it back (pure).

`build_view` turns a notebook's inputs into Block Kit input blocks prefilled with the values
to start from; `parse_state` reads a view submission back into raw `name=value` pairs that
go through the same `validate_inputs` as the slash command; `validate_form` maps any problem
back to the block it belongs to, for `response_action: errors`.

What the form is for (notebook, channel, thread, run options) travels in the view's
`private_metadata` as a `FormRequest`, signed with an HMAC so a tampered one is refused.

>>> from bot.deepnote.models import Notebook, NotebookInput
>>> nb = Notebook("ab" * 16, "Demo", (NotebookInput("n", "input-slider", "3", min=1, max=9),))
>>> view = build_view(nb, metadata="m")
>>> view["blocks"][1]["element"]["type"], view["blocks"][1]["element"]["initial_value"]
('number_input', '3')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bot.deepnote.inputs import SLIDER_DEFAULTS, convert_value, describe_input, validate_inputs
from bot.deepnote.models import InputValue, Notebook, NotebookInput
from bot.errors import FormErrors, UserError
from bot.text.mrkdwn import code, escape, plain, truncate
from storage.records import RunOptions

CALLBACK_ID = "run_form"
ACTION_ID = "value"
VIEW_BLOCKS = 100
METADATA_CHARS = 3000
BUTTON_VALUE_CHARS = 2000
OPTIONS_MAX = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
TEXT_INPUT_CHARS = 3000
LABEL_CHARS = 150
HINT_CHARS = 300
ERROR_CHARS = 300
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
_SIGNING_CONTEXT = b"deepnote-bot/run-form/v1"


# --- what the form is for, signed -----------------------------------------------------------


class TamperedForm(UserError):
    """The form's metadata was not written by this bot (or was changed on the way)."""

    def __init__(self) -> None:
        super().__init__(
            "This form could not be checked, so nothing was started.",
            hint="Open the form again with `/deepnote run <notebook> --form`.".replace(
                "<", "&lt;"
            ).replace(">", "&gt;"),
        )


@dataclass(frozen=True)
class FormRequest:
    """Where a run form came from and what it runs; signed into `private_metadata`."""

    notebook_id: str
    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None = None
    options: RunOptions = field(default_factory=RunOptions)
    inputs: Mapping[str, InputValue] = field(default_factory=dict)
    """Values to prefill (carried only in buttons that open the form later)."""

    def without_inputs(self) -> FormRequest:
        """The same request with no values to prefill (for the modal's own metadata)."""
        return FormRequest(
            self.notebook_id,
            self.team_id,
            self.user_id,
            self.channel_id,
            self.thread_ts,
            self.options,
        )


def form_key(secret: str) -> bytes:
    """The HMAC key for form metadata, derived from a secret the bot already holds."""
    return hmac.new(secret.encode(), _SIGNING_CONTEXT, hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_request(request: FormRequest, key: bytes) -> str:
    """`<mac>.<json>`: the request as compact JSON behind its HMAC.

    >>> key = form_key("secret")
    >>> read_request(sign_request(FormRequest("n", "T", "U", "C"), key), key).channel_id
    'C'
    """
    payload: dict[str, Any] = {
        "n": request.notebook_id,
        "t": request.team_id,
        "u": request.user_id,
        "c": request.channel_id,
    }
    if request.thread_ts:
        payload["th"] = request.thread_ts
    options = request.options
    if options.readonly:
        payload["ro"] = True
    if options.block_ids:
        payload["b"] = list(options.block_ids)
    if options.run_dependents:
        payload["d"] = True
    if options.post_outputs is not None:
        payload["p"] = options.post_outputs
    if request.inputs:
        payload["i"] = dict(request.inputs)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return f"{_mac(key, body)}.{body}"


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TamperedForm()
    return value


def _input_value(value: object) -> InputValue:
    if isinstance(value, str | bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise TamperedForm()


def read_request(text: str, key: bytes) -> FormRequest:
    """The request signed into `text`; `TamperedForm` when the HMAC or the shape is wrong."""
    mac, sep, body = text.partition(".")
    if not sep or not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        raise TamperedForm()
    try:
        data = json.loads(body)
    except ValueError:
        raise TamperedForm() from None
    if not isinstance(data, dict):
        raise TamperedForm()
    thread = data.get("th")
    post = data.get("p")
    blocks = data.get("b", [])
    inputs = data.get("i", {})
    if not isinstance(blocks, list) or not isinstance(inputs, dict):
        raise TamperedForm()
    return FormRequest(
        notebook_id=_str(data.get("n")),
        team_id=_str(data.get("t")),
        user_id=_str(data.get("u")),
        channel_id=_str(data.get("c")),
        thread_ts=None if thread is None else _str(thread),
        options=RunOptions(
            readonly=data.get("ro") is True,
            block_ids=tuple(_str(b) for b in blocks),
            run_dependents=data.get("d") is True,
            post_outputs=None if post is None else _str(post),
        ),
        inputs={_str(k): _input_value(v) for k, v in inputs.items()},
    )


def modal_metadata(request: FormRequest, key: bytes) -> str:
    """The signed metadata of the modal; `UserError` when it cannot fit in 3,000 characters."""
    text = sign_request(request.without_inputs(), key)
    if len(text) > METADATA_CHARS:
        raise UserError(
            f"The form cannot carry {len(request.options.block_ids)} block ids.",
            hint="Run it with `name=value` inputs instead of `--form`, or pass fewer `--blocks`.",
        )
    return text


def button_value(request: FormRequest, key: bytes) -> str | None:
    """The signed request for a button that opens the form later (without the values to
    prefill when they do not fit); None when even that is too long for a button."""
    text = sign_request(request, key)
    if len(text) > BUTTON_VALUE_CHARS:
        text = sign_request(request.without_inputs(), key)
    return text if len(text) <= BUTTON_VALUE_CHARS else None


# --- when the form is wanted ------------------------------------------------------------------


def form_wanted(*, form_flag: bool, inputs_given: bool, notebook: Notebook) -> bool:
    """`--form` always opens the form; a run without inputs opens it when there are inputs."""
    return form_flag or (not inputs_given and bool(notebook.inputs))


# --- building the modal -------------------------------------------------------------------------


def block_id(inp: NotebookInput, index: int) -> str:
    """The block id of an input's (first) block: its name when that fits, else its position."""
    by_name = f"input:{inp.name}"
    return by_name if len(by_name) <= BLOCK_ID_CHARS - 8 else f"input#{index}"


def _text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit=limit), "emoji": True}


def _label(inp: NotebookInput, suffix: str = "") -> dict[str, Any]:
    name = inp.label.strip() or inp.name
    return _text(truncate(name, LABEL_CHARS - len(suffix)) + suffix, LABEL_CHARS)


def _hint(inp: NotebookInput) -> dict[str, Any]:
    return _text(f"{inp.name} · {describe_input(inp)}", HINT_CHARS)


def _input_block(
    bid: str, label: dict[str, Any], element: dict[str, Any], hint: dict[str, Any] | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": bid,
        "optional": True,
        "label": label,
        "element": {**element, "action_id": ACTION_ID},
    }
    if hint is not None:
        block["hint"] = hint
    return block


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_as_text(v) for v in value)
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


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _text(text or "(empty)", OPTION_TEXT_CHARS), "value": value}


def _select_options(options: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
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


def _text_element(inp: NotebookInput, value: Any, *, multiline: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    initial = _as_text(value)
    if initial:
        element["initial_value"] = initial[:TEXT_INPUT_CHARS]
    if inp.type == "input-file":
        element["placeholder"] = _text("path/to/file", 150)
    return element


def _select_element(inp: NotebookInput, value: Any) -> dict[str, Any]:
    assert inp.options is not None
    pairs = _select_options(inp.options)
    options = [o for _, o in pairs]
    if inp.multiple:
        chosen = value if isinstance(value, list | tuple) else [value] if value else []
        wanted = {str(c) for c in chosen}
        initial = [o for text, o in pairs if text in wanted]
        element: dict[str, Any] = {"type": "multi_static_select", "options": options}
        if initial:
            element["initial_options"] = initial
        element["placeholder"] = _text("Choose any", 150)
        return element
    element = {"type": "static_select", "options": options}
    current = _as_text(value)
    initial_one = next((o for text, o in pairs if text == current), None)
    if initial_one is not None:
        element["initial_option"] = initial_one
    element["placeholder"] = _text("Choose one", 150)
    return element


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


def _slider_element(inp: NotebookInput, value: Any) -> dict[str, Any]:
    lo_default, hi_default, step_default = SLIDER_DEFAULTS
    lo = _decimal(inp.min, lo_default)
    hi = _decimal(inp.max, hi_default)
    step = _decimal(inp.step, step_default)
    decimal = not (_is_whole(lo) and _is_whole(hi) and _is_whole(step))
    element: dict[str, Any] = {
        "type": "number_input",
        "is_decimal_allowed": decimal,
        "min_value": _number_text(lo),
        "max_value": _number_text(hi),
    }
    text = _as_text(value).strip()
    if text:
        current = _decimal(text, float("nan"))
        if current.is_finite() and lo <= current <= hi and (decimal or _is_whole(current)):
            element["initial_value"] = _number_text(current)
    return element


def _date_element(value: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker"}
    day = _day(value)
    if day is not None:
        element["initial_date"] = day
    return element


def _range_blocks(inp: NotebookInput, bid: str, value: Any) -> list[dict[str, Any]]:
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
    chosen = next(o for o in presets if o["value"] == preset)
    return [
        _input_block(f"{bid}:start", _label(inp, " (from)"), _date_element(start), _hint(inp)),
        _input_block(f"{bid}:end", _label(inp, " (to)"), _date_element(end)),
        _input_block(
            f"{bid}:preset",
            _label(inp, " (or a preset)"),
            {"type": "static_select", "options": presets, "initial_option": chosen},
        ),
    ]


def input_blocks(inp: NotebookInput, index: int, value: Any) -> list[dict[str, Any]]:
    """The input block(s) that ask for one notebook input, prefilled with `value`."""
    bid = block_id(inp, index)
    kind = inp.type
    if kind == "input-date-range":
        return _range_blocks(inp, bid, value)
    if kind == "input-checkbox":
        option = _option(inp.label.strip() or inp.name, "true")
        element: dict[str, Any] = {"type": "checkboxes", "options": [option]}
        if _truthy(value):
            element["initial_options"] = [option]
    elif kind == "input-select" and inp.options and len(inp.options) <= OPTIONS_MAX:
        element = _select_element(inp, value)
    elif kind == "input-slider":
        element = _slider_element(inp, value)
    elif kind == "input-date":
        element = _date_element(value)
    else:
        element = _text_element(inp, value, multiline=kind == "input-textarea")
    return [_input_block(bid, _label(inp), element, _hint(inp))]


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
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{name}* ({code(notebook.id, limit=40)})\n"
                "Set the inputs, then press *Run*.",
            },
        }
    ]
    line = _options_line(request)
    if line:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
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
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _text("Run a notebook", 24),
        "submit": _text("Run", 24),
        "close": _text("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


# --- reading a submission -------------------------------------------------------------------


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


def parse_state(notebook: Notebook, state: Mapping[str, Any]) -> FormValues:
    """A view submission's `view.state.values` as raw `name=value` pairs, input by input.

    Inputs left empty where empty means nothing (a select, a date, a number) are left out,
    so the notebook keeps its own value; an emptied text field sends the empty text.
    """
    raw: list[tuple[str, str]] = []
    exact: dict[str, InputValue] = {}
    errors: dict[str, str] = {}
    blocks: dict[str, str] = {}
    for index, inp in enumerate(notebook.inputs):
        bid = block_id(inp, index)
        kind = inp.type
        if kind == "input-date-range":
            start, end, preset = (_state(state, f"{bid}:{p}") for p in ("start", "end", "preset"))
            if start is None and end is None and preset is None:
                continue
            blocks[inp.name] = f"{bid}:start"
            chosen = (preset or {}).get("selected_option")
            word = chosen.get("value") if isinstance(chosen, Mapping) else None
            if isinstance(word, str) and word != USE_DATES:
                blocks[inp.name] = f"{bid}:preset"
                raw.append((inp.name, word))
                continue
            first = (start or {}).get("selected_date")
            last = (end or {}).get("selected_date")
            if first and last:
                raw.append((inp.name, f"{first}..{last}"))
            elif first or last:
                missing = f"{bid}:end" if first else f"{bid}:start"
                errors[missing] = "Pick both dates, or choose a preset below."
            continue
        element = _state(state, bid)
        if element is None:
            continue  # not in the form (it did not fit, or the notebook changed since)
        blocks[inp.name] = bid
        etype = element.get("type")
        if etype == "checkboxes":
            raw.append((inp.name, "true" if _option_values(element) else "false"))
        elif etype in ("static_select", "multi_static_select"):
            choice, ok = _read_select(inp, element)
            if not ok:
                errors[bid] = "That choice is no longer an option of this notebook; pick again."
            elif isinstance(choice, list) and any("," in c for c in choice):
                exact[inp.name] = choice  # the comma syntax cannot say this; options are valid
            elif isinstance(choice, list):
                raw.append((inp.name, ",".join(choice)))
            elif isinstance(choice, str):
                raw.append((inp.name, choice))
        elif etype == "datepicker":
            day = element.get("selected_date")
            if isinstance(day, str) and day:
                raw.append((inp.name, day))
        elif etype == "number_input":
            number = element.get("value")
            if isinstance(number, str) and number.strip():
                raw.append((inp.name, number))
        else:
            text = element.get("value")
            raw.append((inp.name, text if isinstance(text, str) else ""))
    return FormValues(tuple(raw), exact, errors, blocks)


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
