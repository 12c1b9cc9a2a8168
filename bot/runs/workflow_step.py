"""Completing Workflow Builder steps ("Run a Deepnote notebook") from the runs they started.

A step that waits is completed once its run has ended: `functions.completeSuccess` with the
outputs, or `functions.completeError` with the reason the run failed. A step that does not
wait is completed as soon as its run exists. The leader's background round does it from the
stored executions (storage/function_runs.py), so a restart in between still completes the
step; the bot token completes it (the per-execution token Slack sends is never stored).

>>> from datetime import UTC, datetime
>>> from storage.records import BigNumberResult, RunRecord
>>> run = RunRecord("r1", "nb", "Sales", "U1", "T1", "C1", "success",
...     datetime(2026, 1, 1, tzinfo=UTC), run_id="d-1", notebook_url="https://x/nb")
>>> step_outputs(run, [BigNumberResult("b", "Revenue", "$1,204")])
{'run_id': 'd-1', 'status': 'success', 'notebook_url': 'https://x/nb', 'big_number': '$1,204'}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.errors import SlackError
from bot.slack.gateway import SlackGateway
from bot.slack.messages.status import is_finished
from storage.function_runs import FunctionRun, FunctionRunStore
from storage.records import BigNumberResult, ResultItem, RunRecord
from storage.results import ResultStore
from storage.runs import RunStore

log = logging.getLogger(__name__)

SUCCESS = "success"
ATTEMPTS = 5
"""Tries to tell Slack (with backoff) before giving a step up."""
# Slack's answers when the execution can no longer be completed (already completed, or gone).
GONE = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
ERROR_CHARS = 1000


def step_outputs(run: RunRecord, results: Sequence[ResultItem]) -> dict[str, str]:
    """The step's outputs for a run as it is now; empty values are left out."""
    big = next((r.value for r in results if isinstance(r, BigNumberResult)), "")
    values = {
        "run_id": run.run_id or run.id,
        "status": run.status,
        "notebook_url": run.notebook_url or "",
        "snapshot_url": run.snapshot_url or "",
        "failure_reason": run.error or "",
        "big_number": big,
    }
    return {name: value for name, value in values.items() if value}


def failure_text(run: RunRecord) -> str:
    """Why the step failed, for Workflow Builder (plain text).

    >>> from datetime import UTC, datetime
    >>> failure_text(RunRecord("r1", "nb", "Sales", "U1", "T1", "C1", "error",
    ...     datetime(2026, 1, 1, tzinfo=UTC), error="ZeroDivisionError: division by zero"))
    'The run of Sales ended with error: ZeroDivisionError: division by zero'
    """
    name = run.notebook_name or run.notebook_id
    status = run.status.replace("_", " ")
    reason = f": {run.error}" if run.error else "."
    return f"The run of {name} ended with {status}{reason}"[:ERROR_CHARS]


@dataclass(kw_only=True, eq=False)
class StepCompleter:
    """Tells Slack how each step ended, once, from the stored executions."""

    store: FunctionRunStore
    runs: RunStore
    results: ResultStore
    slack: SlackGateway
    clock: Clock

    def tick(self) -> None:
        """Complete every step whose run can be reported now (the leader's round)."""
        for step in self.store.due(self.clock.now()):
            self.complete(step)

    def complete(self, step: FunctionRun) -> None:
        """Complete one step from its run: outputs, or the run's failure (or its refusal)."""
        if step.refusal is not None:
            self.refuse(step, step.refusal)
            return
        run = self.runs.get(step.run) if step.run else None
        if run is None:
            return
        if is_finished(run) and run.status != SUCCESS:
            reason = failure_text(run)
            self._tell(step, "error", lambda: self.slack.fail_function(step.execution_id, reason))
            return
        outputs = step_outputs(run, self.results.load(run.id))
        self._tell(step, SUCCESS, lambda: self.slack.complete_function(step.execution_id, outputs))

    def refuse(self, step: FunctionRun, message: str) -> None:
        """Fail a step that starts no run (its inputs, notebook or access were refused); store
        the step with `refusal` first, so a refusal Slack does not take is told again."""
        self._tell(step, "refused", lambda: self.slack.fail_function(step.execution_id, message))

    def _tell(self, step: FunctionRun, outcome: str, call: Callable[[], None]) -> None:
        """Make the call that tells Slack; mark the step done unless it is worth retrying."""
        now = self.clock.now()
        try:
            call()
        except SlackError as exc:
            if exc.code in GONE:
                outcome = exc.code or "gone"  # completed already (a retry after a restart)
            elif exc.retryable and step.attempts + 1 < ATTEMPTS:
                wait = exc.retry_after or 2.0 ** (step.attempts + 1)
                self.store.retry(step.execution_id, retry_at=now + timedelta(seconds=wait))
                return
            else:
                log.warning(
                    "could not complete a workflow step",
                    extra={"event": "step_not_told", "code": exc.code},
                )
                outcome = f"not told: {exc.code}"
        if self.store.done(step.execution_id, outcome, now=now):
            log.info(
                "workflow step completed",
                extra={"event": "step_completed", "outcome": outcome, "run": step.run},
            )
