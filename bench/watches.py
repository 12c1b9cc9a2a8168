"""`python -m bench.watches [--watches 1,10,50] [--minutes 2] [--json PATH]`: what watching
N notebooks costs in Deepnote requests.

The real bot (`build_app`, in this process) on a manual clock, against the Deepnote simulator
and the Slack stand-in, with the default `WATCH_POLL_SECONDS` (30) and
`POLL_INTERVAL_SECONDS` (1): N notebooks are watched (`/deepnote watch`'s service, which reads
each notebook's run list once for its starting mark), then the clock moves one second per
background round for `--minutes`, with nothing happening, and then one run is started
"elsewhere" (as Deepnote's UI would) in every watched notebook and followed to its card. The
simulator counts every request it receives.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import BOT_TOKEN, DEEPNOTE_KEY, bot_environment, write_notebooks
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_config
from bot.offline.simulator import Simulator
from bot.offline.slack_standin import SlackStandIn
from bot.runs.requester import Requester

CHANNEL = "C0WATCH"
START = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _listings(sim: Simulator) -> int:
    """Run-list requests the simulator has received so far."""
    return sum(1 for r in sim.requests if r.method == "GET" and r.path.endswith("/runs"))


def measure(watches: int, minutes: float, workdir: Path) -> dict[str, Any]:
    """Requests per round and per run found, for `watches` watched notebooks."""
    folder = workdir / f"notebooks-{watches}"
    write_notebooks(folder, watches)
    clock = ManualClock(START)
    with (
        Simulator(api_key=DEEPNOTE_KEY, notebooks_dir=folder, clock=clock) as sim,
        SlackStandIn(bot_token=BOT_TOKEN, clock=clock) as slack,
    ):
        slack.add_channel(CHANNEL, name="watch")
        env = bot_environment(slack, sim, workdir / f"bot-{watches}.db")
        # The bench's rounds take milliseconds of real time: the budget (a real-time limit)
        # is set out of the way, so what is counted is what the bot asks for.
        env.update(SLACK_CHANNEL_PACE_SECONDS="0", DEEPNOTE_REQUESTS_PER_SECOND="1000")
        config = load_config(env)
        bot = build_app(config, clock=clock)
        try:
            who = Requester(user_id="U0ALICE", team_id="T0TEST", channel_id=CHANNEL)
            for notebook in sim.notebooks.values():
                bot.services.watches.create(who, notebook.notebook, notify="always")
            setup = len(sim.requests)
            per_round: list[int] = []
            for _ in range(int(minutes * 60)):
                before = len(sim.requests)
                clock.advance(seconds=1)
                bot.tick()
                per_round.append(len(sim.requests) - before)
            quiet = len(sim.requests) - setup
            for notebook_id in sim.notebooks:
                sim.start_elsewhere(notebook_id, "user")
            before, cards_before = len(sim.requests), len(slack.messages(CHANNEL))
            rounds = 0
            while len(slack.messages(CHANNEL)) - cards_before < watches and rounds < 120:
                clock.advance(seconds=1)
                bot.tick()
                rounds += 1
            found = len(sim.requests) - before
        finally:
            bot.shutdown()
            bot.services.db.close()
    seconds = config.watch_poll_seconds
    return {
        "watches": watches,
        "watch_poll_seconds": seconds,
        "setup_requests": setup,
        "quiet_rounds": len(per_round),
        "quiet_requests": quiet,
        "requests_per_round_mean": quiet / max(1, len(per_round)),
        "requests_per_round_max": max(per_round, default=0),
        "requests_per_second_expected": watches / seconds,
        "runs_found": len(slack.messages(CHANNEL)) - cards_before,
        "rounds_to_post_all": rounds,
        "requests_while_finding": found,
        "listings_total": _listings(sim),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print a table; write the JSON when asked."""
    parser = argparse.ArgumentParser(prog="python -m bench.watches", description=__doc__)
    parser.add_argument("--watches", default="1,10,50", help="numbers of watched notebooks")
    parser.add_argument("--minutes", type=float, default=2.0, help="quiet minutes measured")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.watches.split(",") if n.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-watches-") as tmp:
        for n in counts:
            results.append(measure(n, args.minutes, Path(tmp)))
    print(
        "| watched notebooks | requests per 1 s round, mean / max | requests per second "
        "(expected N / WATCH_POLL_SECONDS) | set-up | one new run in each: requests, rounds "
        "until every card is posted |"
    )
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['watches']} | {r['requests_per_round_mean']:.2f} / "
            f"{r['requests_per_round_max']} | {r['requests_per_round_mean']:.2f} "
            f"({r['requests_per_second_expected']:.2f}) | {r['setup_requests']} | "
            f"{r['requests_while_finding']} for {r['runs_found']} runs, "
            f"{r['rounds_to_post_all']} rounds |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
