"""`--post-outputs` names checked against a notebook: the same names a finished run's outputs
are picked by (checked against a real run of the simulator's Sales report)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.models import Notebook, NotebookBlock, RunRequest
from bot.deepnote.output_names import MAX_BLOCK_READS, check_post_outputs, output_names
from bot.deepnote.snapshot import key_results, parse_snapshot
from bot.errors import UserError
from bot.offline.simulator import SALES_NOTEBOOK_ID, Simulator

KEY = "dn-test-key-outputs-77c1"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    clock = ManualClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    with Simulator(api_key=KEY, clock=clock, pending_seconds=0, running_seconds=0) as simulator:
        yield simulator


def test_every_name_a_run_picks_outputs_by_is_accepted_before_it(sim: Simulator) -> None:
    with DeepnoteClient(base_url=sim.url, api_key=KEY) as client:
        notebook = client.get_notebook(SALES_NOTEBOOK_ID)
        created = client.create_run(RunRequest(SALES_NOTEBOOK_ID, {"region": "Europe"}))
        sim.finish_run(created.run_id)
        snapshot = parse_snapshot(
            client.fetch_snapshot(client.get_run(created.run_id, snapshot_delivery="inline")) or ""
        )
        items = key_results(snapshot, select="all", notebook_id=SALES_NOTEBOOK_ID)
        names = {i.title for i in items} | {i.block_id for i in items}
        assert "Revenue · Europe" in names  # the big number, as the run shows it
        reads: list[str] = []

        def read(block_id: str) -> NotebookBlock:
            reads.append(block_id)
            return client.get_block(block_id)

        check_post_outputs(
            notebook, ",".join(sorted(names)), read_block=read, refused="Nothing was started."
        )
        assert len(reads) == 1  # only the big number's metadata was missing
        for name in names:  # and each one alone picks something in the run
            assert key_results(snapshot, select=name, notebook_id=SALES_NOTEBOOK_ID)


def test_names_of_blocks_without_outputs_are_refused() -> None:
    notebook = Notebook(
        "n",
        "Report",
        blocks=(
            NotebookBlock("h", "text-cell-h1", "Summary"),
            NotebookBlock("i", "input-text", ""),
            NotebookBlock("c", "code", "total = 1\ntotal"),
        ),
    )
    with pytest.raises(UserError) as refused:
        check_post_outputs(notebook, "i,total", read_block=_no_reads, refused="X.")
    assert "*Report* has no output named `i`." in refused.value.message
    assert "Its outputs are named `total`." in refused.value.message
    assert refused.value.hint is not None
    assert refused.value.hint.startswith("X. ")
    assert output_names(notebook).matches("SUMMARY") is False  # a heading alone is no output


def test_too_many_unknown_blocks_let_the_names_through() -> None:
    blocks = tuple(NotebookBlock(f"s{n}", "sql", "select 1") for n in range(MAX_BLOCK_READS + 1))
    notebook = Notebook("n", "Warehouse", blocks=blocks)
    check_post_outputs(notebook, "df_7", read_block=_no_reads, refused="X.")  # not refused


def test_all_and_none_need_no_check() -> None:
    notebook = Notebook("n", "Empty")
    for select in (None, "all", "none", "ALL"):
        check_post_outputs(notebook, select, read_block=_no_reads, refused="X.")


def _no_reads(block_id: str) -> NotebookBlock:
    raise AssertionError(f"no block should be read, got {block_id}")
