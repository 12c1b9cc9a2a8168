"""Workflow Builder custom steps ("functions"): the `function_executed` event Slack sends when
a workflow reaches the app's step, and `functions.completeSuccess` / `functions.completeError`.

Each execution gets an id (`Fx…`) and a per-execution bot token (`xwfp-…`), as on Slack; an
execution is completed at most once (a second completion answers
`execution_not_in_running_state`, an unknown id `function_execution_not_found`), and outputs
must be a JSON object. Completions are recorded for tests (`FunctionExecutions.completed`).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.offline.slack_standin.forms import ApiError, text_arg

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


@dataclass
class Execution:
    """One execution of a step: its inputs, and how the app completed it."""

    execution_id: str
    callback_id: str
    inputs: dict[str, Any]
    token: str
    state: str = RUNNING
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    completed_at: datetime | None = None


class FunctionExecutions:
    """The executions the stand-in started, by id."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._executions: dict[str, Execution] = {}

    def execute(self, callback_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Start an execution of the app's step; the `function_executed` event to deliver
        (with `SlackRequester.event` over HTTP, or `socket_mode.send_event`)."""
        with self._lock:
            n = next(self._ids)
            execution = Execution(
                execution_id=f"Fx{n:010d}",
                callback_id=callback_id,
                inputs=dict(inputs),
                token=f"xwfp-standin-{n:06d}",
            )
            self._executions[execution.execution_id] = execution
        return {
            "type": "function_executed",
            "function": {
                "id": f"Fn{n:08d}",
                "callback_id": callback_id,
                "title": callback_id,
                "type": "app",
                "app_id": self.app_id,
            },
            "inputs": dict(inputs),
            "function_execution_id": execution.execution_id,
            "workflow_execution_id": f"Wx{n:010d}",
            "bot_access_token": execution.token,
        }

    def get(self, execution_id: str) -> Execution | None:
        """One execution, as it is now."""
        with self._lock:
            return self._executions.get(execution_id)

    def completed(self) -> list[Execution]:
        """Every execution the app completed (successfully or not), in the order started."""
        with self._lock:
            return [e for e in self._executions.values() if e.state != RUNNING]

    def accepts(self, token: str | None) -> bool:
        """Whether `token` is an execution's own token (valid for the functions.* methods)."""
        with self._lock:
            return any(e.token == token for e in self._executions.values())

    def finish(
        self, args: dict[str, Any], now: datetime, *, outputs: Any = None, error: str | None = None
    ) -> dict[str, Any]:
        """Complete the execution `args` names, once."""
        execution_id = text_arg(args, "function_execution_id")
        with self._lock:
            execution = self._executions.get(execution_id or "")
            if execution is None:
                raise ApiError("function_execution_not_found")
            if execution.state != RUNNING:
                raise ApiError("execution_not_in_running_state")
            if error is None:
                execution.state, execution.outputs = COMPLETED, dict(outputs or {})
            else:
                execution.state, execution.error = FAILED, error
            execution.completed_at = now
        return {}


def _outputs(value: Any) -> dict[str, Any]:
    """The `outputs` argument: a JSON object (form-encoded requests send it as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError("invalid_arguments") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError("parameter_validation_failed")
    return value


def complete_success(
    executions: FunctionExecutions, args: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """functions.completeSuccess: the step succeeded with these outputs (all text here)."""
    return executions.finish(args, now, outputs=_outputs(args.get("outputs")))


def complete_error(
    executions: FunctionExecutions, args: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """functions.completeError: the step failed, with a message people see."""
    error = text_arg(args, "error")
    if not error:
        raise ApiError("invalid_arguments")
    return executions.finish(args, now, error=error)
