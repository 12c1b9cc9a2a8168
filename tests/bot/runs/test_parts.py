"""The three parts of RunService on a real SQLite file, with Slack and Deepnote faked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.access import AccessPolicy
from bot.clock import ManualClock
from bot.deepnote.models import Notebook
from bot.errors import DeepnoteServerError, UserError
from bot.ratelimit import ChannelPacer
from bot.runs.deliver import Delivery
from bot.runs.follow import Follower, failure_backoff, poll_interval
from bot.runs.requester import Requester
from bot.runs.start import Starter
from storage.audit import AuditStore
from storage.records import CREATE_FAILED, RunOptions, RunRecord
from storage.results import ResultStore
from storage.runs import LeaseStore, RunStore
from storage.sqlite import SQLiteDatabase
from tests.conftest import run_record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeSlack:
    """Records posts and edits; every post gets the next ts."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        self.updates: list[tuple[str, str]] = []

    def post(self, channel: str, text: str, *_: Any, **__: Any) -> str:
        self.posts.append((channel, text))
        return f"1000.{len(self.posts):04d}"

    def update(self, channel: str, ts: str, *_: Any) -> None:
        self.updates.append((channel, ts))


class RefusingDeepnote:
    """A Deepnote that answers every create with a server error."""

    def create_run(self, _request: Any) -> Any:
        raise DeepnoteServerError("Deepnote is down", status=503)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    db = SQLiteDatabase(tmp_path / "bot.db")
    db.migrate()
    return RunStore(db)


def _run(id_: str, **changes: Any) -> RunRecord:
    return run_record(**{"id": id_, "created_at": T0, **changes})


def _delivery(store: RunStore, slack: FakeSlack, pace: float = 0) -> Delivery:
    return Delivery(
        store=store,
        results=ResultStore(store.db),
        slack=slack,
        clock=ManualClock(T0),
        holder="me",
        pacer=ChannelPacer(pace),
    )


def _follower(store: RunStore, on_finish: Callable[[RunRecord], bool]) -> Follower:
    return Follower(
        store=store,
        results=ResultStore(store.db),
        deepnote=None,
        clock=ManualClock(T0),
        poll_seconds=1.0,
        lost_after_seconds=3600,
        app_url="https://deepnote.com",
        on_finish=on_finish,
    )


def test_new_runs_are_read_often_old_ones_less_and_failures_back_off() -> None:
    assert [poll_interval(age, 2.0) for age in (0, 60, 240, 3600)] == [2.0, 2.0, 4.0, 30.0]
    assert [failure_backoff(n, 1.0) for n in (1, 3, 6, 20)] == [2.0, 8.0, 60.0, 60.0]


@pytest.mark.parametrize(("answer", "announce"), [(True, 1), (False, 0)])
def test_the_finish_hook_decides_whether_a_run_is_announced(
    store: RunStore, answer: bool, announce: int
) -> None:
    store.insert(_run("a", quiet=True))
    store.set_create_failed("a", error="no", now=T0)  # a final status: its follow-up is due
    seen: list[str] = []

    def hook(run: RunRecord) -> bool:
        seen.append(run.id)
        return answer

    follower = _follower(store, hook)
    follower.settle_finished()
    follower.settle_finished()

    assert seen == ["a"]  # once
    (row,) = store.db.query("SELECT announce FROM runs WHERE id = 'a'")
    assert row["announce"] == announce


def test_a_failing_finish_hook_is_retried_next_round(store: RunStore) -> None:
    store.insert(_run("a"))
    store.set_create_failed("a", error="no", now=T0)
    answers: list[Any] = [RuntimeError("schedules are broken"), True]

    def hook(_run: RunRecord) -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    follower = _follower(store, hook)
    follower.settle_finished()
    assert [r.id for r in store.finish_pending()] == ["a"]
    follower.settle_finished()
    assert store.finish_pending() == []


def test_a_card_held_back_by_the_pace_goes_out_in_a_later_round(store: RunStore) -> None:
    slack = FakeSlack()
    monotonic = [0.0]
    delivery = _delivery(store, slack)
    delivery.pacer = ChannelPacer(1.0, monotonic=lambda: monotonic[0])
    store.insert(_run("a"))
    store.queue_card("a")
    assert delivery.pacer.allow("C1")  # another message took the channel's slot

    delivery.deliver_all()
    assert slack.posts == []

    monotonic[0] = 5.0
    delivery.deliver_all()
    assert [channel for channel, _ in slack.posts] == ["C1"]
    posted = store.get("a")
    assert posted is not None
    assert posted.card_ts == "1000.0001"


def test_a_refused_create_is_stored_shown_and_explained(store: RunStore) -> None:
    slack = FakeSlack()
    delivery = _delivery(store, slack)
    starter = Starter(
        store=store,
        deepnote=RefusingDeepnote(),
        delivery=delivery,
        clock=ManualClock(T0),
        poll_seconds=1.0,
        app_url="https://deepnote.com",
        holder="me",
        leases=LeaseStore(store.db),
        access=AccessPolicy(),
        audit=AuditStore(store.db),
    )
    who = Requester(user_id="U1", team_id="T1", channel_id="C1")
    notebook = Notebook(id="nb", name="Sales", project_id="p1")

    with pytest.raises(UserError, match="Deepnote did not start \\*Sales\\*"):
        starter.start(who, notebook, {}, RunOptions())

    (run,) = store.db.query("SELECT id, status, card_ts FROM runs")
    assert run["status"] == CREATE_FAILED
    assert run["card_ts"] == "1000.0001"  # the card was posted first
    assert len(slack.updates) == 1  # and then shows the failure
    assert len(list(store.db.query("SELECT * FROM audit"))) == 1
