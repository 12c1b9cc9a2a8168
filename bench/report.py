"""The targets of the performance issue, and the tables printed at the end of a run.

Everything here is a pure function of the results dictionary that `bench.run` writes as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

ACK_LEVELS = (1, 10, 50)
NOTIFY_LEVELS = (1, 10, 100, 1000)
DEEPNOTE_BUDGET_PER_SECOND = 10
RSS_LIMIT_MB = 200.0
STARTUP_LIMIT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    """One target line: what is measured, the limit, and the verdict."""

    label: str
    measured: str
    target: str
    verdict: str

    def as_dict(self) -> dict[str, str]:
        """The check as JSON."""
        return asdict(self)


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _check(
    label: str, value: float | None, target: str, ok: Callable[[float], bool], unit: str
) -> Check:
    if value is None:
        return Check(label, "not run", target, "SKIP")
    shown = "never (missing)" if math.isinf(value) else f"{value:.3g} {unit}".strip()
    return Check(label, shown, target, "PASS" if ok(value) else "FAIL")


def checks(results: dict[str, Any]) -> list[Check]:
    """Every target of the issue, judged against the measurements."""
    scenarios = results.get("scenarios", {})
    return [
        *_latency_checks(scenarios),
        *_pacing_checks(scenarios),
        *_resource_checks(results, scenarios),
    ]


def _latency_checks(scenarios: dict[str, Any]) -> list[Check]:
    """How fast the bot acknowledges commands and notifies of finished runs."""
    out = [
        _check(
            "ack p99, 50 concurrent, Deepnote answering after 2 s",
            _get(scenarios, "ack-50", "ms", "p99"),
            "< 100 ms",
            lambda v: v < 100,
            "ms",
        )
    ]
    for n in (1, 10):
        stats = _get(scenarios, f"notify-{n}", "notify_seconds") or {}
        out.append(
            _check(
                f"notification p50, {n} in flight",
                stats.get("p50"),
                "< 1.5 s",
                lambda v: v < 1.5,
                "s",
            )
        )
        out.append(
            _check(
                f"notification p99, {n} in flight", stats.get("p99"), "< 3 s", lambda v: v < 3, "s"
            )
        )
    for n in (100, 1000):
        limit = 1.5 * n / DEEPNOTE_BUDGET_PER_SECOND
        out.append(
            _check(
                f"notification p99, {n} in flight",
                _get(scenarios, f"notify-{n}", "notify_seconds", "p99"),
                f"< {limit:g} s (1.5 × {n} runs ÷ {DEEPNOTE_BUDGET_PER_SECOND}/s)",
                lambda v, limit=limit: v < limit,
                "s",
            )
        )
    return out


def _pacing_checks(scenarios: dict[str, Any]) -> list[Check]:
    """That Deepnote and Slack were called no faster than their budgets allow."""
    out: list[Check] = []
    for name, scenario in scenarios.items():
        peak = _get(scenario, "costs", "deepnote", "peak_per_second")
        out.append(
            _check(
                f"Deepnote requests in any 1 s, {name}",
                peak,
                f"≤ {DEEPNOTE_BUDGET_PER_SECOND} (the default budget)",
                lambda v: v <= DEEPNOTE_BUDGET_PER_SECOND,
                "",
            )
        )
    for name, scenario in scenarios.items():
        slack = _get(scenario, "costs", "slack") or {}
        share = slack.get("rate_limited", 0) / max(1, slack.get("calls", 0)) if slack else None
        out.append(
            _check(
                f"Slack calls answered 429 (Slack's limits model), {name}",
                share,
                "< 5%",
                lambda v: v < 0.05,
                "",
            )
        )
    return out


def _resource_checks(results: dict[str, Any], scenarios: dict[str, Any]) -> list[Check]:
    """The bot's peak memory and its start-up time."""
    out: list[Check] = []
    rss_name = next((n for n in scenarios if n.startswith("memory-")), None)
    runs = _get(scenarios, rss_name, "runs") if rss_name else None
    rss = _get(scenarios, rss_name, "costs", "bot", "peak_rss_mb") if rss_name else None
    out.append(
        _check(
            f"peak RSS of the bot, {runs or 10000:,} runs in flight",
            rss if runs == 10_000 else None,
            f"< {RSS_LIMIT_MB:g} MB",
            lambda v: v < RSS_LIMIT_MB,
            "MB",
        )
    )
    for key, what in (("ready", "/healthz 200 (ready)"), ("listening", "/healthz answering")):
        out.append(
            _check(
                f"start-up to {what}, slowest bot start",
                _get(results, "startup_seconds", key, "max"),
                f"< {STARTUP_LIMIT_SECONDS:g} s",
                lambda v: v < STARTUP_LIMIT_SECONDS,
                "s",
            )
        )
    return out


# --------------------------------------------------------------------------- tables


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "never"
        return f"{value:.{digits}g}"
    return str(value)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table with columns padded to their widest cell.

    >>> print(table(["a", "bb"], [["1", "2"]]))
    a  bb
    -  --
    1  2
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def latency_table(results: dict[str, Any]) -> str:
    """Acknowledgement and notification latencies."""
    scenarios = results.get("scenarios", {})
    rows: list[list[str]] = []
    for level in ACK_LEVELS:
        ack = scenarios.get(f"ack-{level}") or {}
        if "ms" in ack:
            rows.append(_latency_row(f"ack, {level} concurrent (Deepnote 2 s)", ack["ms"], "ms"))
        if ack.get("first_burst") and level > 1:
            rows.append(_latency_row("  first burst only", ack["first_burst"]["ms"], "ms"))
        if ack.get("keepalive"):
            rows.append(
                _latency_row("  1 at a time, reused connection", ack["keepalive"]["ms"], "ms")
            )
    for n in NOTIFY_LEVELS:
        stats = _get(scenarios, f"notify-{n}", "notify_seconds")
        if stats:
            rows.append(_latency_row(f"notification, {n} in flight", stats, "s"))
        reply = _get(scenarios, f"notify-{n}", "reply_seconds")
        if reply:
            rows.append(_latency_row(f"  thread reply, {n} in flight", reply, "s"))
    headers = ["case", "n", "p50", "p99", "max", "not answered/seen"]
    return table(headers, rows) if rows else "(no latency measured)"


def _latency_row(label: str, stats: dict[str, Any], unit: str) -> list[str]:
    return [
        label,
        str(stats["n"]),
        f"{_fmt(stats['p50'])} {unit}",
        f"{_fmt(stats['p99'])} {unit}",
        f"{_fmt(stats['max'])} {unit}",
        str(stats["missing"]),
    ]


def cost_table(results: dict[str, Any]) -> str:
    """Deepnote requests, Slack calls, CPU and memory of each scenario."""
    rows = []
    for name, scenario in results.get("scenarios", {}).items():
        costs = scenario.get("costs") or {}
        dn, slack, bot = costs.get("deepnote", {}), costs.get("slack", {}), costs.get("bot", {})
        rows.append(
            [
                name,
                _fmt(costs.get("runs_started")),
                _fmt(costs.get("seconds")),
                _fmt(dn.get("requests")),
                _fmt(dn.get("per_run")),
                _fmt(dn.get("peak_per_second")),
                _fmt(dn.get("window_per_second")),
                _fmt(dn.get("status_reads_per_run_second")),
                _fmt(slack.get("calls")),
                _fmt(slack.get("per_run")),
                _channel_cell(slack),
                _fmt(bot.get("cpu_seconds")),
                _fmt(bot.get("peak_rss_mb"), 4),
                _fmt(bot.get("startup_seconds")),
            ]
        )
    headers = [
        "scenario",
        "runs",
        "secs",
        "DN req",
        "DN/run",
        "DN peak/s",
        "DN/s meas.",
        "reads/run·s",
        "Slack calls",
        "Slack/run",
        "posts|edits|both /ch/s",
        "bot CPU s",
        "peak RSS MB",
        "start s",
    ]
    return table(headers, rows) if rows else "(no scenario ran)"


def _channel_cell(slack: dict[str, Any]) -> str:
    """Per-channel peaks over the whole scenario: messages posted | edits | both together."""
    peaks = slack.get("per_channel_per_second") or {}
    return " | ".join(_fmt(peaks.get(k)) for k in ("messages", "edits", "writes"))


def checks_table(found: list[Check]) -> str:
    """The targets with PASS/FAIL/SKIP."""
    rows = [[c.verdict, c.label, c.measured, c.target] for c in found]
    return table(["", "target", "measured", "limit"], rows)


def profile_text(profile: dict[str, Any], top: int = 12) -> str:
    """The hot spots of a py-spy profile, as two short lists."""
    lines = [f"profile {profile['file']}: {profile['samples']} samples holding the GIL (100 Hz)"]
    lines.append("  own time (self):")
    lines += [f"    {pct:5.1f}%  {name}" for name, _, pct in profile["self"][:top]]
    lines.append("  own time by package:")
    lines += [f"    {pct:5.1f}%  {name}" for name, _, pct in profile["packages"][:top]]
    lines.append("  project functions, including callees:")
    lines += [f"    {pct:5.1f}%  {name}" for name, _, pct in profile["project_inclusive"][:top]]
    return "\n".join(lines)
