"""What the Deepnote simulator keeps: requests, runs, faults, and its error answers."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.offline.fakeserver import Reply, json_reply
from bot.offline.simulator.execution import Execution

SOURCES = ("user", "schedule", "api", "ci")
"""Deepnote's `triggeredBy` values: the UI, its scheduler, an API client, CI."""
RUN_STATUSES = ("pending", "running", "success", "error", "internal_error", "stopped")
MAX_BODY = 5 * 1024 * 1024
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_JSON_BODY = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator received. The Authorization header is never kept."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    authorized: bool
    """Whether an Authorization header was sent at all (its value is not recorded)."""
    received: float = field(default_factory=time.monotonic)
    """When it arrived (`time.monotonic()` of this process), for request-rate measurements."""

    def to_json(self) -> dict[str, Any]:
        """The record as `GET /_sim/requests` lists it."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "headers": self.headers,
            "authorized": self.authorized,
        }


@dataclass
class SimRun:
    """A run's state: what was asked, its natural outcome, and any forced override."""

    run_id: str
    notebook_id: str
    project_id: str
    created_at: datetime
    sequence: int
    inputs: dict[str, Any]
    block_ids: tuple[str, ...]
    detached: bool
    storage_mode: str | None
    run_dependents: bool
    execution: Execution
    forced_status: str | None = None
    forced_at: datetime | None = None
    forced_error: str | None = None
    error_forced: bool = False
    snapshot_cache: dict[datetime, str] = field(default_factory=dict)
    triggered_by: str = "api"
    """What started the run, as its snapshot's `execution.triggeredBy` says: `api` for runs
    created through POST /v2/runs; `start_elsewhere` sets user, schedule or ci."""


@dataclass
class SimFault:
    """An injected fault: which requests it hits, how often, and what it does."""

    method: str
    path_prefix: str
    status: int
    message: str
    times: int | None
    retry_after: float | None
    delay: float
    malformed: bool
    reset: bool


def error_reply(status: int, message: str) -> Reply:
    """Deepnote's error answer: `{"message": ...}` with `status`."""
    return json_reply(status, {"message": message})


def s3_error(status: int, code: str, message: str) -> Reply:
    # Presigned URLs live on object storage, which answers in XML, not Deepnote's JSON.
    """Object storage's XML error answer."""
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Reply(status, body.encode(), content_type="application/xml")


def seconds_header(value: float) -> str:
    """Seconds as a header value: whole numbers without a fraction."""
    return str(int(value)) if float(value).is_integer() else format(value, "g")


def normalise_notebook_id(raw: str) -> str | None:
    """Notebook ids are 32 hex chars; the dashed UUID form is accepted too."""
    candidate = raw.lower().replace("-", "")
    return candidate if re.fullmatch(r"[0-9a-f]{32}", candidate) else None


class Problem(Exception):
    """A request Deepnote would refuse; carries the reply to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = error_reply(status, message)
