"""POSTs to a response_url: post, replace or delete the original message."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from bot.offline.fakeserver import Reply, json_reply
from bot.offline.slack_standin.blockkit import validate_message
from bot.offline.slack_standin.forms import blocks_of, flag, text_arg
from bot.offline.slack_standin.records import (
    RESPONSE_URL,
    Ephemeral,
    Event,
    Message,
    MessageVersion,
    ResponseUrl,
    ephemeral_event,
    message_event,
)
from bot.offline.slack_standin.workspace import Workspace


def respond(
    ws: Workspace, record: ResponseUrl, payload: dict[str, Any], now: datetime, events: list[Event]
) -> Reply:
    """A POST to a response_url: a new message, or the original replaced or deleted."""
    text = str(payload.get("text") or "")
    blocks = payload.get("blocks")
    if not flag(payload.get("delete_original")):
        problems = validate_message(text, blocks)
        if problems:
            ws.record_violation(RESPONSE_URL, problems, record.channel, now, payload)
            return json_reply(400, {"ok": False, "error": "invalid_blocks", "errors": problems})
    if ws.channel_state(record.channel).deleted:
        return json_reply(404, {"ok": False, "error": "channel_not_found"})
    record.uses += 1
    original = record.original
    if flag(payload.get("delete_original")) and original is not None:
        delete_original(ws, record, original, events)
        record.original = None
    elif flag(payload.get("replace_original")) and original is not None:
        replace_original(ws, record, original, text, blocks_of(blocks), now, events)
    elif payload.get("response_type") == "in_channel":
        thread_ts = ws.thread_root(record.channel, text_arg(payload, "thread_ts"))
        message = Message(
            channel=record.channel,
            ts=ws.next_ts(now),
            text=text,
            blocks=blocks_of(blocks),
            user=ws.bot_user_id,
            posted_at=now,
            thread_ts=thread_ts,
            bot_id=ws.bot_id,
            via=RESPONSE_URL,
        )
        ws.add_message(message)
        events.append(message_event("message", message))
        record.original = record.original or ("message", message.ts)
    else:
        ephemeral = Ephemeral(
            channel=record.channel,
            user=record.user,
            text=text,
            blocks=blocks_of(blocks),
            message_ts=ws.next_ts(now),
            at=now,
            thread_ts=text_arg(payload, "thread_ts"),
            via=RESPONSE_URL,
        )
        ws.add_ephemeral(ephemeral)
        events.append(ephemeral_event("ephemeral", ephemeral))
        record.original = record.original or ("ephemeral", ephemeral.message_ts)
    return json_reply(200, {"ok": True})


def delete_original(
    ws: Workspace,
    record: ResponseUrl,
    original: tuple[Literal["message", "ephemeral"], str],
    events: list[Event],
) -> None:
    """Delete the message the response_url came from."""
    kind, ts = original
    if kind == "message":
        message = ws.find_message(record.channel, ts)
        if message is not None:
            ws.remove_message(message)
            events.append(message_event("message_deleted", message, via=RESPONSE_URL))
        return
    gone = ws.find_ephemeral(ts)
    if gone is not None:
        events.append(ephemeral_event("ephemeral_deleted", gone, via=RESPONSE_URL))


def replace_original(
    ws: Workspace,
    record: ResponseUrl,
    original: tuple[Literal["message", "ephemeral"], str],
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime,
    events: list[Event],
) -> None:
    """Replace the message the response_url came from."""
    kind, ts = original
    if kind == "message":
        current = ws.find_message(record.channel, ts)
        if current is not None:
            updated = replace(
                current,
                text=text,
                blocks=blocks,
                edits=[*current.edits, MessageVersion(current.text, current.blocks, now)],
            )
            ws.store_message(updated)
            events.append(message_event("message_changed", updated, via=RESPONSE_URL))
        return
    previous = ws.find_ephemeral(ts)
    ephemeral = Ephemeral(
        channel=record.channel,
        user=record.user,
        text=text,
        blocks=blocks,
        message_ts=ws.next_ts(now),
        at=now,
        thread_ts=previous.thread_ts if previous else None,
        via=RESPONSE_URL,
        replaces=ts,
    )
    ws.add_ephemeral(ephemeral)
    record.original = ("ephemeral", ephemeral.message_ts)
    events.append(ephemeral_event("ephemeral", ephemeral))
