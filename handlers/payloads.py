"""Reading Slack's interaction payloads: who clicked, where, and the button's value (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.runs.service import Requester


def get(obj: Any, *path: str) -> Any:
    """The value at `path` in nested mappings, or None.

    >>> get({"user": {"id": "U1"}}, "user", "id"), get({"user": "U1"}, "user", "id")
    ('U1', None)
    """
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def text(value: Any) -> str | None:
    """`value` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def team_of(body: Mapping[str, Any]) -> str:
    """The team of the person who clicked or submitted."""
    return text(get(body, "user", "team_id")) or text(get(body, "team", "id")) or ""


def action_value(body: Mapping[str, Any]) -> str:
    """The `value` of the (first) clicked button.

    >>> action_value({"actions": [{"value": "r1"}]}), action_value({"actions": []})
    ('r1', '')
    """
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return text(get(first, "value")) or ""


def clicker(body: Mapping[str, Any]) -> Requester:
    """Who clicked, and where: the new card goes in the same channel, and in the card's
    thread when the card is a thread reply."""
    message_ts = text(get(body, "message", "ts")) or text(get(body, "container", "message_ts"))
    thread_ts = text(get(body, "message", "thread_ts")) or text(get(body, "container", "thread_ts"))
    return Requester(
        user_id=text(get(body, "user", "id")) or "",
        team_id=team_of(body),
        channel_id=text(get(body, "channel", "id"))
        or text(get(body, "container", "channel_id"))
        or "",
        thread_ts=thread_ts if thread_ts and thread_ts != message_ts else None,
        trigger="button",
    )


def viewer(body: Mapping[str, Any]) -> Requester:
    """Who clicked a button on their Home tab."""
    return Requester(
        user_id=text(get(body, "user", "id")) or "",
        team_id=team_of(body),
        channel_id="",
        trigger="home",
    )
