"""Rows of the database as records: times stored as ISO text, lists and maps as JSON.

>>> from dataclasses import dataclass
>>> @dataclass
... class Seen:
...     at: datetime
...     tags: tuple[str, ...]
...     done: bool
>>> record_reader(Seen)({"at": "2026-01-01T09:00:00+00:00", "tags": '["a"]', "done": 1, "x": 0})
Seen(at=datetime.datetime(2026, 1, 1, 9, 0, tzinfo=datetime.timezone.utc), tags=('a',), done=True)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar, get_origin, get_type_hints

R = TypeVar("R")


def iso(when: datetime | None) -> str | None:
    """A datetime as the ISO text stored in the database (UTC, sortable)."""
    return None if when is None else when.isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    """The inverse of `iso`."""
    return None if not text else datetime.fromisoformat(text)


def record_reader(cls: type[R]) -> Callable[[Mapping[str, Any]], R]:
    """A function that builds a `cls` record from a row, each field read by its annotation."""
    readers = {name: _reader(hint) for name, hint in get_type_hints(cls).items()}

    def read(row: Mapping[str, Any]) -> R:
        return cls(**{name: read_field(row[name]) for name, read_field in readers.items()})

    return read


def _required_time(text: str | None) -> datetime:
    when = from_iso(text)
    assert when is not None
    return when


def _json_object(text: str | None) -> Any:
    return json.loads(text or "{}")


def _json_list(text: str | None) -> Any:
    return json.loads(text or "[]")


def _json_tuple(text: str | None) -> tuple[Any, ...]:
    return tuple(_json_list(text))


def _as_is(value: Any) -> Any:
    return value


# Columns hold text, numbers and NULL: these field types need converting, the rest do not.
_BY_ORIGIN: dict[Any, Callable[[Any], Any]] = {
    dict: _json_object,
    list: _json_list,
    tuple: _json_tuple,
}


def _reader(hint: Any) -> Callable[[Any], Any]:
    if hint is datetime:
        return _required_time
    if hint == datetime | None:
        return from_iso
    if hint is bool or hint is int:
        return hint
    return _BY_ORIGIN.get(get_origin(hint), _as_is)
