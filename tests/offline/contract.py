"""The server under test for the Deepnote API contract tests, and helpers to talk to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
import pytest
import yaml

from bot.clock import ManualClock
from bot.offline.simulator import (
    Simulator,
)
from tests.conftest import DATA

KEY = "dn-contract-key-5c1d9e0aSECRET"
VIEWER_KEY = "dn-contract-viewer-1b2cSECRET"
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
DASHED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"[0-9a-f]{32}")
UNKNOWN_RUN = "3b0d7c36-94f1-4c55-8a8e-2f0c6d1e9b77"
REFERENCE_DIR = DATA / "deepnote" / "snapshots"

SALES_HEADER_BLOCK = "170bea8ce1ba05e2deb1ca1cda097a2f"
SALES_TOTALS_BLOCK = "4794c9154c170c4282779cf54ce8bd1a"
SALES_BIG_NUMBER_BLOCK = "7b5e0009938448f7bb9c8426ef3e4e88"
SALES_TABLE_BLOCK = "cab66f0d4e870089b57eab19351cabc6"
SALES_CHART_BLOCK = "ce71a42b85705a0c538db11bf5f1b9ec"
SALES_BLOCKS = (
    SALES_HEADER_BLOCK,
    SALES_TOTALS_BLOCK,
    SALES_BIG_NUMBER_BLOCK,
    SALES_TABLE_BLOCK,
    SALES_CHART_BLOCK,
)
"""The Sales notebook's blocks the contract tests look into, top to bottom."""
QUALITY_CHECK_BLOCK = "748cbc13f6b95ac7e306b16cac383de4"


@cache
def tls() -> Any:
    """One CA bundle load for the whole session instead of one per client."""
    return httpx.create_ssl_context()


@dataclass
class Target:
    """The server under test; `sim` and `clock` only when it runs in this process."""

    url: str
    key: str
    sim: Simulator | None = None
    clock: ManualClock | None = None

    def local(self) -> tuple[Simulator, ManualClock]:
        """The in-process simulator, or skip the test."""
        if self.sim is None or self.clock is None:
            pytest.skip("needs the in-process simulator")
        return self.sim, self.clock


def error_message(response: httpx.Response) -> str:
    """Deepnote's error body: a JSON object whose `message` is a non-empty string."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str)
    assert body["message"]
    message: str = body["message"]
    return message


def start_run(api: httpx.Client, body: dict[str, Any]) -> str:
    """Start a run; its id (202 expected)."""
    response = api.post("/v2/runs", json=body)
    assert response.status_code == 202, response.text
    run_id: str = response.json()["runId"]
    return run_id


def finished_run(
    api: httpx.Client, target: Target, body: dict[str, Any], delivery: str = "inline"
) -> dict[str, Any]:
    """A run started and read once the in-process clock has moved past its end."""
    _, clock = target.local()
    run_id = start_run(api, body)
    clock.advance(seconds=10)
    response = api.get(f"/v2/runs/{run_id}", params={"snapshotDelivery": delivery})
    assert response.status_code == 200
    run: dict[str, Any] = response.json()["run"]
    return run


def snapshot_blocks(snapshot_yaml: str) -> dict[str, dict[str, Any]]:
    """The blocks of a snapshot by id."""
    document = yaml.safe_load(snapshot_yaml)
    return {b["id"]: b for nb in document["project"]["notebooks"] for b in nb["blocks"]}
