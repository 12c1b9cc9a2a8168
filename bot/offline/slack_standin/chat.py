"""The chat.* Web API methods: post, update, delete, ephemeral, permalink."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.offline.slack_standin.blockkit import validate_message
from bot.offline.slack_standin.forms import ApiError, blocks_of, flag, text_arg
from bot.offline.slack_standin.records import (
    Ephemeral,
    Event,
    Message,
    MessageVersion,
    ephemeral_event,
    message_event,
)
from bot.offline.slack_standin.workspace import Workspace


def chat_post_message(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """chat.postMessage: a message (or thread reply) in a channel."""
    channel = ws.writable_channel(args.get("channel"))
    text, blocks = ws.message_content("chat.postMessage", args, channel, now, require_text=True)
    thread_ts = ws.thread_root(channel, text_arg(args, "thread_ts"))
    message = Message(
        channel=channel,
        ts=ws.next_ts(now),
        text=text,
        blocks=blocks,
        user=ws.bot_user_id,
        posted_at=now,
        thread_ts=thread_ts,
        reply_broadcast=thread_ts is not None and flag(args.get("reply_broadcast")),
        attachments=blocks_of(args.get("attachments")),
        metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
        bot_id=ws.bot_id,
    )
    ws.add_message(message)
    events.append(message_event("message", message))
    return {"channel": channel, "ts": message.ts, "message": ws.message_json(message)}


def _own_message(ws: Workspace, args: dict[str, Any], refused: str) -> tuple[str, Message]:
    """The channel and the bot's own message that `args` name (ApiError `refused` if not its)."""
    channel = ws.writable_channel(args.get("channel"))
    ts = text_arg(args, "ts")
    current = ws.find_message(channel, ts) if ts else None
    if current is None:
        raise ApiError("message_not_found")
    if current.user != ws.bot_user_id:
        raise ApiError(refused)
    return channel, current


def chat_update(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """chat.update: replace a message's text and blocks, keeping its history."""
    channel, current = _own_message(ws, args, "cant_update_message")
    text = str(args["text"]) if args.get("text") is not None else current.text
    blocks = args.get("blocks", current.blocks)
    problems = validate_message(text, blocks)
    if problems:
        raise ws.record_violation("chat.update", problems, channel, now, args)
    updated = replace(
        current,
        text=text,
        blocks=blocks_of(blocks),
        attachments=blocks_of(args["attachments"])
        if "attachments" in args
        else current.attachments,
        edits=[*current.edits, MessageVersion(current.text, current.blocks, now)],
    )
    ws.store_message(updated)
    events.append(message_event("message_changed", updated))
    return {
        "channel": channel,
        "ts": updated.ts,
        "text": updated.text,
        "message": ws.message_json(updated),
    }


def chat_delete(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """chat.delete: remove a message."""
    channel, current = _own_message(ws, args, "cant_delete_message")
    ws.remove_message(current)
    events.append(message_event("message_deleted", current))
    return {"channel": channel, "ts": current.ts}


def chat_post_ephemeral(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """chat.postEphemeral: a message only one person sees."""
    channel = ws.writable_channel(args.get("channel"))
    user = text_arg(args, "user")
    if user is None:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["user is required"]})
    if not ws.has_user(user):
        raise ApiError("user_not_found")
    text, blocks = ws.message_content("chat.postEphemeral", args, channel, now, require_text=True)
    ephemeral = Ephemeral(
        channel=channel,
        user=user,
        text=text,
        blocks=blocks,
        message_ts=ws.next_ts(now),
        at=now,
        thread_ts=text_arg(args, "thread_ts"),
    )
    ws.add_ephemeral(ephemeral)
    events.append(ephemeral_event("ephemeral", ephemeral))
    return {"message_ts": ephemeral.message_ts}


def chat_get_permalink(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """chat.getPermalink: a link to a message."""
    channel = ws.existing_channel(args.get("channel"))
    message = ws.existing_message(channel, text_arg(args, "message_ts"), "message_not_found")
    link = f"{ws.url}/archives/{channel}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}
