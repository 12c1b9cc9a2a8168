"""The views.* Web API methods: open, push, update, publish."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.offline.slack_standin.forms import ApiError, text_arg
from bot.offline.slack_standin.records import Event, View, view_event
from bot.offline.slack_standin.workspace import Workspace


def views_open(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.open: a modal, with a fresh trigger_id."""
    trigger_id, user = ws.use_trigger(args, now)
    view = ws.checked_view("views.open", args, "modal", now)
    view_id = ws.new_view_id()
    record = View(view_id, "modal", user, view, ws.new_hash(now), now, view_id, None, trigger_id)
    ws.open_modal(record)
    return _answer(ws, record, events)


def views_push(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.push: a modal on top of the open one."""
    trigger_id, user = ws.use_trigger(args, now)
    view = ws.checked_view("views.push", args, "modal", now)
    stack = ws.modal_stack(user)
    if len(stack) >= 3:
        raise ApiError("push_limit_reached")
    view_id = ws.new_view_id()
    root = stack[0] if stack else view_id
    previous = stack[-1] if stack else None
    record = View(view_id, "modal", user, view, ws.new_hash(now), now, root, previous, trigger_id)
    ws.push_modal(record)
    return _answer(ws, record, events)


def views_update(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.update: replace a modal or Home tab (hash checked)."""
    view_id = text_arg(args, "view_id")
    external_id = text_arg(args, "external_id")
    if view_id is None and external_id is None:
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["view_id or external_id is required"]},
        )
    current = ws.view(view_id) if view_id else None
    if current is None and external_id is not None:
        current = ws.view_with_external_id(external_id)
    if current is None:
        raise ApiError("not_found")
    expected = text_arg(args, "hash")
    if expected is not None and expected != current.hash:
        raise ApiError("hash_conflict")
    updated = _revised(ws, current, ws.checked_view("views.update", args, current.kind, now), now)
    ws.store_view(updated)
    return _answer(ws, updated, events)


def views_publish(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.publish: a user's Home tab."""
    user = text_arg(args, "user_id")
    if user is None:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["user_id is required"]})
    if not ws.has_user(user):
        raise ApiError("user_not_found")
    view = ws.checked_view("views.publish", args, "home", now)
    current = ws.home(user)
    expected = text_arg(args, "hash")
    if current is not None and expected is not None and expected != current.hash:
        raise ApiError("hash_conflict")
    if current is None:
        view_id = ws.new_view_id()
        record = View(view_id, "home", user, view, ws.new_hash(now), now, view_id)
    else:
        record = _revised(ws, current, view, now)
    ws.publish_home(record)
    return _answer(ws, record, events)


def _revised(ws: Workspace, current: View, view: dict[str, Any], now: datetime) -> View:
    """`current` showing `view` now, with a fresh hash; the view it showed goes to `versions`."""
    return replace(
        current,
        view=view,
        hash=ws.new_hash(now),
        at=now,
        versions=[*current.versions, current.view],
    )


def _answer(ws: Workspace, record: View, events: list[Event]) -> dict[str, Any]:
    """Tell subscribers `record` changed; the answer every views.* method gives."""
    events.append(view_event(record))
    return {"view": ws.view_json(record)}
