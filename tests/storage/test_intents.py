"""The intents store: acknowledged slash commands until their work is done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.intents import KEEP, Intent, IntentStore

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _intent(intent_id: str, *, holder: str = "p1", at: datetime = NOW) -> Intent:
    return Intent(
        id=intent_id,
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        thread_ts=None,
        text="run sales region=<!channel>",
        response_url="https://hooks.example/r1",
        holder=holder,
        received_at=at,
    )


@pytest.fixture
def store(open_db: Callable[[], Database]) -> IntentStore:
    db = open_db()
    db.migrate()
    return IntentStore(db)


def test_a_stored_command_reads_back_as_given(store: IntentStore) -> None:
    store.add(_intent("i1"))
    assert store.get("i1") == _intent("i1")
    assert store.get("missing") is None


def test_unfinished_lists_open_commands_oldest_first(store: IntentStore) -> None:
    store.add(_intent("late", at=NOW + timedelta(seconds=1)))
    store.add(_intent("early"))
    store.add(_intent("done"))
    store.done("done", "finished", now=NOW)
    assert [i.id for i in store.unfinished()] == ["early", "late"]


def test_done_keeps_the_outcome_and_forgets_the_response_url(store: IntentStore) -> None:
    store.add(_intent("i1"))
    store.done("i1", "explained", now=NOW)
    store.done("i1", "finished", now=NOW + timedelta(seconds=5))  # the first outcome stays
    got = store.get("i1")
    assert got is not None
    assert (got.outcome, got.done_at, got.response_url) == ("explained", NOW, None)


def test_only_one_process_takes_over_a_command(store: IntentStore) -> None:
    store.add(_intent("i1", holder="dead"))
    assert store.take_over("i1", "dead", "p2")
    assert not store.take_over("i1", "dead", "p3")
    store.done("i1", "finished", now=NOW)
    assert not store.take_over("i1", "p2", "p3")
    got = store.get("i1")
    assert got is not None
    assert got.holder == "p2"


def test_prune_removes_only_old_finished_commands(store: IntentStore) -> None:
    for name in ("old", "recent", "open"):
        store.add(_intent(name))
    store.done("old", "finished", now=NOW - KEEP - timedelta(seconds=1))
    store.done("recent", "finished", now=NOW)
    store.prune(now=NOW)
    assert store.get("old") is None
    assert store.get("recent") is not None
    assert store.get("open") is not None


def test_an_id_is_stored_once(store: IntentStore) -> None:
    """A second request with a stored id (Slack's retry of an event) is not stored again."""
    assert store.add(_intent("i1")) is True
    assert store.add(replace(_intent("i1"), text="something else")) is False
    got = store.get("i1")
    assert got is not None
    assert got.text == _intent("i1").text
    assert len(store.unfinished()) == 1


def test_a_payload_is_kept_until_done(store: IntentStore) -> None:
    store.add(replace(_intent("c1"), kind="click", payload='{"actions": []}'))
    got = store.get("c1")
    assert got is not None
    assert (got.kind, got.payload) == ("click", '{"actions": []}')
    store.done("c1", "finished", now=NOW)
    got = store.get("c1")
    assert got is not None
    assert got.payload is None


def test_started_is_noted_once(store: IntentStore) -> None:
    store.add(_intent("i1"))
    store.started("i1", now=NOW)
    store.started("i1", now=NOW + timedelta(seconds=3))
    got = store.get("i1")
    assert got is not None
    assert got.started_at == NOW
