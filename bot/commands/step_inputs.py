"""The inputs of the Workflow Builder step "Run a Deepnote notebook", read as the command reads
its own: the notebook reference and `name=value` inputs go through the same checks as
`/deepnote run`, so a bad input fails the step with the command's message (pure).

>>> step = read_step_inputs({"notebook": "sales", "inputs": 'region=Europe\\ntitle=Q3 report',
...     "wait": False, "run_as": "U1", "channel": "C1"})
>>> step.notebook, step.inputs, step.wait, step.user_id, step.channel_id
('sales', (('region', 'Europe'), ('title', 'Q3 report')), False, 'U1', 'C1')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.commands.scan import Pair, Word, check_input_count, input_pair, notebook_word, scan
from bot.errors import UserError
from bot.text.tokens import quote_token, tokenize_tokens

STEP_CALLBACK_ID = "run_notebook"
"""The step's callback id, as the manifest's `functions` declares it."""

# The step's input and output parameter names, as the manifest declares them.
NOTEBOOK, INPUTS, WAIT, CHANNEL, RUN_AS = "notebook", "inputs", "wait", "channel", "run_as"
OUTPUTS = ("run_id", "status", "notebook_url", "snapshot_url", "failure_reason", "big_number")

_YES = frozenset({"true", "yes", "on", "1"})
_NO = frozenset({"false", "no", "off", "0", ""})


@dataclass(frozen=True)
class StepRequest:
    """What one execution of the step asks for."""

    notebook: str
    inputs: tuple[tuple[str, str], ...]
    wait: bool
    user_id: str
    channel_id: str
    """Where the card goes; empty: no card, the step's outputs are the result."""


def _line_pair(line: str, number: int) -> Pair:
    """One `name=value` line: quoted as in the command, or everything after the `=`."""
    try:
        items = scan("run", tokenize_tokens(line), {}, kv=True)
    except UserError:
        items = []
    if len(items) == 1 and isinstance(items[0], Pair):
        return items[0]
    name, sep, value = line.partition("=")
    if not sep:
        raise UserError(
            f"Line {number} of the step's inputs, {quote_token(line)}, is not `name=value`.",
            hint="Write one input a line, e.g. `region=Europe`.",
        )
    return Pair(name.strip(), value.strip(), line)


def read_input_lines(text: str) -> tuple[tuple[str, str], ...]:
    """`name=value` lines (blank lines ignored), checked as the command checks its inputs."""
    seen: set[str] = set()
    pairs = [
        input_pair("run", _line_pair(line.strip(), number), seen)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    check_input_count("run", pairs)
    return tuple(pairs)


def _wait(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return True  # the step's default: wait for the run to finish
    word = str(value).strip().lower()
    if word in _YES or word in _NO:
        return word in _YES
    raise UserError(f"{quote_token(str(value))} is not yes or no (wait for the run to finish).")


def _id(value: Any) -> str:
    """A user or channel id as Slack sends it: text, or an object with an `id`."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value.strip() if isinstance(value, str) else ""


def read_step_inputs(values: Mapping[str, Any]) -> StepRequest:
    """The step's inputs as Slack sends them in `function_executed`; `UserError` when wrong."""
    user_id = _id(values.get(RUN_AS))
    if not user_id:
        raise UserError(
            "The step has no *Run as* person, so the bot cannot tell who starts the run.",
            hint="In Workflow Builder, set the step's *Run as* input to the person who used "
            "the workflow.",
        )
    raw_notebook = values.get(NOTEBOOK)
    notebook = notebook_word("run", Word(str(raw_notebook or ""), False, None, None))
    raw_inputs = values.get(INPUTS)
    inputs = read_input_lines(raw_inputs if isinstance(raw_inputs, str) else "")
    return StepRequest(
        notebook=notebook,
        inputs=inputs,
        wait=_wait(values.get(WAIT)),
        user_id=user_id,
        channel_id=_id(values.get(CHANNEL)),
    )
