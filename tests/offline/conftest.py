"""Fixtures of the offline fakes' tests: a Slack stand-in, and the server under test of the
Deepnote API contract tests with clients for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from bot.clock import ManualClock
from bot.offline.simulator import (
    Simulator,
)
from bot.offline.slack_standin import SlackStandIn
from tests.offline.contract import KEY, START, VIEWER_KEY, Target, tls


@pytest.fixture
def target() -> Iterator[Target]:
    url, key = os.environ.get("DEEPNOTE_CONTRACT_URL"), os.environ.get("DEEPNOTE_CONTRACT_KEY")
    if url and key:
        yield Target(url.rstrip("/"), key)
        return
    clock = ManualClock(START)
    with Simulator(api_key=KEY, clock=clock, viewer_api_key=VIEWER_KEY) as sim:
        yield Target(sim.url, KEY, sim, clock)


@pytest.fixture
def api(target: Target) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {target.key}"}
    with httpx.Client(base_url=target.url, headers=headers, timeout=10, verify=tls()) as client:
        yield client


@pytest.fixture
def anonymous(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, timeout=10, verify=tls()) as client:
        yield client


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin
