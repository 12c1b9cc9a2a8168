"""What Slack sends for shortcuts and for a modal's select menus, and checks of the answer to
an options request, built the same way for HTTP (`SlackRequester`) and Socket Mode
(`SocketModeServer.send_interactive`).

- a global shortcut (`type: shortcut`): who, and a trigger_id; no channel, no message;
- a message shortcut (`type: message_action`): the message it was used on, its channel, a
  response_url and a trigger_id;
- a `block_suggestion`: what the person typed in an `external_select` of a view (Slack sends
  no trigger_id with it, and wants at most 100 options back within 3 s);
- a `block_actions` from a view: an option chosen in a select of an open modal, with the
  view's id, hash and state.

>>> global_shortcut("run_notebook", user=("U1", "ann"), team_id="T1")["type"]
'shortcut'
>>> options_problems({"options": [{"text": {"type": "plain_text", "text": "x" * 80},
...     "value": "v"}]})
['option 0: text is 80 characters, more than 75']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.offline.slack_standin.records import View

OPTIONS_LIMIT = 100
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150


def _user(user: tuple[str, str], team_id: str) -> dict[str, Any]:
    return {"id": user[0], "username": user[1], "name": user[1], "team_id": team_id}


def global_shortcut(callback_id: str, *, user: tuple[str, str], team_id: str) -> dict[str, Any]:
    """The payload of a global shortcut (from the composer's or search's shortcut menu)."""
    return {
        "type": "shortcut",
        "callback_id": callback_id,
        "user": _user(user, team_id),
        "team": {"id": team_id},
        "action_ts": "1700000000.000001",
    }


def message_shortcut(
    callback_id: str,
    *,
    message: Mapping[str, Any],
    channel: tuple[str, str],
    user: tuple[str, str],
    team_id: str,
) -> dict[str, Any]:
    """The payload of a message shortcut used on `message` (its ts, text, blocks, user or
    bot_id, and thread_ts when in a thread)."""
    shown = {
        key: message[key]
        for key in ("type", "ts", "text", "blocks", "user", "bot_id", "thread_ts")
        if key in message
    }
    shown.setdefault("type", "message")
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "user": _user(user, team_id),
        "team": {"id": team_id},
        "channel": {"id": channel[0], "name": channel[1]},
        "message_ts": shown.get("ts"),
        "message": shown,
        "action_ts": "1700000000.000002",
    }


def _view_json(view: View, team_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A view as interaction payloads carry it (with its state)."""
    return {
        **view.view,
        "id": view.id,
        "team_id": team_id,
        "private_metadata": view.private_metadata,
        "state": {"values": dict(values)},
        "hash": view.hash,
        "root_view_id": view.root_view_id,
        "previous_view_id": view.previous_view_id,
    }


def block_suggestion(
    view: View,
    *,
    action_id: str,
    block_id: str,
    value: str,
    user: tuple[str, str],
    team_id: str,
) -> dict[str, Any]:
    """The options request Slack sends as someone types `value` into an external select."""
    return {
        "type": "block_suggestion",
        "user": _user(user, team_id),
        "team": {"id": team_id},
        "container": {"type": "view", "view_id": view.id},
        "view": _view_json(view, team_id, {}),
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
    }


def view_select(
    view: View,
    *,
    action_id: str,
    block_id: str,
    option: Mapping[str, Any],
    user: tuple[str, str],
    team_id: str,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `block_actions` Slack sends when `option` is chosen in a select of an open modal."""
    return {
        "type": "block_actions",
        "user": _user(user, team_id),
        "team": {"id": team_id},
        "container": {"type": "view", "view_id": view.id},
        "view": _view_json(view, team_id, values or {}),
        "actions": [
            {
                "type": "external_select",
                "action_id": action_id,
                "block_id": block_id,
                "selected_option": dict(option),
                "action_ts": "1700000000.000003",
            }
        ],
    }


def get_type(obj: Any) -> Any:
    """The `type` of a text object, or None."""
    return obj.get("type") if isinstance(obj, Mapping) else None


def options_problems(answer: Any) -> list[str]:
    """What Slack would refuse in the answer to a `block_suggestion` ([] when none)."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("options"), list):
        return ["the answer must be an object with an options array"]
    options = answer["options"]
    problems = []
    if len(options) > OPTIONS_LIMIT:
        problems.append(f"{len(options)} options, more than {OPTIONS_LIMIT}")
    for index, option in enumerate(options):
        text = option.get("text") if isinstance(option, Mapping) else None
        value = option.get("value") if isinstance(option, Mapping) else None
        shown = text.get("text") if isinstance(text, Mapping) else None
        if not isinstance(shown, str) or not shown or get_type(text) != "plain_text":
            problems.append(f"option {index}: text must be non-empty plain_text")
        elif len(shown) > OPTION_TEXT_LIMIT:
            problems.append(
                f"option {index}: text is {len(shown)} characters, more than {OPTION_TEXT_LIMIT}"
            )
        if not isinstance(value, str) or not 0 < len(value) <= OPTION_VALUE_LIMIT:
            problems.append(f"option {index}: value must be 1 to {OPTION_VALUE_LIMIT} characters")
    return problems
