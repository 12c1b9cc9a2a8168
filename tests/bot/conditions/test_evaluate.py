"""Checking conditions against one run's facts: values as shown, units, text, status, missing
outputs and three-valued logic."""

from __future__ import annotations

import pytest

from bot.conditions import (
    CLEAR,
    HOLDS,
    UNKNOWN,
    Evaluation,
    Fact,
    Facts,
    evaluate,
    evaluate_text,
    parse_condition,
)

FACTS = Facts.build(
    "success",
    values=[
        (["churn_rate", "Churn rate"], Fact("Churn rate", "5.2%")),
        (["revenue", "Revenue"], Fact("Revenue", "$1,250,000.00")),
        (["Data freshness", "freshness_hours"], Fact("Data freshness", "26")),
        (["top_region"], Fact("top_region", "'Europe'")),
        (["visitors"], Fact("visitors", "1.2k")),
        (["note"], Fact("note", "n/a")),
    ],
    tables=[(["late_orders"], "late_orders", 3), (["empty"], "empty", 0)],
)


@pytest.mark.parametrize(
    ("condition", "result"),
    [
        # A percentage compares as shown: 5.2% is 5.2, whatever the notebook stored (0.052).
        ("churn_rate > 5%", HOLDS),
        ("churn_rate > 5", HOLDS),
        ("churn_rate > 0.06", HOLDS),
        ("churn_rate >= 5.2%", HOLDS),
        ("churn_rate < 5.2", CLEAR),
        ("revenue < 1M", CLEAR),
        ("revenue >= 1.25M and revenue <= 1250k", HOLDS),
        ('"DATA FRESHNESS" >= 24', HOLDS),
        ('"data-freshness" == 26', HOLDS),
        ("visitors == 1200", HOLDS),
        ('top_region == "europe"', HOLDS),
        ('top_region != "Europe"', CLEAR),
        ('rows("Late orders") > 0', HOLDS),
        ("rows(empty) > 0", CLEAR),
        ("status == succeeded", HOLDS),
        ("status == ok", HOLDS),
        ("status != failed", HOLDS),
        ("not churn_rate > 5%", CLEAR),
        ('note == "N/A"', HOLDS),
    ],
)
def test_values_compare_as_the_card_shows_them(condition: str, result: str) -> None:
    assert evaluate(parse_condition(condition), FACTS).result == result


def test_the_values_read_are_reported_once_each_in_order() -> None:
    found = evaluate(
        parse_condition("churn_rate > 5% and rows(late_orders) > 0 or churn_rate > 9"), FACTS
    )
    assert found.values == (("churn_rate", "5.2%"), ('rows("late_orders")', "3 rows"))
    assert found.notes == ()


def test_missing_or_non_numbers_are_unknown_with_why() -> None:
    missing = evaluate(parse_condition("bounce_rate > 5%"), FACTS)
    assert missing.result == UNKNOWN
    assert missing.notes == ("this run has no output named “bounce_rate”",)
    text = evaluate(parse_condition("note > 3"), FACTS)
    assert (text.result, text.notes) == (UNKNOWN, ("“note” is “n/a”, not a number",))
    table = evaluate(parse_condition("rows(churn_rate) > 1"), FACTS)
    assert table.notes == ("this run has no table named “churn_rate”",)


def test_logic_is_three_valued() -> None:
    failed = Facts(status="error")
    holds = evaluate(parse_condition("revenue < 1M or status == failed"), failed)
    assert (holds.result, holds.notes) == (HOLDS, ())
    assert holds.values == (("status", "failed (error)"),)
    assert evaluate(parse_condition("revenue < 1M and status == ok"), failed).result == CLEAR
    assert evaluate(parse_condition("revenue < 1M and status == failed"), failed).result == UNKNOWN
    assert evaluate(parse_condition("not revenue < 1M"), failed).result == UNKNOWN


def test_a_stored_evaluation_reads_back_and_a_broken_condition_is_unknown() -> None:
    found = evaluate(parse_condition("churn_rate > 5%"), FACTS)
    assert Evaluation.from_json(found.to_json()) == found
    broken = evaluate_text("churn_rate >", FACTS)
    assert broken.result == UNKNOWN
    assert "cannot be read" in broken.notes[0]
