"""`python -m bench.rounds [--runs 100,1000] [--rounds 10] [--json PATH]`: database round trips
per background round, SQLite next to PostgreSQL.

The real bot (`build_app`, in this process) follows N pending runs seeded into its database
(as after a restart), against the Deepnote simulator and the Slack stand-in. Its database is
the real engine wrapped so that every statement and every write transaction is counted. It
runs one background round a second, as `POLL_INTERVAL_SECONDS=1` would: first `--rounds`
steady rounds (nothing changes), then 3 rounds in which 10 runs finish (status reads, card
edits, thread replies). PostgreSQL runs on a throwaway local server (bot/offline/pgserver.py);
without the binaries only SQLite is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import BOT_TOKEN, DEEPNOTE_KEY, FOREVER, REPO, bot_environment, write_notebooks
from bench.seed import create_runs
from bench.stats import percentile
from bot.app import build_app
from bot.config import load_config
from bot.offline.pgserver import PostgresServer
from bot.offline.simulator import Simulator
from bot.offline.slack_standin import SlackStandIn
from storage.db import Database, Session
from storage.postgres import PostgresDatabase
from storage.records import RunRecord
from storage.runs import RunStore
from storage.sqlite import SQLiteDatabase

PER_NOTEBOOK = 10
FINISHING = 10


@dataclass
class Counts:
    """Statements and write transactions so far."""

    statements: int = 0
    writes: int = 0


class _Counted(Session):
    """A session that counts each statement it sends."""

    def __init__(self, inner: Session, counts: Counts) -> None:
        super().__init__(inner._conn, inner.dialect)
        self._counts = counts

    def execute(self, sql: str, params: Any = ()) -> int:
        self._counts.statements += 1
        return super().execute(sql, params)

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        self._counts.statements += 1
        return super().query(sql, params)


class _Counting:
    """Mixed into an engine class: its sessions count statements, `write` counts itself."""

    counts: Counts

    @contextmanager
    def session(self) -> Iterator[Session]:
        with super().session() as s:  # type: ignore[misc]
            yield _Counted(s, self.counts)

    @contextmanager
    def write(self) -> Iterator[Session]:
        self.counts.writes += 1
        with super().write() as s:  # type: ignore[misc]
            yield _Counted(s, self.counts)


class CountedSQLite(_Counting, SQLiteDatabase):
    """SQLite, counted."""


class CountedPostgres(_Counting, PostgresDatabase):
    """PostgreSQL, counted."""


def _seed(db: Database, sim: Simulator, runs: int) -> list[str]:
    """`runs` pending runs in the simulator and in the bot's database (cards up to date)."""
    ids = sorted(sim.notebooks)
    notebooks = [ids[i % len(ids)] for i in range(runs)]
    run_ids = create_runs(sim.url, DEEPNOTE_KEY, notebooks)
    store = RunStore(db)
    created = datetime.now(UTC)
    for i, (run_id, notebook) in enumerate(zip(run_ids, notebooks, strict=True)):
        record = RunRecord(
            id=uuid.uuid4().hex,
            notebook_id=notebook,
            notebook_name=sim.notebooks[notebook].name,
            user_id="U0ALICE",
            team_id="T0TEST",
            channel_id=f"C{i % 100:08d}",
            status="pending",
            created_at=created,
            run_id=run_id,
            card_ts=f"1700000000.{i:06d}",
            started_at=created,
        )
        store.insert(record)
        store.card_done(record.id, "pending")
    return run_ids


def measure(target: str, engine: str, runs: int, rounds: int, workdir: Path) -> dict[str, Any]:
    """Round trips per round for `runs` runs in flight on one engine."""
    folder = workdir / f"notebooks-{runs}"
    if not folder.exists():
        write_notebooks(folder, max(1, runs // PER_NOTEBOOK))
    with (
        Simulator(api_key=DEEPNOTE_KEY, pending_seconds=FOREVER, notebooks_dir=folder) as sim,
        SlackStandIn(bot_token=BOT_TOKEN) as slack,
    ):
        env = bot_environment(slack, sim, target)
        env.update(SLACK_CHANNEL_PACE_SECONDS="0", DEEPNOTE_REQUESTS_PER_SECOND="1000")
        config = load_config(env)
        db: CountedSQLite | CountedPostgres = (
            CountedPostgres(target) if engine == "postgresql" else CountedSQLite(target)
        )
        db.counts = Counts()
        db.migrate()
        run_ids = _seed(db, sim, runs)
        counts = db.counts = Counts()  # only the rounds count
        bot = build_app(config, db=db)
        try:
            steady = _rounds(bot, counts, rounds)
            for run_id in run_ids[:FINISHING]:
                sim.finish_run(run_id, "success")
            finishing = _rounds(bot, counts, 3)
            held = bot.services.store.open_count()
        finally:
            bot.shutdown()
            db.close()
    return {
        "engine": engine,
        "runs_in_flight": runs,
        "held_after": held,
        "steady": steady,
        "with_10_finishing": finishing,
    }


def _rounds(bot: Any, counts: Counts, rounds: int) -> dict[str, Any]:
    statements, writes, seconds = [], [], []
    for _ in range(rounds):
        began = time.monotonic()
        before = (counts.statements, counts.writes)
        bot.tick()
        took = time.monotonic() - began
        statements.append(counts.statements - before[0])
        writes.append(counts.writes - before[1])
        seconds.append(took)
        time.sleep(max(0.0, 1.0 - took))
    return {
        "statements_per_round_mean": round(sum(statements) / rounds, 1),
        "statements_per_round_max": max(statements),
        "write_transactions_per_round_mean": round(sum(writes) / rounds, 1),
        "round_seconds_p50": round(percentile(seconds, 50), 4),
        "round_seconds_max": round(max(seconds), 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure both engines; print a table and write JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.rounds", description=__doc__)
    parser.add_argument("--runs", default="100,1000", help="runs in flight, comma-separated")
    parser.add_argument("--rounds", type=int, default=10, help="steady rounds measured")
    parser.add_argument(
        "--json", type=Path, default=REPO / "bench" / "results" / "rounds.json", metavar="PATH"
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.runs.split(",") if n.strip()]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="deepnote-rounds-") as tmp:
        workdir = Path(tmp)
        try:
            server: PostgresServer | None = PostgresServer()
            server.start()
        except RuntimeError as exc:
            print(f"PostgreSQL not measured: {exc}", file=sys.stderr)
            server = None
        try:
            for runs in sizes:
                sqlite_file = str(workdir / f"rounds-{runs}.db")
                results.append(measure(sqlite_file, "sqlite", runs, args.rounds, workdir))
                if server is not None:
                    url = server.create_database()
                    results.append(measure(url, "postgresql", runs, args.rounds, workdir))
        finally:
            if server is not None:
                server.stop()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"\nresults: {args.json}")
    return 0


def _table(results: list[dict[str, Any]]) -> str:
    head = (
        "| engine | runs in flight | held | statements/round (mean, max) | writes/round |"
        " round p50 | rounds with 10 finishing: statements, writes, p50 |"
    )
    lines = [head, "|" + "---|" * 7]
    for r in results:
        s, f = r["steady"], r["with_10_finishing"]
        lines.append(
            f"| {r['engine']} | {r['runs_in_flight']} | {r['held_after']} |"
            f" {s['statements_per_round_mean']}, {s['statements_per_round_max']} |"
            f" {s['write_transactions_per_round_mean']} | {s['round_seconds_p50'] * 1000:.1f} ms |"
            f" {f['statements_per_round_mean']}, {f['write_transactions_per_round_mean']},"
            f" {f['round_seconds_p50'] * 1000:.1f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
