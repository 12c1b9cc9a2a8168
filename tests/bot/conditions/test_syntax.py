"""The condition language's parser: what it accepts, what it refuses and how it says so, and
property tests: any text is read or refused with a `ConditionError` (never another exception),
and `describe` writes every tree so that the parser reads it back to the same tree."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conditions import ConditionError, describe, parse_condition
from bot.conditions.syntax import (
    COMPARISONS,
    KEYWORDS,
    BoolOp,
    Compare,
    Condition,
    Name,
    Not,
    Number,
    Rows,
    Status,
    StatusWord,
    Text,
)
from bot.errors import UserError


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("churn_rate > 5%", "churn_rate > 5%"),
        ('rows("Late orders") > 0', 'rows("Late orders") > 0'),
        ("revenue < 1M or status == failed", "revenue < 1M or status == failed"),
        ('"Data freshness" >= 24', '"Data freshness" >= 24'),
        # What people type: no spaces, = for ==, other cases, typographic quotes, units.
        ("REVENUE<1.2m OR Status=ERROR", "REVENUE < 1.2M or status == failed"),
        (
            "rows(late_orders)>=10 and not top_region == ‘Europe’",
            'rows("late_orders") >= 10 and not top_region == "Europe"',
        ),
        ("x > $1,200.50 and y < 3bn and z != -0.5k", "x > 1200.5 and y < 3B and z != -0.5k"),
        ("(a > 1 or b > 2) and c > 3", "(a > 1 or b > 2) and c > 3"),
        ("a > 1 or (b > 2 and c > 3)", "a > 1 or b > 2 and c > 3"),
        ('"status" == "ok"', '"status" == "ok"'),
        ('\'say “hi”\' == "a\\"b"', '"say \\“hi\\”" == "a\\"b"'),
    ],
)
def test_reads_what_people_type(typed: str, canonical: str) -> None:
    assert describe(parse_condition(typed)) == canonical


def test_and_binds_tighter_than_or_and_not_tightest() -> None:
    tree = parse_condition("not a > 1 and b > 2 or c > 3")
    assert isinstance(tree, BoolOp)
    assert tree.op == "or"
    assert isinstance(tree.left, BoolOp)
    assert isinstance(tree.left.left, Not)
    assert Number(Decimal("1.2"), "k").value == 1200.0
    assert Number(Decimal("5"), "%").value == 5.0


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "it is empty"),
        ("churn_rate >", 'expected a number or "quoted text" at the end'),
        ("churn_rate >> 5", 'expected a number or "quoted text" at character 13 (`&gt;`)'),
        ("5% < churn_rate", "put the name first and the number second"),
        ("churn_rate > 5kg", "a number's unit can be `%`, `k` (thousand), `M` (million) or `B`"),
        ("revenue > target", "one output cannot be compared with another"),
        ("status > failed", "`status` is compared with `==` or `!=`"),
        ("status == maybe", "`status` is compared with `succeeded` or `failed`, not `maybe`"),
        ('region > "Europe"', "quoted text is compared with `==` or `!=`"),
        ('rows("T") == "x"', "`rows(…)` counts rows"),
        ("(a > 1", "expected `)` at the end"),
        ("a > 1 b > 2", "expected `and`, `or` or the end at character 7 (`b`)"),
        ('a == "open', "the quote at character 6 is never closed"),
        ("a ; b", "`;` at character 3 is not part of the language"),
        ("churn_rate", "expected a comparison"),
        ("a > 1 and", 'expected a name, `rows("…")` or `status` at the end'),
        ("(" * 40 + "a > 1" + ")" * 40, "nests more than 30 deep"),
        ("a > 1 and " * 60 + "a > 1", "longer than 500 characters"),
    ],
)
def test_refuses_with_where_and_what_was_expected(typed: str, said: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(typed)
    assert isinstance(caught.value, UserError)
    assert said in caught.value.message
    assert "churn_rate &gt; 5%" in (caught.value.hint or "")  # examples to copy


# --- properties ---------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    [*"abcxyz_ ()<>=!\"'“”‘’$%,.-0123456789kKMBm", "and", "or", "not", "rows", "status"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map(" ".join) | st.text(max_size=60))
def test_any_text_is_read_or_refused_with_a_user_facing_error(text: str) -> None:
    try:
        tree = parse_condition(text)
    except ConditionError as exc:
        message = exc.message
        tree = None
    if tree is None:
        assert message.startswith("The condition cannot be read: ")
        return
    # What it read, it can write and read again to the same tree.
    assert parse_condition(describe(tree)) == tree


_names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    st.text(min_size=1, max_size=15).filter(lambda t: t.strip()),
).filter(lambda n: n.casefold() not in KEYWORDS)
_numbers = st.builds(
    Number,
    st.decimals(min_value=-(10**12), max_value=10**12, places=3, allow_nan=False),
    st.sampled_from(["", "%", "k", "M", "B"]),
)


def _compare(left: object, op: str, right: object) -> Condition:
    return Compare(left, op, right)  # type: ignore[arg-type]


_comparisons = st.one_of(
    st.builds(_compare, st.builds(Name, _names), st.sampled_from(COMPARISONS), _numbers),
    st.builds(
        _compare,
        st.builds(Name, _names),
        st.sampled_from(["==", "!="]),
        st.builds(Text, st.text(max_size=15)),
    ),
    st.builds(
        _compare,
        st.builds(Rows, _names),
        st.sampled_from(COMPARISONS),
        _numbers.filter(lambda n: n.unit != "%"),
    ),
    st.builds(
        _compare,
        st.just(Status()),
        st.sampled_from(["==", "!="]),
        st.sampled_from([StatusWord("succeeded"), StatusWord("failed")]),
    ),
)
_trees = st.recursive(
    _comparisons,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_trees)
def test_describe_round_trips_every_tree(tree: Condition) -> None:
    text = describe(tree)
    assert parse_condition(text) == tree
    assert describe(parse_condition(text)) == text
