"""Read a run's snapshot (a `.snapshot.deepnote` YAML file): why it failed, what it produced.

`parse` turns the YAML into frozen values, `failure` says why a run failed and which block,
`results` picks the key results to show in Slack.
"""

from bot.deepnote.snapshot.failure import FailingBlock, failure_reason, strip_ansi
from bot.deepnote.snapshot.parse import (
    Execution,
    ExecutionError,
    ExecutionSummary,
    Snapshot,
    SnapshotBlock,
    SnapshotOutput,
    parse_snapshot,
)
from bot.deepnote.snapshot.results import (
    condition_facts,
    html_to_text,
    key_results,
    unmatched_selectors,
)

__all__ = [
    "Execution",
    "ExecutionError",
    "ExecutionSummary",
    "FailingBlock",
    "Snapshot",
    "SnapshotBlock",
    "SnapshotOutput",
    "condition_facts",
    "failure_reason",
    "html_to_text",
    "key_results",
    "parse_snapshot",
    "strip_ansi",
    "unmatched_selectors",
]
