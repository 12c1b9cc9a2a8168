"""auth.test, users.info and the conversations.* Web API methods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.offline.slack_standin.forms import ApiError, text_arg
from bot.offline.slack_standin.records import Event, Message, ts_key
from bot.offline.slack_standin.workspace import Workspace


def auth_test(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """auth.test: who the bot token belongs to."""
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": "Test Workspace",
        "user": "deepnote",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """users.info: one user, with time zone."""
    user = ws.user_info(text_arg(args, "user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user}


def conversations_info(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """conversations.info: one channel."""
    channel = ws.existing_channel(args.get("channel"))
    return {"channel": ws.channel_json(channel, ws.channel_state(channel))}


def conversations_history(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """Top-level messages newest first, after `oldest`; metadata only when asked for."""
    channel = ws.existing_channel(args.get("channel"))
    oldest = float(text_arg(args, "oldest") or 0)
    limit = int(text_arg(args, "limit") or 100)
    with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
    top = [
        m
        for m in ws.all_messages(channel)
        if not m.is_reply and ts_key(m.ts) >= ts_key(f"{oldest:.6f}")
    ]
    top.sort(key=lambda m: ts_key(m.ts), reverse=True)
    return {
        "messages": [history_json(ws, m, with_meta) for m in top[:limit]],
        "has_more": len(top) > limit,
    }


def conversations_replies(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """A thread: its parent first, then the replies oldest first."""
    channel = ws.existing_channel(args.get("channel"))
    ts = text_arg(args, "ts")
    parent = ws.existing_message(channel, ts, "thread_not_found")
    with_meta = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
    thread = [parent, *ws.thread(channel, parent.ts)]
    return {"messages": [history_json(ws, m, with_meta) for m in thread], "has_more": False}


def history_json(ws: Workspace, message: Message, with_metadata: bool) -> dict[str, Any]:
    """A message as conversations.history lists it."""
    shape = ws.message_json(message)
    if not with_metadata:
        shape.pop("metadata", None)
    elif message.metadata:
        shape["metadata"] = message.metadata
    return shape
