"""What Slack sends when a person presses a button or submits a modal, built from what the
stand-in recorded (the message or view shown) and what the person did.

`SlackRequester.interaction` signs and sends these, adding the keys Slack always adds (a fresh
trigger_id and, for a message's button, a response_url naming that message).

>>> blocks = [{"type": "input", "block_id": "b", "element": {"type": "datepicker",
...     "action_id": "a", "initial_date": "2026-01-31"}}]
>>> unchanged_state(blocks)
{'b': {'a': {'type': 'datepicker', 'selected_date': '2026-01-31'}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.offline.slack_standin.records import View

# The state key each kind of input element reports its value under, with the element key
# that holds its initial value.
STATE_KEYS: dict[str, tuple[str, str]] = {
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "static_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "external_select": ("selected_option", "initial_option"),
}


def element_state(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """One input element's entry in `view.state.values`, holding `value`.

    >>> element_state({"type": "checkboxes"}, None)
    {'type': 'checkboxes', 'selected_options': []}
    """
    kind = str(element.get("type", ""))
    key, _ = STATE_KEYS.get(kind, ("value", "initial_value"))
    if key == "selected_options" and value is None:
        value = []
    return {"type": kind, key: value}


def initial_value(element: Mapping[str, Any]) -> Any:
    """The value an input element shows before anyone changes it (None when empty)."""
    kind = str(element.get("type", ""))
    _, initial = STATE_KEYS.get(kind, ("value", "initial_value"))
    return element.get(initial)


def input_blocks(blocks: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The input blocks of a view, in order."""
    return [
        b
        for b in blocks
        if isinstance(b, Mapping)
        and b.get("type") == "input"
        and isinstance(b.get("element"), Mapping)
    ]


def unchanged_state(blocks: Sequence[Any]) -> dict[str, Any]:
    """The `state.values` Slack sends when the person changes nothing in the form."""
    return state_values(blocks, {})


def state_values(blocks: Sequence[Any], chosen: Mapping[str, Any]) -> dict[str, Any]:
    """`state.values` with `chosen[block_id]` where given and each field's initial value
    elsewhere."""
    values: dict[str, Any] = {}
    for block in input_blocks(blocks):
        element = block["element"]
        bid = str(block.get("block_id", ""))
        value = chosen[bid] if bid in chosen else initial_value(element)
        values[bid] = {str(element.get("action_id", "")): element_state(element, value)}
    return values


def view_submission(
    view: View, values: Mapping[str, Any], *, user_id: str, user_name: str, team_id: str
) -> dict[str, Any]:
    """The `view_submission` payload of the modal `view` submitted with `values`."""
    return {
        "type": "view_submission",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "view": {
            **view.view,
            "id": view.id,
            "team_id": team_id,
            "private_metadata": view.private_metadata,
            "state": {"values": dict(values)},
            "hash": view.hash,
            "root_view_id": view.root_view_id,
            "previous_view_id": view.previous_view_id,
        },
    }


def block_actions(
    *,
    button: Mapping[str, Any],
    block_id: str,
    message: Mapping[str, Any],
    channel: tuple[str, str],
    ephemeral: bool,
    user: tuple[str, str],
    team_id: str,
    action_ts: str,
) -> dict[str, Any]:
    """The `block_actions` payload of pressing `button` on a message.

    `message` holds the message's `ts`, `text`, `blocks` and `thread_ts` (when in a thread);
    `channel` and `user` are (id, name). Slack leaves the message out for an ephemeral.
    """
    ts = str(message.get("ts", ""))
    thread_ts = message.get("thread_ts")
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel[0],
        "is_ephemeral": ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    action: dict[str, Any] = {
        "type": button.get("type", "button"),
        "action_id": button.get("action_id", ""),
        "block_id": block_id,
        "text": button.get("text"),
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if key in button:
            action[key] = button[key]
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user[0], "username": user[1], "name": user[1], "team_id": team_id},
        "container": container,
        "channel": {"id": channel[0], "name": channel[1]},
        "state": {"values": {}},
        "actions": [action],
    }
    if not ephemeral:
        shown = {"type": "message", "ts": ts, "text": message.get("text", "")}
        shown["blocks"] = list(message.get("blocks") or [])
        if thread_ts:
            shown["thread_ts"] = thread_ts
        body["message"] = shown
    return body
