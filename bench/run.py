"""`python -m bench.run [--quick] [--json PATH]`: measure the bot against the issue's targets.

Runs each scenario with a fresh bot process and fresh fakes, prints a latency table, a cost
table and the targets with PASS/FAIL, and writes everything as JSON (default
bench/results/latest.json). Exit status: 0 when every target that ran passed, 1 otherwise.
See bench/README.md for what each number means and how it is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import busy, cli, find, report, requests, scenarios
from bench.harness import REPO, Options, Session
from bench.profile import summarise_file
from bench.stats import percentile
from bot.offline.pgserver import PostgresServer

Scenario = Callable[[Session], dict[str, Any]]
DEFAULT_PROFILE = "notify-1000"


def plan(quick: bool, seed: int) -> list[tuple[str, Scenario]]:
    """The scenarios of a full run, or the smaller set of `--quick` (no 1,000 in flight)."""
    notify = partial(scenarios.notify, seed=seed)
    if quick:
        return [
            ("ack-1", partial(scenarios.ack, concurrency=1, rounds=4, keepalive=3)),
            ("ack-10", partial(scenarios.ack, concurrency=10, rounds=2)),
            ("ack-50", partial(scenarios.ack, concurrency=50, rounds=2)),
            ("notify-1", partial(notify, in_flight=1, samples=4, mean_gap=0, command_rate=5)),
            ("notify-10", partial(notify, in_flight=10, samples=6, mean_gap=2.0, command_rate=20)),
            ("notify-100", partial(notify, in_flight=100, samples=6, mean_gap=2.0)),
            *_spread((10, 50), seed),
            ("memory-10000", partial(scenarios.memory, runs=10_000, seconds=5)),
            *_busy((1, 10, 50), seed),
            ("find-5000", partial(find.find_bench, rounds=10)),
        ]
    return [
        ("ack-1", partial(scenarios.ack, concurrency=1, rounds=15, keepalive=10)),
        ("ack-10", partial(scenarios.ack, concurrency=10, rounds=6)),
        ("ack-50", partial(scenarios.ack, concurrency=50, rounds=4)),
        ("notify-1", partial(notify, in_flight=1, samples=10, mean_gap=0, command_rate=5)),
        ("notify-10", partial(notify, in_flight=10, samples=20, mean_gap=2.0, command_rate=20)),
        ("notify-100", partial(notify, in_flight=100, samples=30, mean_gap=2.0)),
        ("notify-1000", partial(notify, in_flight=1000, samples=40, mean_gap=2.0)),
        *_spread((10, 50), seed),
        ("memory-10000", partial(scenarios.memory, runs=10_000, seconds=40)),
        *_busy((1, 10, 50, 200), seed),
        ("find-5000", partial(find.find_bench, rounds=30)),
    ]


def _spread(counts: Sequence[int], seed: int) -> list[tuple[str, Scenario]]:
    """Runs over separate channels (`spread-K`), each next to Deepnote's CLI on the same
    notebooks and finish instants (`cli-K`, skipped when the CLI is not installed)."""
    out: list[tuple[str, Scenario]] = []
    for k in counts:
        out.append((f"spread-{k}", partial(requests.spread, runs=k, finish_over=15.0, seed=seed)))
        out.append((f"cli-{k}", partial(cli.cli_baseline, runs=k, finish_over=15.0, seed=seed)))
    # The other end of the trade: a slower poll spends fewer requests per finished run.
    slow = {"POLL_INTERVAL_SECONDS": "10"}
    run_slow = partial(requests.spread, runs=50, finish_over=15.0, seed=seed, settings=slow)
    out.append(("spread-50-poll-10s", run_slow))
    return out


def _busy(counts: Sequence[int], seed: int) -> list[tuple[str, Scenario]]:
    """The busy-channel scenarios: K runs in one channel under Slack's limits."""
    return [(f"busy-{k}", partial(busy.busy_channel, runs=k, seed=seed)) for k in counts]


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the bot (real process, real clock) against local fakes of "
        "Slack and Deepnote; see bench/README.md.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples and no 1,000-in-flight case (< 2 min)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="where to write the results (default: bench/results/latest.json)",
    )
    parser.add_argument(
        "--only", metavar="NAMES", help="comma-separated scenario names, e.g. ack,notify-10"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const=DEFAULT_PROFILE,
        metavar="SCENARIO",
        help=f"afterwards, run SCENARIO (default {DEFAULT_PROFILE}) once more with the bot under "
        "py-spy and summarise its hot spots; raw profile: bench/results/profile-SCENARIO.txt",
    )
    parser.add_argument(
        "--py-spy", default=shutil.which("py-spy"), metavar="PATH", help="the py-spy executable"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed for run choice and timing")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="keep the bot's state in PostgreSQL (a throwaway server from this machine's "
        "PostgreSQL binaries) instead of SQLite; results default to latest-postgres.json",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every target that ran passed, 1 otherwise, 2 on bad usage."""
    args = build_parser().parse_args(argv)
    steps = steps_all = plan(args.quick, args.seed)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {n for n, _ in steps}
        if unknown:
            print(f"unknown scenario(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        steps = [(n, s) for n, s in steps if n in wanted]
    profiled = dict(plan(not args.quick, args.seed) + steps_all).get(args.profile or "")
    if args.profile and profiled is None:
        print(f"--profile: no scenario named {args.profile}", file=sys.stderr)
        return 2
    if args.profile and not args.py_spy:
        print("--profile needs py-spy (pip install py-spy) or --py-spy PATH", file=sys.stderr)
        return 2
    results_dir = REPO / "bench" / "results"
    (results_dir / "logs").mkdir(parents=True, exist_ok=True)
    json_path = args.json or results_dir / (
        "latest-postgres.json" if args.postgres else "latest.json"
    )
    results: dict[str, Any] = {"meta": _meta(args), "scenarios": {}}
    with tempfile.TemporaryDirectory(prefix="deepnote-bench-") as tmp, _database(args) as pg:
        options = Options(
            workdir=Path(tmp),
            py_spy=args.py_spy,
            results_dir=results_dir,
            postgres=pg,
        )
        for name, scenario in steps:
            results["scenarios"][name] = _run_one(name, scenario, options)
        if args.profile and profiled is not None:
            # A separate pass: sampling slows the bot, so its numbers are not the benchmark's.
            path = results_dir / f"profile-{args.profile}.txt"
            run = _run_one(f"{args.profile}-profiled", profiled, options, profile_to=path)
            results["profile"] = {"scenario": args.profile, "run": run}
            if path.exists():
                results["profile"].update(summarise_file(path))
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["startup_seconds"] = _startups(results["scenarios"])
    found = (
        report.checks(results)
        + busy.checks(results["scenarios"])
        + requests.checks(results["scenarios"])
        + find.checks(results["scenarios"])
    )
    results["targets"] = [c.as_dict() for c in found]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(_jsonable(results), indent=2, ensure_ascii=False) + "\n")
    print()
    print(report.latency_table(results))
    print()
    print(report.cost_table(results))
    print()
    if busy.table(results):
        print()
        print(busy.table(results))
    print()
    if find.table(results):
        print()
        print(find.table(results))
    print()
    print(report.checks_table(found))
    spread = requests.requests_table(results)
    if spread:
        print()
        print(spread)
    if "samples" in results.get("profile", {}):
        print()
        print(report.profile_text(results["profile"]))
    load = max(results["meta"]["load_average_at_start"][0], os.getloadavg()[0])
    if load > (os.cpu_count() or 1):
        print(f"\nnote: the machine was busy (1-min load {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"\nresults: {json_path}")
    return 1 if any(c.verdict == "FAIL" for c in found) else 0


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[PostgresServer | None]:
    """With --postgres, a throwaway PostgreSQL server for the whole run."""
    if not args.postgres:
        yield None
        return
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _run_one(
    name: str, scenario: Scenario, options: Options, *, profile_to: Path | None = None
) -> dict[str, Any]:
    print(f"- {name} ...", end=" ", flush=True)
    started = time.monotonic()
    session = Session(name, options, profile_to=profile_to)
    try:
        data = scenario(session)
    except Exception as exc:
        traceback.print_exc()
        data = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        session.close()
    data["bot_log_levels"] = session.log_levels
    log = options.workdir / f"{name}.log"
    if log.exists():
        shutil.copy(log, options.results_dir / "logs" / f"{name}.log")
    print(f"{time.monotonic() - started:.0f} s", flush=True)
    return data


def _startups(found: dict[str, Any]) -> dict[str, Any]:
    """Start-up times of every bot started: to the first /healthz answer and to the first 200."""
    bots = {
        name: s["costs"]["bot"] for name, s in found.items() if isinstance(s.get("costs"), dict)
    }
    out: dict[str, Any] = {"each": bots}
    for key, field in (("ready", "startup_seconds"), ("listening", "listening_seconds")):
        values = [b[field] for b in bots.values() if b.get(field)]
        out[key] = {
            "p50": percentile(values, 50) if values else None,
            "max": max(values) if values else None,
        }
    return out


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seed": args.seed,
        "database": "postgresql" if args.postgres else "sqlite",
        "commit": commit or None,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "layout": "bot in its own process (bench.botproc, HTTP on 127.0.0.1:0, default "
        "settings, system clock); Deepnote simulator and Slack stand-in as threads of the "
        "benchmark process, which also sends the signed slash commands",
    }


def _jsonable(value: Any) -> Any:
    """Infinities and NaNs become strings, since JSON has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
