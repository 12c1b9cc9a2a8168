"""The condition language: tokens, the tree, a recursive-descent parser and `describe`.

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | comparison
    comparison := operand OP value          OP: < <= > >= == != (= is ==)
    operand    := NAME | "quoted name" | rows(NAME or "quoted name") | status
    value      := number [% k M B] | "quoted text" | succeeded | failed   (the last two for status)

The thing measured comes first and the value it is compared with second, so a quoted string is
a name on the left and text on the right: `"Data freshness" >= 24`, `top_region == "Europe"`.
Every problem is a `ConditionError` (a `UserError`) saying where and what was expected; nothing
else is raised, whatever the text (checked by property tests).

>>> describe(parse_condition("churn_rate>5% OR rows('Late orders')>0"))
'churn_rate > 5% or rows("Late orders") > 0'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.errors import UserError
from bot.text.mrkdwn import code

MAX_CHARS = 500
MAX_DEPTH = 30
EXAMPLES = (
    "churn_rate > 5%",
    'rows("Late orders") > 0',
    "revenue < 1M or status == failed",
    '"Data freshness" >= 24',
)
HINT = "Examples: " + ", ".join(code(e) for e in EXAMPLES) + " (`/deepnote help schedule`)."

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
UNITS = {"": 1, "%": 1, "k": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_UNIT_SPELLINGS = {
    "%": "%",
    "k": "k",
    "K": "k",
    "m": "M",
    "M": "M",
    "mn": "M",
    "b": "B",
    "B": "B",
    "bn": "B",
}
SUCCEEDED, FAILED = "succeeded", "failed"
STATUS_WORDS = {
    "succeeded": SUCCEEDED,
    "success": SUCCEEDED,
    "successful": SUCCEEDED,
    "ok": SUCCEEDED,
    "passed": SUCCEEDED,
    "failed": FAILED,
    "failure": FAILED,
    "fail": FAILED,
    "error": FAILED,
    "errored": FAILED,
}
KEYWORDS = frozenset({"and", "or", "not", "rows", "status"})
_QUOTES = {'"': '"“”', "“": '"“”', "”": '"“”', "'": "'‘’", "‘": "'‘’", "’": "'‘’"}
_NUMBER = re.compile(r"[$€£]?(-?)[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?|[$€£]?(-?)(\.\d+)")
_WORD = re.compile(r"[^\W\d]\w*")
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNIT = re.compile(r"%|[A-Za-z]+")


class ConditionError(UserError):
    """A condition that cannot be read: where, what was found and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(f"The condition cannot be read: {message}", hint=HINT)


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """An output by its title or variable name: a big number, a variable's value."""

    text: str


@dataclass(frozen=True)
class Rows:
    """The row count of a table output."""

    name: str


@dataclass(frozen=True)
class Status:
    """The run's status: succeeded or failed."""


@dataclass(frozen=True)
class Number:
    """A number as typed: `amount` and its unit (`%` is the number as shown; k, M, B multiply)."""

    amount: Decimal
    unit: str = ""

    @property
    def value(self) -> float:
        """The number to compare with (`1.2k` is 1200, `5%` is 5)."""
        return float(self.amount * UNITS[self.unit])


@dataclass(frozen=True)
class Text:
    """Quoted text, compared with an output's text (any case)."""

    value: str


@dataclass(frozen=True)
class StatusWord:
    """`succeeded` or `failed` (after any of their aliases)."""

    value: str


Operand = Name | Rows | Status
Value = Number | Text | StatusWord


@dataclass(frozen=True)
class Compare:
    """`operand OP value`."""

    left: Operand
    op: str
    right: Value


@dataclass(frozen=True)
class Not:
    """`not condition`."""

    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    """`left and right` or `left or right`."""

    op: str
    left: Condition
    right: Condition


Condition = Compare | Not | BoolOp


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One piece of a condition; `at` is its 1-based character position."""

    kind: str  # "number", "string", "word", "op", "(", ")", "end"
    text: str
    at: int
    number: Number | None = None


def _where(token: Token) -> str:
    if token.kind == "end":
        return "at the end"
    return f"at character {token.at} ({code(token.text, limit=30)})"


def _string(text: str, start: int) -> tuple[str, int]:
    """The quoted text starting at `start` (its quote) and the index after its closing quote."""
    closers = _QUOTES[text[start]]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in closers + "\\":
            out.append(text[i + 1])
            i += 2
            continue
        if c in closers:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ConditionError(f"the quote at character {start + 1} is never closed.")


def _number(text: str, start: int) -> tuple[Token, int] | None:
    match = _NUMBER.match(text, start)
    if match is None:
        return None
    end = match.end()
    if match.group(2) is not None:
        sign, digits = match.group(1), match.group(2).replace(",", "") + (match.group(3) or "")
    else:
        sign, digits = match.group(4), "0" + match.group(5)
    unit_match = _UNIT.match(text, end)
    unit = ""
    if unit_match is not None:
        spelled = unit_match.group()
        if spelled not in _UNIT_SPELLINGS:
            raise ConditionError(
                f"{code(text[start : unit_match.end()], limit=30)} at character {start + 1} is "
                "not a number: a number's unit can be `%`, `k` (thousand), `M` (million) or "
                "`B` (billion)."
            )
        unit, end = _UNIT_SPELLINGS[spelled], unit_match.end()
    try:
        amount = Decimal(sign + digits)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ConditionError(f"{code(text[start:end])} is not a number.") from None
    return Token("number", text[start:end], start + 1, Number(amount, unit)), end


def tokens(text: str) -> Iterator[Token]:
    """The condition's tokens, ending with an `end` token."""
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in _QUOTES:
            value, end = _string(text, i)
            yield Token("string", value, i + 1)
            i = end
            continue
        two = text[i : i + 2]
        if two in ("<=", ">=", "==", "!=", "=<", "=>"):
            if two in ("=<", "=>"):
                raise ConditionError(f"{code(two)} at character {i + 1}: write {code(two[::-1])}.")
            yield Token("op", two, i + 1)
            i += 2
            continue
        if c in "<>=":
            yield Token("op", "==" if c == "=" else c, i + 1)
            i += 1
            continue
        if c in "()":
            yield Token(c, c, i + 1)
            i += 1
            continue
        number = _number(text, i)
        if number is not None:
            yield number[0]
            i = number[1]
            continue
        word = _WORD.match(text, i)
        if word is not None:
            yield Token("word", word.group(), i + 1)
            i = word.end()
            continue
        raise ConditionError(
            f"{code(c)} at character {i + 1} is not part of the language: use names, numbers, "
            '"quoted text", `rows("…")`, `status`, `< <= > >= == !=`, `and`, `or`, `not` and '
            "parentheses."
        )
    yield Token("end", "", len(text) + 1)


# --- the parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = list(tokens(text))
        self.pos = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.items[self.pos]

    def take(self) -> Token:
        token = self.items[self.pos]
        self.pos = min(self.pos + 1, len(self.items) - 1)
        return token

    def is_word(self, word: str) -> bool:
        return self.peek.kind == "word" and self.peek.text.casefold() == word

    def condition(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"it nests more than {MAX_DEPTH} deep; simplify it.")
        left = self.conjunction()
        while self.is_word("or"):
            self.take()
            left = BoolOp("or", left, self.conjunction())
        self.depth -= 1
        return left

    def conjunction(self) -> Condition:
        left = self.negation()
        while self.is_word("and"):
            self.take()
            left = BoolOp("and", left, self.negation())
        return left

    def negation(self) -> Condition:
        if self.is_word("not"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError(f"it nests more than {MAX_DEPTH} deep; simplify it.")
            inner = self.negation()
            self.depth -= 1
            return Not(inner)
        if self.peek.kind == "(":
            self.take()
            inner = self.condition()
            if self.peek.kind != ")":
                raise ConditionError(f"expected `)` {_where(self.peek)}.")
            self.take()
            return inner
        return self.comparison()

    def operand(self) -> Operand:
        token = self.take()
        if token.kind == "string":
            if not token.text.strip():
                raise ConditionError(f"the name at character {token.at} is empty.")
            return Name(token.text)
        if token.kind == "word":
            word = token.text.casefold()
            if word == "status":
                return Status()
            if word == "rows":
                return self.rows(token)
            if word in KEYWORDS:
                raise ConditionError(f"expected a name before `{word}` {_where(token)}.")
            return Name(token.text)
        if token.kind == "number":
            raise ConditionError(
                f"expected a name {_where(token)}: put the name first and the number second, "
                "e.g. `churn_rate > 5%`."
            )
        raise ConditionError(f'expected a name, `rows("…")` or `status` {_where(token)}.')

    def rows(self, start: Token) -> Rows:
        if self.peek.kind != "(":
            raise ConditionError(
                f'expected `(` after `rows` {_where(self.peek)}, e.g. `rows("Late orders") > 0`.'
            )
        self.take()
        name = self.take()
        if name.kind not in ("string", "word") or not name.text.strip():
            raise ConditionError(f"expected a table's name inside `rows(…)` {_where(name)}.")
        if self.peek.kind != ")":
            raise ConditionError(f"expected `)` {_where(self.peek)}.")
        self.take()
        return Rows(name.text)

    def comparison(self) -> Compare:
        left = self.operand()
        op = self.take()
        if op.kind != "op":
            raise ConditionError(
                f"expected a comparison (`< <= > >= == !=`) {_where(op)}, after "
                f"{code(describe_operand(left), limit=40)}."
            )
        right = self.value(left, op)
        return Compare(left, op.text, right)

    def value(self, left: Operand, op: Token) -> Value:
        token = self.take()
        ordering = op.text not in ("==", "!=")
        if isinstance(left, Status):
            word = (
                STATUS_WORDS.get(token.text.casefold())
                if token.kind in ("word", "string")
                else None
            )
            if word is None:
                raise ConditionError(
                    f"`status` is compared with `succeeded` or `failed`, not {_found(token)}."
                )
            if ordering:
                raise ConditionError(f"`status` is compared with `==` or `!=`, not `{op.text}`.")
            return StatusWord(word)
        if token.kind == "number":
            assert token.number is not None
            if isinstance(left, Rows) and (token.number.unit == "%"):
                raise ConditionError("`rows(…)` counts rows: compare it with a number, not a %.")
            return token.number
        if token.kind == "string":
            if isinstance(left, Rows):
                raise ConditionError("`rows(…)` counts rows: compare it with a number.")
            if ordering:
                raise ConditionError(
                    f"quoted text is compared with `==` or `!=`, not `{op.text}`; compare with a "
                    "number to use `<` or `>`."
                )
            return Text(token.text)
        if token.kind == "word":
            raise ConditionError(
                f'expected a number or "quoted text" {_where(token)}; one output cannot be '
                'compared with another, and text needs quotes: `top_region == "Europe"`.'
            )
        raise ConditionError(f'expected a number or "quoted text" {_where(token)}.')


def _found(token: Token) -> str:
    return "nothing" if token.kind == "end" else code(token.text, limit=30)


def parse_condition(text: str) -> Condition:
    """The condition's tree, or a `ConditionError` saying what is wrong and where.

    >>> parse_condition("status == failed")
    Compare(left=Status(), op='==', right=StatusWord(value='failed'))
    """
    if len(text) > MAX_CHARS:
        raise ConditionError(f"it is longer than {MAX_CHARS} characters.")
    if not text.strip():
        raise ConditionError("it is empty.")
    parser = _Parser(text)
    tree = parser.condition()
    if parser.peek.kind != "end":
        token = parser.peek
        raise ConditionError(f"expected `and`, `or` or the end {_where(token)}.")
    return tree


# --- describe ---------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """Text in double quotes; a backslash goes before each quote that would end it.

    >>> print(_quoted('say “hi” "bye"'))
    "say \\“hi\\” \\"bye\\""
    """
    return '"' + re.sub(r'(["“”\\])', r"\\\1", text) + '"'


def describe_operand(operand: Operand) -> str:
    """An operand as the language writes it (`churn_rate`, `"Late orders"`, `rows("x")`)."""
    if isinstance(operand, Status):
        return "status"
    if isinstance(operand, Rows):
        return f"rows({_quoted(operand.name)})"
    bare = _BARE_NAME.fullmatch(operand.text) and operand.text.casefold() not in KEYWORDS
    return operand.text if bare else _quoted(operand.text)


def describe_value(value: Value) -> str:
    """A value as the language writes it (`5%`, `1.2M`, `"Europe"`, `failed`)."""
    if isinstance(value, Text):
        return _quoted(value.value)
    if isinstance(value, StatusWord):
        return value.value
    amount = format(value.amount, "f")
    if "." in amount:
        amount = amount.rstrip("0").rstrip(".")
    if amount in ("-0", ""):
        amount = "0"
    return amount + value.unit


def describe(condition: Condition) -> str:
    """The condition in its canonical spelling; `parse_condition` reads it back to the same tree.

    >>> describe(parse_condition("NOT (a>1 AND b<2) or c == 'x'"))
    'not (a > 1 and b < 2) or c == "x"'
    """
    if isinstance(condition, Compare):
        return (
            f"{describe_operand(condition.left)} {condition.op} {describe_value(condition.right)}"
        )
    if isinstance(condition, Not):
        inner = describe(condition.operand)
        return f"not ({inner})" if isinstance(condition.operand, BoolOp) else f"not {inner}"
    left, right = describe(condition.left), describe(condition.right)
    if isinstance(condition.left, BoolOp) and condition.left.op == "or" != condition.op:
        left = f"({left})"
    if isinstance(condition.right, BoolOp) and (
        condition.right.op == condition.op or condition.right.op == "or"
    ):
        right = f"({right})"
    return f"{left} {condition.op} {right}"


def operand_names(condition: Condition) -> list[tuple[str, bool]]:
    """The names a condition reads, each with whether it must be a table, in order, once each.

    >>> operand_names(parse_condition('a > 1 or rows("T") > 0 or a < 0 or status == ok'))
    [('a', False), ('T', True)]
    """
    found: dict[tuple[str, bool], None] = {}

    def walk(node: Condition) -> None:
        if isinstance(node, Compare):
            if isinstance(node.left, Name):
                found[(node.left.text, False)] = None
            elif isinstance(node.left, Rows):
                found[(node.left.name, True)] = None
        elif isinstance(node, Not):
            walk(node.operand)
        else:
            walk(node.left)
            walk(node.right)

    walk(condition)
    return list(found)
