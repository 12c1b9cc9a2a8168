"""A modal's form in a terminal: its fields one by one, typed answers read as Slack would
send them (`view.state.values`), and `--set NAME=VALUE` for `deepnote-bot console -c`.

Only what a person could pick in Slack is accepted: an option of a select, a real date, a
number within a number field's bounds (Slack checks those before the form is sent); every
other check is the bot's, shown next to the field as Slack would.

>>> f = Field("input:region", "value", "Region", "", {"type": "static_select",
...     "options": [{"text": {"type": "plain_text", "text": "Europe"}, "value": "Europe"}]})
>>> read_answer(f, "1")["selected_option"]["value"]
'Europe'
>>> shown_value(f, read_answer(f, "europe")["selected_option"])
'Europe'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.offline.slack_standin.interactions import STATE_KEYS, initial_value, input_blocks

CLEAR = "-"
CANCEL_WORDS = frozenset({"/cancel", "cancel"})
SINGLE = ("static_select", "radio_buttons")
MULTI = ("multi_static_select", "checkboxes")
INPUT_PREFIX = "input:"


class Cancelled(Exception):
    """The person closed the form (typed /cancel, or the input ended)."""


@dataclass(frozen=True)
class Field:
    """One input block of a form."""

    block_id: str
    action_id: str
    label: str
    hint: str
    element: Mapping[str, Any]

    @property
    def kind(self) -> str:
        """The element's type (`static_select`, `datepicker`...)."""
        return str(self.element.get("type", ""))

    @property
    def name(self) -> str:
        """What `--set` calls the field: its block id without the `input:` prefix."""
        return self.block_id.removeprefix(INPUT_PREFIX)

    def options(self) -> list[Mapping[str, Any]]:
        """The options a select or checkbox field offers."""
        options = self.element.get("options")
        return [o for o in options if isinstance(o, Mapping)] if isinstance(options, list) else []


def _plain(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, Mapping) else ""


def form_fields(blocks: Sequence[Any]) -> list[Field]:
    """The fields of a view, in order."""
    return [
        Field(
            block_id=str(b.get("block_id", "")),
            action_id=str(b["element"].get("action_id", "")),
            label=_plain(b.get("label")),
            hint=_plain(b.get("hint")),
            element=b["element"],
        )
        for b in input_blocks(blocks)
    ]


def initial_values(fields: Sequence[Field]) -> dict[str, Any]:
    """Each field's pre-filled value, by block id."""
    return {f.block_id: initial_value(f.element) for f in fields}


def option_text(option: Mapping[str, Any]) -> str:
    """What an option shows."""
    return _plain(option.get("text"))


def shown_value(field: Field, value: Any) -> str:
    """A value as the person reads it (`(empty)` for none)."""
    if field.kind in SINGLE:
        return option_text(value) if isinstance(value, Mapping) else "(empty)"
    if field.kind in MULTI:
        if len(field.options()) == 1:
            return "y" if value else "n"
        names = [option_text(o) for o in value or [] if isinstance(o, Mapping)]
        return ", ".join(names) if names else "(none)"
    return str(value) if value not in (None, "") else "(empty)"


def _option(field: Field, typed: str) -> Mapping[str, Any]:
    options = field.options()
    word = typed.strip()
    if word.isdigit() and 1 <= int(word) <= len(options):
        return options[int(word) - 1]
    for option in options:
        if option_text(option).casefold() == word.casefold() or option.get("value") == word:
            return option
    choices = ", ".join(f"{i} {option_text(o)}" for i, o in enumerate(options, 1))
    raise ValueError(f"{typed.strip()!r} is not one of the options: {choices}")


def _yes_no(word: str) -> bool | None:
    lowered = word.strip().lower()
    if lowered in ("y", "yes", "true", "on", "x"):
        return True
    if lowered in ("n", "no", "false", "off"):
        return False
    return None


def _number(field: Field, typed: str) -> str:
    element = field.element
    word = typed.strip()
    try:
        number = Decimal(word)
    except InvalidOperation:
        raise ValueError(f"{word!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{word!r} is not a number")
    if not element.get("is_decimal_allowed") and number != number.to_integral_value():
        raise ValueError("this field takes whole numbers only")
    low, high = element.get("min_value"), element.get("max_value")
    if (low is not None and number < Decimal(str(low))) or (
        high is not None and number > Decimal(str(high))
    ):
        raise ValueError(f"enter a number from {low} to {high}")
    return word


def read_answer(field: Field, typed: str) -> dict[str, Any]:
    """What Slack would send for `typed` in this field, as its `state.values` entry; a
    ValueError says why Slack would not take it."""
    key, _ = STATE_KEYS.get(field.kind, ("value", "initial_value"))
    word = typed.strip()
    value: Any
    if word == CLEAR:
        value = [] if key == "selected_options" else None
    elif field.kind in SINGLE:
        value = dict(_option(field, word))
    elif field.kind in MULTI:
        options = field.options()
        yes = _yes_no(word) if len(options) == 1 else None
        if yes is not None:
            value = [dict(options[0])] if yes else []
        else:
            value = [dict(_option(field, part)) for part in word.split(",") if part.strip()]
    elif field.kind == "datepicker":
        try:
            value = date.fromisoformat(word).isoformat()
        except ValueError:
            raise ValueError(f"{word!r} is not a date; type it as YYYY-MM-DD") from None
    elif field.kind == "timepicker":
        try:
            value = time.fromisoformat(word).strftime("%H:%M")
        except ValueError:
            raise ValueError(f"{word!r} is not a time; type it as HH:MM") from None
    elif field.kind == "number_input":
        value = _number(field, word)
    else:
        value = typed.strip("\n")
    return {"type": field.kind, key: value}


def _state_value(entry: Mapping[str, Any]) -> Any:
    return next((v for k, v in entry.items() if k != "type"), None)


def how_to_answer(field: Field) -> str:
    """One line saying what the field takes."""
    if field.kind in SINGLE + MULTI:
        numbered = " · ".join(f"{i} {option_text(o)}" for i, o in enumerate(field.options(), 1))
        if field.kind in MULTI and len(field.options()) == 1:
            return "y or n"
        if field.kind in MULTI:
            return f"numbers or names, separated by commas: {numbered}"
        return f"a number or name: {numbered}"
    if field.kind == "datepicker":
        return "a date, YYYY-MM-DD"
    if field.kind == "number_input":
        low, high = field.element.get("min_value"), field.element.get("max_value")
        return f"a number from {low} to {high}" if low is not None else "a number"
    return "text"


def find_field(fields: Sequence[Field], name: str) -> Field:
    """The field `--set NAME=...` means: by input name (block id) or label; else ValueError."""
    wanted = name.strip().casefold()
    for field in fields:
        if wanted in (field.name.casefold(), field.block_id.casefold()):
            return field
    matches = [f for f in fields if f.label.casefold() == wanted]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(f.name for f in fields) or "none"
    raise ValueError(f"the form has no field {name!r}; its fields are: {names}")


def apply_sets(fields: Sequence[Field], sets: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The values `--set NAME=VALUE` give, by block id; a ValueError names the first bad one."""
    chosen: dict[str, Any] = {}
    for name, typed in sets:
        field = find_field(fields, name)
        try:
            chosen[field.block_id] = _state_value(read_answer(field, typed))
        except ValueError as exc:
            raise ValueError(f"--set {name}: {exc}") from None
    return chosen


_SPACES = re.compile(r"\s+")


@dataclass
class Prompter:
    """Asks for fields one at a time: `ask(prompt)` reads a line (None when input ends),
    `say(text)` prints."""

    ask: Callable[[str], str | None]
    say: Callable[[str], None]

    def field(self, field: Field, current: Any, error: str | None = None) -> Any:
        """Ask for one field until the answer is one Slack would take; the new value."""
        head = field.label + (f" ({_SPACES.sub(' ', field.hint)})" if field.hint else "")
        how = how_to_answer(field)
        self.say(
            f"{head}\n  {'' if how == 'text' else how + '; '}Enter keeps it, {CLEAR} clears it"
        )
        if error:
            self.say(f"  ⚠️ {error}")
        while True:
            typed = self.ask(f"{field.label} [{shown_value(field, current)}]: ")
            if typed is None or typed.strip().lower() in CANCEL_WORDS:
                raise Cancelled()
            if not typed.strip():
                return current
            try:
                return _state_value(read_answer(field, typed))
            except ValueError as exc:
                self.say(f"  ⚠️ {exc}")

    def fill(
        self, fields: Sequence[Field], values: dict[str, Any], errors: Mapping[str, str]
    ) -> None:
        """Ask for every field (or, after the bot's errors, only those with one)."""
        for field in fields:
            if errors and field.block_id not in errors:
                continue
            values[field.block_id] = self.field(
                field, values.get(field.block_id), errors.get(field.block_id)
            )

    def confirm(self, submit: str) -> None:
        """Wait for Enter to press the form's submit button; `/cancel` closes the form."""
        while True:
            typed = self.ask(f"Enter presses [{submit}]; /cancel closes the form: ")
            if typed is None or typed.strip().lower() in CANCEL_WORDS:
                raise Cancelled()
            if not typed.strip():
                return
            self.say("  ⚠️ Press Enter alone to send the form, or type /cancel.")
