"""Key results of finished runs, kept until they are posted in the run's thread."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any

from storage import records
from storage.db import Database

_KINDS: dict[str, type[Any]] = {
    "text": records.TextResult,
    "big_number": records.BigNumberResult,
    "table": records.TableResult,
    "image": records.ImageResult,
    "chart": records.ChartResult,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def encode(item: records.ResultItem) -> str:
    """A result as JSON text (image bytes as base64)."""
    data = asdict(item)
    if isinstance(item, records.ImageResult):
        data["data"] = base64.b64encode(item.data).decode("ascii")
    return json.dumps({"kind": _KIND_OF[type(item)], **data})


def decode(text: str) -> records.ResultItem:
    """The inverse of `encode`."""
    data = json.loads(text)
    cls = _KINDS[data.pop("kind")]
    if cls is records.ImageResult:
        data["data"] = base64.b64decode(data["data"])
    if cls is records.TableResult:
        data["columns"] = tuple(data["columns"])
        data["rows"] = tuple(tuple(r) for r in data["rows"])
    item: records.ResultItem = cls(**data)
    return item


class ResultStore:
    """The `run_results` table: one row per key result, with whether its file was posted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, run_key: str, items: list[records.ResultItem]) -> None:
        """Replace a run's results."""
        with self.db.write() as tx:
            tx.execute("DELETE FROM run_results WHERE run = ?", (run_key,))
            for position, item in enumerate(items):
                tx.execute(
                    "INSERT INTO run_results (run, position, payload, posted) VALUES (?, ?, ?, 0)",
                    (run_key, position, encode(item)),
                )

    def load(self, run_key: str) -> list[records.ResultItem]:
        """A run's results, in order."""
        rows = self.db.query(
            "SELECT payload FROM run_results WHERE run = ? ORDER BY position", (run_key,)
        )
        return [decode(r["payload"]) for r in rows]

    def unposted_files(self, run_key: str) -> list[tuple[int, records.ResultItem]]:
        """Results that become files in the thread (images, charts) and are not posted yet."""
        rows = self.db.query(
            "SELECT position, payload FROM run_results WHERE run = ? AND posted = 0"
            " ORDER BY position",
            (run_key,),
        )
        items = [(int(r["position"]), decode(r["payload"])) for r in rows]
        return [
            (p, i) for p, i in items if isinstance(i, records.ImageResult | records.ChartResult)
        ]

    def mark_posted(self, run_key: str, position: int) -> None:
        """One file is in the thread; never post it again."""
        self.db.execute_write(
            "UPDATE run_results SET posted = 1 WHERE run = ? AND position = ?",
            (run_key, position),
        )
