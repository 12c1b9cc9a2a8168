"""Runs a stopped process left half-started: after a restart each Deepnote run it did start is
adopted by exactly one row, so each gets its card, and none is left unseen in Deepnote."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.deepnote.models import RunRequest
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from storage.records import CREATING
from tests.conftest import Harness, run_record

CHANNEL = "C0GENERAL"


def _half_started(h: Harness, n: int, notebook: str, inputs: list[dict[str, str]]) -> list[str]:
    """N rows whose create request went out, and the N Deepnote runs it started, as a kill
    between Deepnote's answer and storing it leaves them; the rows' ids."""
    store = h.bot.services.store
    ids = []
    for i in range(n):
        record = run_record(
            id=f"half-{i}",
            notebook_id=notebook,
            notebook_name="Notebook",
            channel_id=CHANNEL,
            team_id="T0TEST",
            user_id="U0ALICE",
            status=CREATING,
            created_at=h.clock.now(),
            inputs=inputs[i],
        )
        store.insert(record)
        store.queue_card(record.id)  # its card waits for the channel's pace
        store.mark_create_started(record.id)
        h.bot.services.deepnote.create_run(RunRequest(notebook, inputs[i]))
        h.clock.advance(seconds=0.2)
        ids.append(record.id)
    return ids


def test_twin_runs_half_started_together_are_each_adopted_once(harness: Harness) -> None:
    h = harness
    ids = _half_started(h, 4, HELLO_NOTEBOOK_ID, [{}] * 4)
    h.clock.advance(seconds=300)
    h.bot.services.runs.starter.recover()
    rows = [h.bot.services.store.get(i) for i in ids]
    adopted = {r.run_id for r in rows if r is not None}
    assert adopted == set(h.deepnote.runs), (adopted, set(h.deepnote.runs))
    h.run_until_finished()
    shown = [json.dumps(m.blocks) for m in h.slack.messages(CHANNEL) if m.thread_ts is None]
    for run in h.deepnote.runs:
        assert sum(run in card for card in shown) == 1, run


def test_runs_with_different_inputs_are_not_guessed(harness: Harness) -> None:
    """Rows that asked for different inputs are not interchangeable: no run is pinned on the
    wrong card; each card tells the person to check in Deepnote."""
    h = harness
    inputs = [{"region": "Europe"}, {"region": "Asia Pacific"}]
    ids = _half_started(h, 2, SALES_NOTEBOOK_ID, inputs)
    h.clock.advance(seconds=300)
    h.bot.services.runs.starter.recover()
    rows = [h.bot.services.store.get(i) for i in ids]
    assert all(r is not None and r.run_id is None for r in rows)
    assert all(r is not None and r.status != CREATING for r in rows)
    h.advance(1)
    cards = [json.dumps(m.blocks) for m in h.slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(cards) == 2, cards
    assert all("cannot tell" in c for c in cards), cards
    assert not any(run in c for c in cards for run in h.deepnote.runs)


def test_a_single_half_started_run_is_adopted(harness: Harness) -> None:
    h = harness
    (row,) = _half_started(h, 1, SALES_NOTEBOOK_ID, [{"region": "Europe"}])
    h.clock.advance(seconds=300)
    h.bot.services.runs.starter.recover()
    got = h.bot.services.store.get(row)
    assert got is not None
    assert got.run_id in h.deepnote.runs
    assert replace(got, run_id=None).status != CREATING
