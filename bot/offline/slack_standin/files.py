"""The files.* Web API methods of the external upload flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.offline.slack_standin.blockkit import validate_blocks
from bot.offline.slack_standin.forms import ApiError, text_arg
from bot.offline.slack_standin.records import Event, FileShare, Upload
from bot.offline.slack_standin.workspace import Workspace


def files_get_upload_url(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """files.getUploadURLExternal: an upload URL for one file."""
    filename = text_arg(args, "filename")
    length = text_arg(args, "length")
    if filename is None or length is None or not length.isdigit():
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["filename and a numeric length are required"]},
        )
    file_id = ws.new_upload(filename, int(length))
    return {"upload_url": f"{ws.url}/upload/{file_id}", "file_id": file_id}


def files_complete_upload(
    ws: Workspace, args: dict[str, Any], now: datetime, events: list[Event]
) -> dict[str, Any]:
    """files.completeUploadExternal: share uploaded files in a channel."""
    entries = args.get("files")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["files is required"]})
    channels: list[str | None] = []
    if text_arg(args, "channel_id"):
        channels.append(ws.writable_channel(args["channel_id"]))
    for name in str(args.get("channels") or "").split(","):
        if name.strip():
            channels.append(ws.writable_channel(name.strip()))
    if args.get("blocks") is not None:
        problems = validate_blocks(args["blocks"])
        if problems:
            raise ws.record_violation(
                "files.completeUploadExternal",
                problems,
                channels[0] if channels else None,
                now,
                args,
            )
    thread_ts = text_arg(args, "thread_ts")
    if thread_ts is not None and not channels:
        raise ApiError(
            "invalid_arguments", response_metadata={"messages": ["thread_ts needs a channel"]}
        )
    uploads: list[tuple[Upload, str]] = []
    for entry in entries:
        upload = ws.find_upload(str(entry.get("id"))) if isinstance(entry, dict) else None
        if upload is None or upload.content is None:
            raise ApiError("file_not_found")
        title = entry.get("title") or upload.filename
        uploads.append((upload, str(title)))
    comment = text_arg(args, "initial_comment")
    answer = [
        _share(ws, upload, title, channels, thread_ts, comment, now, events)
        for upload, title in uploads
    ]
    return {"files": answer}


def _share(
    ws: Workspace,
    upload: Upload,
    title: str,
    channels: list[str | None],
    thread_ts: str | None,
    comment: str | None,
    now: datetime,
    events: list[Event],
) -> dict[str, Any]:
    """Share one uploaded file in each channel (or nowhere); the file as the answer lists it."""
    shares: dict[str, list[dict[str, str]]] = {}
    for channel in channels or [None]:
        root = ws.thread_root(channel, thread_ts) if channel else None
        share = FileShare(
            file_id=upload.file_id,
            filename=upload.filename,
            title=title,
            content=upload.content or b"",
            channel=channel,
            thread_ts=root,
            initial_comment=comment,
            ts=ws.next_ts(now),
            at=now,
        )
        ws.add_file(share)
        events.append(
            Event("file", channel, ws.bot_user_id, share.ts, root, comment or title, "api", share)
        )
        if channel is not None:
            where = {"ts": share.ts, **({"thread_ts": root} if root else {})}
            shares.setdefault(channel, []).append(where)
    return {
        "id": upload.file_id,
        "name": upload.filename,
        "title": title,
        "size": len(upload.content or b""),
        "permalink": f"{ws.url}/files/{ws.bot_user_id}/{upload.file_id}",
        "shares": {"public": shares} if shares else {},
    }
