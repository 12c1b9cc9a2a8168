"""`cli-10`, `cli-50`: Deepnote's own CLI on the same simulator, the baseline of `spread-*`.

`deepnote run --cloud --notebook-id <id>` (the `deepnote-cli` package on PyPI, Apache-2.0;
`pip install -e '.[bench]'`) starts a run and reads it (`GET /v2/runs/{id}?snapshotDelivery=
inline`) until it ends, then writes the snapshot and exits. One process per run, as a team
scripting it would: the scenario starts them at the rate `spread-*` sends its commands, over
the same notebooks, lets them settle, finishes every run at the same random instants as
`spread-*` (same seed), and measures from each finish until its process said the run
completed. Deepnote requests are counted over the same window. No bot runs here.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import DEEPNOTE_KEY, Session, endpoint
from bench.stats import summary

COMMAND_RATE = 10.0  # processes started per second, as spread-* sends its commands
SETTLE_SECONDS = 3.0
DONE = re.compile(r"Run ([0-9a-f-]{36}) completed")
INSTALL = "pip install -e '.[bench]' (the deepnote-cli package), or set DEEPNOTE_CLI"


def cli_path() -> str | None:
    """The `deepnote` executable: $DEEPNOTE_CLI, else the one on PATH."""
    return os.environ.get("DEEPNOTE_CLI") or shutil.which("deepnote")


class _CliRun(threading.Thread):
    """One `deepnote run --cloud` process; notes when it printed that its run completed."""

    def __init__(self, cli: str, url: str, notebook_id: str, out: Path) -> None:
        super().__init__(daemon=True)
        self.command = [
            cli,
            "run",
            "--cloud",
            "--notebook-id",
            notebook_id,
            "--url",
            url,
            "--out",
            str(out),
            "--no-color",
        ]
        self.run_id: str | None = None
        self.done_at: datetime | None = None
        self.output: list[str] = []

    def run(self) -> None:
        env = {**os.environ, "DEEPNOTE_TOKEN": DEEPNOTE_KEY, "NO_COLOR": "1"}
        with subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip())
                found = DONE.search(line)
                if found and self.done_at is None:
                    self.done_at = datetime.now(UTC)
                    self.run_id = found.group(1)


def cli_baseline(
    session: Session, *, runs: int, finish_over: float, seed: int = 7
) -> dict[str, Any]:
    """`runs` CLI processes, their runs finished within `finish_over` s like `spread-*`'s."""
    cli = cli_path()
    if cli is None:
        return {"skipped": f"no deepnote CLI: {INSTALL}"}
    session.start_fakes(notebooks=max(1, runs // 10))
    sim, ids = session.sim, session.notebook_ids
    folder = session.options.workdir / f"{session.name}-snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    processes = []
    began = time.monotonic()
    for i in range(runs):
        time.sleep(max(0.0, began + i / COMMAND_RATE - time.monotonic()))
        process = _CliRun(cli, sim.url, ids[i % len(ids)], folder / f"{i}.snapshot.deepnote")
        process.start()
        processes.append(process)
    deadline = time.monotonic() + 60
    while len(sim.runs) < runs and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(SETTLE_SECONDS)
    rng = random.Random(seed)
    order = sorted(sim.runs)
    rng.shuffle(order)
    offsets = sorted(rng.uniform(0.0, finish_over) for _ in order)
    before = len(sim.requests)
    finished: dict[str, datetime] = {}
    started = time.monotonic()
    for run_id, offset in zip(order, offsets, strict=True):
        time.sleep(max(0.0, started + offset - time.monotonic()))
        sim.finish_run(run_id, "success")
        at = sim.runs[run_id].forced_at
        assert at is not None
        finished[run_id] = at
    for process in processes:
        process.join(timeout=max(1.0, finish_over + 30 - (time.monotonic() - started)))
    window = sim.requests[before:]
    done = {p.run_id: p.done_at for p in processes if p.run_id and p.done_at}
    latencies = [(done[r] - at).total_seconds() for r, at in finished.items() if r in done]
    missing = [p.output[-3:] for p in processes if p.run_id is None]
    return {
        "runs": runs,
        "cli": cli,
        "finish_over_seconds": finish_over,
        "finished": len(finished),
        "deepnote_requests_while_finishing": len(window),
        "deepnote_per_finished_run": round(len(window) / max(len(finished), 1), 2),
        "by_endpoint_while_finishing": dict(
            Counter(endpoint(r.method, r.path) for r in window).most_common()
        ),
        "reply_seconds": summary(latencies, missing=len(finished) - len(latencies)),
        "not_completed_output": missing[:3],
    }
