"""Checking a condition against one run: its outputs (`Facts`) and its status.

Logic is three-valued: a comparison whose output is missing, or is text where a number is
needed, is *unknown*, and `and` / `or` / `not` follow Kleene's rules, so
`revenue < 1M or status == failed` holds for a failed run even though it has no revenue. A
condition that is unknown as a whole is reported with the reasons (`Evaluation.notes`).

Values compare as the card shows them: a big number shown as `5.2%` is 5.2, so
`churn_rate > 5%` holds (the `%` is the number as shown, never a fraction); `$1,250,000.00` is
1250000, so `revenue < 1.2M` does not hold.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.conditions.syntax import (
    FAILED,
    SUCCEEDED,
    Compare,
    Condition,
    ConditionError,
    Name,
    Not,
    Number,
    Rows,
    Status,
    StatusWord,
    Text,
    describe,
    describe_operand,
    parse_condition,
)

HOLDS, CLEAR, UNKNOWN = "holds", "clear", "unknown"
# What an alert's message says (`Evaluation.kind`): the alert started, still holds, is back to
# normal, or could not be checked; a `QUIET` run is recorded and not posted. None: a one-off run.
STARTED, STILL, BACK_TO_NORMAL, UNCHECKED, QUIET = (
    "started",
    "still",
    "back_to_normal",
    "unchecked",
    "quiet",
)
_SEPARATORS = re.compile(r"[\s_\-]+")
_SHOWN_NUMBER = re.compile(
    r"^\s*([-+]?)\s*[$€£]?\s*([-+]?)(\d[\d,]*(?:\.\d+)?|\.\d+)\s*(%|[kKmMbB]|bn|mn)?\s*$"
)
_MULTIPLIERS = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "mn": 1e6, "b": 1e9, "B": 1e9, "bn": 1e9}


def name_key(name: str) -> str:
    """How names are matched: any case, and spaces, `_` and `-` alike.

    >>> name_key("Late orders") == name_key("late_orders") == name_key(" LATE-orders ")
    True
    """
    return _SEPARATORS.sub(" ", name.casefold()).strip()


def shown_number(text: str) -> float | None:
    """The number in an output as shown (`$1,250.50`, `5.2%`, `1.2k`, `'42'`), else None.

    >>> [shown_number(t) for t in ("$1,250.50", "5.2%", "1.2k", "'42'", "n/a", "-3")]
    [1250.5, 5.2, 1200.0, 42.0, None, -3.0]
    """
    match = _SHOWN_NUMBER.match(unquoted(text))
    if match is None:
        return None
    sign = "-" if "-" in (match.group(1) + match.group(2)) else ""
    try:
        value = float(sign + match.group(3).replace(",", ""))
    except ValueError:
        return None
    value *= _MULTIPLIERS.get(match.group(4) or "", 1.0)
    return value if math.isfinite(value) else None


def unquoted(text: str) -> str:
    """Text without the quotes Python's repr puts around a string (`'Europe'` → `Europe`)."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    return stripped


@dataclass(frozen=True)
class Fact:
    """One output as a condition reads it: its title and its value as shown."""

    title: str
    shown: str

    @property
    def number(self) -> float | None:
        """The value as a number, when it is one."""
        return shown_number(self.shown)


@dataclass(frozen=True)
class Facts:
    """What a condition can read of one run: values and tables by name (see `name_key`)."""

    status: str
    values: Mapping[str, Fact] = field(default_factory=dict)
    tables: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @staticmethod
    def build(
        status: str,
        values: Iterable[tuple[Iterable[str], Fact]] = (),
        tables: Iterable[tuple[Iterable[str], str, int]] = (),
    ) -> Facts:
        """Facts from outputs in notebook order, each with all its names (the first one wins)."""
        by_name: dict[str, Fact] = {}
        for names, fact in values:
            for name in names:
                by_name.setdefault(name_key(name), fact)
        by_table: dict[str, tuple[str, int]] = {}
        for names, title, count in tables:
            for name in names:
                by_table.setdefault(name_key(name), (title, count))
        return Facts(status, by_name, by_table)


@dataclass(frozen=True)
class Evaluation:
    """What a condition said about one run: holds, clear or unknown, with what it read."""

    condition: str
    result: str
    values: tuple[tuple[str, str], ...] = ()
    """(operand as written, its value as shown), each once, in the order read."""
    notes: tuple[str, ...] = ()
    """Why something could not be read (plain text, not markup)."""
    kind: str | None = None
    """What the message says (`STARTED`, `STILL`, …), once decided; None for a one-off run."""

    def to_json(self) -> str:
        """The evaluation as JSON text, to store with the run."""
        return json.dumps(
            {
                "condition": self.condition,
                "result": self.result,
                "values": [list(v) for v in self.values],
                "notes": list(self.notes),
                "kind": self.kind,
            }
        )

    @staticmethod
    def from_json(text: str) -> Evaluation:
        """The inverse of `to_json`."""
        data: dict[str, Any] = json.loads(text)
        return Evaluation(
            condition=str(data["condition"]),
            result=str(data["result"]),
            values=tuple((str(a), str(b)) for a, b in data.get("values", [])),
            notes=tuple(str(n) for n in data.get("notes", [])),
            kind=None if data.get("kind") is None else str(data["kind"]),
        )


class _Reader:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.values: dict[str, str] = {}
        self.notes: dict[str, None] = {}

    def seen(self, operand: str, shown: str) -> None:
        self.values.setdefault(operand, shown)

    def note(self, text: str) -> None:
        self.notes[text] = None

    def truth(self, node: Condition) -> bool | None:
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Not):
            inner = self.truth(node.operand)
            return None if inner is None else not inner
        left, right = self.truth(node.left), self.truth(node.right)
        if node.op == "and":
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if left is True or right is True:
            return True
        return None if left is None or right is None else False

    def compare(self, node: Compare) -> bool | None:
        label = describe_operand(node.left)
        if isinstance(node.left, Status):
            assert isinstance(node.right, StatusWord)
            outcome = SUCCEEDED if self.facts.status == "success" else FAILED
            self.seen(label, f"{outcome} ({self.facts.status})")
            return (outcome == node.right.value) == (node.op == "==")
        if isinstance(node.left, Rows):
            table = self.facts.tables.get(name_key(node.left.name))
            if table is None:
                self.note(f"this run has no table named “{node.left.name}”")
                return None
            self.seen(label, f"{table[1]:,} rows")
            return _ordered(float(table[1]), node.op, _literal(node.right))
        assert isinstance(node.left, Name)
        fact = self.facts.values.get(name_key(node.left.text))
        if fact is None:
            self.note(f"this run has no output named “{node.left.text}”")
            return None
        self.seen(label, fact.shown)
        if isinstance(node.right, Text):
            same = unquoted(fact.shown).casefold() == node.right.value.strip().casefold()
            return same == (node.op == "==")
        number = fact.number
        if number is None:
            self.note(f"“{node.left.text}” is “{fact.shown}”, not a number")
            return None
        return _ordered(number, node.op, _literal(node.right))


def _literal(value: Any) -> float:
    assert isinstance(value, Number)
    return value.value


def _ordered(left: float, op: str, right: float) -> bool:
    equal = math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return {
        "==": equal,
        "!=": not equal,
        "<": left < right and not equal,
        "<=": left < right or equal,
        ">": left > right and not equal,
        ">=": left > right or equal,
    }[op]


def evaluate(condition: Condition, facts: Facts) -> Evaluation:
    """Whether `condition` holds for a run with these facts, and the values it read.

    >>> facts = Facts.build("success", [(["churn_rate", "Churn rate"], Fact("Churn", "5.2%"))])
    >>> e = evaluate(parse_condition("churn_rate > 5%"), facts)
    >>> e.result, e.values
    ('holds', (('churn_rate', '5.2%'),))
    >>> evaluate(parse_condition("revenue < 1M or status == failed"), facts).result
    'unknown'
    """
    reader = _Reader(facts)
    truth = reader.truth(condition)
    result = UNKNOWN if truth is None else HOLDS if truth else CLEAR
    return Evaluation(
        condition=describe(condition),
        result=result,
        values=tuple(reader.values.items()),
        notes=tuple(reader.notes) if truth is None else (),
    )


def evaluate_text(text: str, facts: Facts) -> Evaluation:
    """`evaluate` for a stored condition; one that no longer parses is unknown, with why."""
    try:
        condition = parse_condition(text)
    except ConditionError as exc:
        return Evaluation(condition=text, result=UNKNOWN, notes=(exc.message,))
    return evaluate(condition, facts)
