"""The `--notify-if` condition language: parse, describe, evaluate (pure, no I/O, no `eval`).

`syntax` turns the text people type into a tree and back (`describe`), `evaluate` checks the
tree against one run's facts (its outputs and status) with three-valued logic.
"""

from bot.conditions.evaluate import (
    BACK_TO_NORMAL,
    CLEAR,
    HOLDS,
    QUIET,
    STARTED,
    STILL,
    UNCHECKED,
    UNKNOWN,
    Evaluation,
    Fact,
    Facts,
    evaluate,
    evaluate_text,
    name_key,
)
from bot.conditions.syntax import (
    ConditionError,
    describe,
    operand_names,
    parse_condition,
)

__all__ = [
    "BACK_TO_NORMAL",
    "CLEAR",
    "HOLDS",
    "QUIET",
    "STARTED",
    "STILL",
    "UNCHECKED",
    "UNKNOWN",
    "ConditionError",
    "Evaluation",
    "Fact",
    "Facts",
    "describe",
    "evaluate",
    "evaluate_text",
    "name_key",
    "operand_names",
    "parse_condition",
]
