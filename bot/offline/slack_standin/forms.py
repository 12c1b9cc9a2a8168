"""Web API arguments as Slack reads them: query strings, forms, JSON and multipart bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from bot.offline.slack_standin.records import JSON_FIELDS


class ApiError(Exception):
    """Ends a Web API method with ok:false."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def parse_args(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Arguments from the query string and a form, multipart or JSON body (the body wins)."""
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    media = content_type.split(";")[0].strip().lower()
    if not body:
        pass
    elif media == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise ApiError("invalid_json") from exc
        if not isinstance(decoded, dict):
            raise ApiError("invalid_json")
        args.update(decoded)
    elif media == "multipart/form-data":
        for name, _filename, content in parse_multipart(content_type, body):
            args[name] = content.decode("utf-8", errors="replace")
    else:
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        args.update({k: v[-1] for k, v in form.items()})
    for name in JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str):
            try:
                args[name] = json.loads(value) if value.strip() else None
            except ValueError as exc:
                raise ApiError(
                    f"invalid_{name}_format" if name == "blocks" else "invalid_arguments"
                ) from exc
    return args


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """The parts of a multipart/form-data body as (field name, filename, bytes)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return []
    parts: list[tuple[str, str | None, bytes]] = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        name, filename = "", None
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for param in line.split(";")[1:]:
                    key, _, value = param.strip().partition("=")
                    if key == "name":
                        name = value.strip('"')
                    elif key == "filename":
                        filename = value.strip('"')
        parts.append((name, filename, content))
    return parts


def text_arg(args: Mapping[str, Any], name: str) -> str | None:
    """The argument as a non-empty string, else None."""
    value = args.get(name)
    if value is None or value == "":
        return None
    return str(value)


def flag(value: object) -> bool:
    """An argument as Slack reads a boolean ("true", "1", True)."""
    return value is True or str(value).lower() in ("true", "1", "yes")


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer` header, else None."""
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def blocks_of(value: object) -> list[dict[str, Any]]:
    """The blocks argument as a list of dicts ([] when absent)."""
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []
