"""Snapshots to test with: the reference files, and snapshots built from block dicts."""

from __future__ import annotations

from typing import Any

import yaml

from bot.deepnote.snapshot import (
    Snapshot,
    parse_snapshot,
)
from tests.conftest import DATA

SNAPSHOTS = DATA / "deepnote" / "snapshots"
SHOWCASE = "snapshot-showcase.snapshot.deepnote"
HELLO = "hello-world_18aaab73-3599-4bb5-b2ab-c05ac09f597d_latest.snapshot.deepnote"
BLOCKS = "deepnote-blocks_d025b1dd-0ea7-49e8-8229-b571dd98d430_latest.snapshot.deepnote"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load(name: str) -> Snapshot:
    snapshot = parse_snapshot((SNAPSHOTS / name).read_text(encoding="utf-8"))
    assert snapshot is not None
    return snapshot


def raw(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((SNAPSHOTS / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def snapshot_of(*blocks: dict[str, Any], execution: dict[str, Any] | None = None) -> Snapshot:
    """A snapshot built from block dicts, through YAML like a real one."""
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "project": {
            "id": "p1",
            "name": "P",
            "notebooks": [{"id": "n1", "name": "NB", "blocks": list(blocks)}],
        },
    }
    if execution is not None:
        doc["execution"] = execution
    parsed = parse_snapshot(yaml.safe_dump(doc, allow_unicode=True))
    assert parsed is not None
    return parsed
