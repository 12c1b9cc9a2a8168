"""The schedule edit form: a modal pre-filled with a schedule, and reading it back (pure).

It asks for the timing, the time zone, the notebook's inputs (the run form's own fields,
`run_form.input_blocks`), who is notified and which outputs are posted. What it edits is
signed into `private_metadata` with the bot's HMAC, so a tampered form is refused.

>>> key = b"k" * 32
>>> read_edit_request(sign_edit_request(EditRequest(3, "T1", "U1", "C1"), key), key).schedule_id
3
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.deepnote.models import Notebook
from bot.errors import UserError
from bot.slack.messages.blocks import Block, context, plain_text, section, to_json
from bot.slack.run_form import input_blocks
from bot.slack.run_form.view import ACTION_ID, as_text
from bot.text.mrkdwn import code, escape, truncate
from storage.schedules import ScheduleRecord

EDIT_CALLBACK_ID = "schedule_edit_form"
WHEN_BLOCK = "schedule:when"
TZ_BLOCK = "schedule:tz"
NOTIFY_BLOCK = "schedule:notify"
POST_BLOCK = "schedule:post_outputs"
NOTIFY_IF_BLOCK = "schedule:notify_if"
VIEW_BLOCKS = 100
_CONTEXT = b"deepnote-bot/schedule-edit/v1"

NOTIFY_LABELS = {
    "always": "Every run",
    "failures": "Failed runs only",
    "changes": "When the outcome changes",
}


class TamperedEdit(UserError):
    """The edit form's metadata was not written by this bot (or was changed on the way)."""

    def __init__(self) -> None:
        super().__init__(
            "This form could not be checked, so the schedule was not changed.",
            hint="Press *Edit…* again, or type `/deepnote edit` with the schedule's id.",
        )


@dataclass(frozen=True)
class EditRequest:
    """Which schedule a form edits, for whom, and where its answer goes."""

    schedule_id: int
    team_id: str
    user_id: str
    channel_id: str
    """Where the person opened it (empty: the Home tab)."""


def _mac(key: bytes, body: str) -> str:
    derived = hmac.new(key, _CONTEXT, hashlib.sha256).digest()
    digest = hmac.new(derived, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_edit_request(request: EditRequest, key: bytes) -> str:
    """`<mac>.<json>`: the request behind its HMAC (a key of its own, derived from `key`)."""
    payload = {
        "s": request.schedule_id,
        "t": request.team_id,
        "u": request.user_id,
        "c": request.channel_id,
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return f"{_mac(key, body)}.{body}"


def read_edit_request(text: str, key: bytes) -> EditRequest:
    """The request signed into `text`; `TamperedEdit` when the HMAC or the shape is wrong."""
    mac, sep, body = text.partition(".")
    if not sep or not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        raise TamperedEdit()
    try:
        data = json.loads(body)
    except ValueError:
        raise TamperedEdit() from None
    fields = (data.get(k) for k in ("t", "u", "c")) if isinstance(data, dict) else ()
    texts = [f for f in fields if isinstance(f, str)]
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or len(texts) != 3:
        raise TamperedEdit()
    return EditRequest(data["s"], *texts)


def _text_block(
    bid: str, label: str, initial: str | None, hint: str, *, optional: bool = False
) -> Block:
    element = PlainTextInputElement(action_id=ACTION_ID, initial_value=initial or None)
    block = InputBlock(
        block_id=bid,
        label=plain_text(label, 150),
        element=element,
        hint=plain_text(hint, 300),
        optional=optional,
    )
    return to_json(block)


def _notify_block(current: str) -> Block:
    options = [Option(text=plain_text(t, 75), value=v) for v, t in NOTIFY_LABELS.items()]
    chosen = next((o for o in options if o.value == current), options[0])
    element = StaticSelectElement(action_id=ACTION_ID, options=options, initial_option=chosen)
    return to_json(
        InputBlock(block_id=NOTIFY_BLOCK, label=plain_text("Post", 150), element=element)
    )


def build_edit_view(
    schedule: ScheduleRecord, notebook: Notebook, *, when: str, metadata: str
) -> dict[str, Any]:
    """The modal editing `schedule`: `when` is its timing as a person would type it."""
    name = escape(truncate(schedule.notebook_name or notebook.name, 150))
    blocks: list[Block] = [
        section(
            f"Schedule {code(str(schedule.id))}: *{name}* in <#{schedule.channel_id}>\n"
            "Change what you like, then press *Save*. A run under way finishes "
            "under the settings it started with."
        ),
        _text_block(
            WHEN_BLOCK,
            "When",
            when,
            'Plain words like "every weekday at 9am", or a crontab like "0 9 * * 1-5".',
        ),
        _text_block(TZ_BLOCK, "Time zone", schedule.tz, "An IANA zone, e.g. Europe/Prague or UTC."),
    ]
    tail = [
        _notify_block(schedule.notify),
        _text_block(
            POST_BLOCK,
            "Outputs to post",
            schedule.post_outputs,
            "all, none, or block names or ids separated by commas; empty: the default.",
            optional=True,
        ),
        _text_block(
            NOTIFY_IF_BLOCK,
            "Notify only if",
            schedule.notify_if,
            'A condition on the run\'s outputs, e.g. churn_rate > 5% or rows("Late orders") > 0;'
            " empty: no condition (runs are posted as Post says).",
            optional=True,
        ),
    ]
    room = VIEW_BLOCKS - len(blocks) - len(tail) - 1
    left_out = 0
    for index, inp in enumerate(notebook.inputs):
        more = input_blocks(inp, index, schedule.inputs.get(inp.name, inp.value))
        if left_out or len(more) > room:
            left_out += 1
            continue
        blocks += more
        room -= len(more)
    if left_out:
        blocks.append(context([f"{left_out} more input(s) do not fit and keep their values."]))
    view = View(
        type="modal",
        callback_id=EDIT_CALLBACK_ID,
        title=plain_text("Edit schedule", 24),
        submit=plain_text("Save", 24),
        close=plain_text("Cancel", 24),
        private_metadata=metadata,
        blocks=blocks + tail,
    )
    return to_json(view)


@dataclass(frozen=True)
class EditFields:
    """The schedule's own fields as submitted (text as typed; `post_outputs` empty: default,
    `notify_if` empty: no condition)."""

    when: str
    tz: str
    notify: str
    post_outputs: str
    notify_if: str = ""


def _typed(kind: str, value: Any) -> str:
    """A notebook's own value as its form field sends it back (a date range as `a..b`)."""
    if kind == "input-date-range" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{as_text(value[0])}..{as_text(value[1])}"
    return as_text(value)


def _element(state: Mapping[str, Any], bid: str) -> Mapping[str, Any]:
    block = state.get(bid)
    element = block.get(ACTION_ID) if isinstance(block, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _field_text(state: Mapping[str, Any], bid: str) -> str:
    value = _element(state, bid).get("value")
    return " ".join(value.split()) if isinstance(value, str) else ""


def read_edit_fields(state: Mapping[str, Any], current: ScheduleRecord) -> EditFields:
    """The timing, zone, notify choice, outputs and condition of a submitted edit form."""
    chosen = _element(state, NOTIFY_BLOCK).get("selected_option")
    value = chosen.get("value") if isinstance(chosen, Mapping) else None
    notify = value if isinstance(value, str) and value in NOTIFY_LABELS else current.notify
    return EditFields(
        when=_field_text(state, WHEN_BLOCK),
        tz=_field_text(state, TZ_BLOCK),
        notify=notify,
        post_outputs=_field_text(state, POST_BLOCK),
        notify_if=_field_text(state, NOTIFY_IF_BLOCK),
    )


def kept_inputs(
    notebook: Notebook,
    current: Mapping[str, str],
    submitted: Sequence[tuple[str, str]],
    shown: Mapping[str, str],
) -> dict[str, str]:
    """The inputs a schedule stores after its form: a field is kept when the schedule had set
    it or it differs from the notebook's own value (so untouched fields keep following the
    notebook); inputs the form did not show keep their stored values."""
    kept = {name: value for name, value in current.items() if name not in shown}
    for name, text in submitted:
        inp = notebook.input_named(name)
        own = _typed(inp.type, inp.value) if inp is not None else None
        if name in current or text != own:
            kept[name] = text
    return kept
