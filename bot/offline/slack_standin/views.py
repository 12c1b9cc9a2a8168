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
    trigger_id, user = ws._use_trigger(args, now)
    view = ws._checked_view("views.open", args, "modal", now)
    view_id = ws._new_view_id()
    record = View(view_id, "modal", user, view, ws._new_hash(now), now, view_id, None, trigger_id)
    ws._views[view_id] = record
    ws._modal_stacks[user] = [view_id]
    events.append(view_event(record))
    return {"view": ws._view_json(record)}


def views_push(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.push: a modal on top of the open one."""
    trigger_id, user = ws._use_trigger(args, now)
    view = ws._checked_view("views.push", args, "modal", now)
    stack = ws._modal_stacks.setdefault(user, [])
    if len(stack) >= 3:
        raise ApiError("push_limit_reached")
    view_id = ws._new_view_id()
    root = stack[0] if stack else view_id
    previous = stack[-1] if stack else None
    record = View(view_id, "modal", user, view, ws._new_hash(now), now, root, previous, trigger_id)
    ws._views[view_id] = record
    stack.append(view_id)
    events.append(view_event(record))
    return {"view": ws._view_json(record)}


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
    current = ws._views.get(view_id) if view_id else None
    if current is None and external_id is not None:
        current = next(
            (v for v in ws._views.values() if v.view.get("external_id") == external_id), None
        )
    if current is None:
        raise ApiError("not_found")
    expected = text_arg(args, "hash")
    if expected is not None and expected != current.hash:
        raise ApiError("hash_conflict")
    view = ws._checked_view("views.update", args, current.kind, now)
    updated = replace(
        current,
        view=view,
        hash=ws._new_hash(now),
        at=now,
        versions=[*current.versions, current.view],
    )
    ws._views[current.id] = updated
    events.append(view_event(updated))
    return {"view": ws._view_json(updated)}


def views_publish(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """views.publish: a user's Home tab."""
    user = text_arg(args, "user_id")
    if user is None:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["user_id is required"]})
    if user not in ws._users:
        raise ApiError("user_not_found")
    view = ws._checked_view("views.publish", args, "home", now)
    current = ws._views.get(ws._homes.get(user, ""))
    expected = text_arg(args, "hash")
    if current is not None and expected is not None and expected != current.hash:
        raise ApiError("hash_conflict")
    if current is None:
        view_id = ws._new_view_id()
        record = View(view_id, "home", user, view, ws._new_hash(now), now, view_id)
    else:
        record = replace(
            current,
            view=view,
            hash=ws._new_hash(now),
            at=now,
            versions=[*current.versions, current.view],
        )
    ws._views[record.id] = record
    ws._homes[user] = record.id
    events.append(view_event(record))
    return {"view": ws._view_json(record)}
