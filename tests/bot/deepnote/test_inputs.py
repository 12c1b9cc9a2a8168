"""Tables of cases for checking and converting notebook inputs."""

from __future__ import annotations

from datetime import date

import pytest

from bot.deepnote.inputs import convert_value, describe_input, format_value, validate_inputs
from bot.deepnote.models import InputValue, Notebook, NotebookInput, RunRequest
from bot.errors import UserError

TODAY = date(2026, 11, 25)

INPUTS = (
    NotebookInput("title", "input-text", value="Q1 2026 Sales Review"),
    NotebookInput("notes", "input-textarea"),
    NotebookInput("include_tax", "input-checkbox", value=True),
    NotebookInput("months", "input-slider", value="6", min=1, max=24, step=1),
    NotebookInput("ratio", "input-slider", min=0, max=1, step=0.1),
    NotebookInput("half", "input-slider", min=0, max=10, step=0.5),
    NotebookInput("threshold", "input-slider", min=600, max=2000, step=50),
    NotebookInput("percent", "input-slider"),
    NotebookInput("region", "input-select", options=("EU", "US", "APAC", "All regions")),
    NotebookInput("regions", "input-select", options=("EU", "US", "APAC"), multiple=True),
    NotebookInput("level", "input-select"),
    NotebookInput("tags", "input-select", multiple=True),
    NotebookInput("start", "input-date"),
    NotebookInput("period", "input-date-range"),
    NotebookInput("upload", "input-file", allowed_extensions=".csv,.xlsx"),
    NotebookInput("any_file", "input-file"),
    NotebookInput("colour", "input-color-picker"),
)
NOTEBOOK = Notebook("0123456789abcdef0123456789abcdef", "Sales report", INPUTS)


def problem(raw: list[tuple[str, str]], notebook: Notebook = NOTEBOOK) -> UserError:
    with pytest.raises(UserError) as info:
        validate_inputs(notebook, raw, today=TODAY)
    return info.value


VALID: list[tuple[str, str, InputValue]] = [
    ("title", "Q3 report", "Q3 report"),
    ("title", "", ""),
    ("title", "  spaced  ", "  spaced  "),
    ("notes", "line 1\nline 2", "line 1\nline 2"),
    *[("include_tax", word, True) for word in ("true", "yes", "on", "1", "TRUE", " Yes ")],
    *[("include_tax", word, False) for word in ("false", "no", "off", "0", "No")],
    ("months", "7", "7"),
    ("months", "07", "7"),
    ("months", "7.0", "7"),
    ("months", "+7", "7"),
    ("months", "1", "1"),
    ("months", "24", "24"),
    ("ratio", "0.3", "0.3"),
    ("ratio", ".7", "0.7"),
    ("ratio", "0.30", "0.3"),
    ("ratio", "1", "1"),
    ("ratio", "0", "0"),
    ("half", "2.5", "2.5"),
    ("half", "10.0", "10"),
    ("threshold", "650", "650"),
    ("threshold", "2000", "2000"),
    ("percent", "55", "55"),
    ("region", "EU", "EU"),
    ("region", "eu", "EU"),
    ("region", " US ", "US"),
    ("region", "all regions", "All regions"),
    ("regions", "EU,US", ["EU", "US"]),
    ("regions", "eu, apac", ["EU", "APAC"]),
    ("regions", "EU", ["EU"]),
    ("regions", "EU,,US,", ["EU", "US"]),
    ("regions", "EU,eu", ["EU"]),
    ("regions", "", []),
    ("level", "anything at all", "anything at all"),
    ("tags", "a, b,a", ["a", "b"]),
    ("start", "2026-02-28", "2026-02-28"),
    ("start", "2024-02-29", "2024-02-29"),
    ("start", "today", "2026-11-25"),
    ("start", "Yesterday", "2026-11-24"),
    ("period", "2026-01-01..2026-03-31", ["2026-01-01", "2026-03-31"]),
    ("period", "2026-01-01..2026-01-01", ["2026-01-01", "2026-01-01"]),
    ("period", "2026-11-01..today", ["2026-11-01", "2026-11-25"]),
    ("period", "past7days", "past7days"),
    ("period", "PAST14DAYS", "past14days"),
    ("period", "pastmonth", "pastMonth"),
    ("period", "past3Months", "past3months"),
    ("period", "past6months", "past6months"),
    ("period", "pastYear", "pastYear"),
    ("period", "customDays30", "customDays30"),
    ("period", "customdays007", "customDays7"),
    ("period", "customDays3650", "customDays3650"),
    ("upload", "data/q3.csv", "data/q3.csv"),
    ("upload", "Q3.XLSX", "Q3.XLSX"),
    ("upload", "", ""),
    ("any_file", "notes.txt", "notes.txt"),
    ("colour", "#ff0000", "#ff0000"),
]


@pytest.mark.parametrize(
    ("name", "text", "expected"), VALID, ids=[f"{n}={t!r}" for n, t, _ in VALID]
)
def test_valid_values_are_converted(name: str, text: str, expected: InputValue) -> None:
    assert validate_inputs(NOTEBOOK, [(name, text)], today=TODAY) == {name: expected}


def test_the_converted_values_are_what_deepnote_is_sent() -> None:
    values = validate_inputs(
        NOTEBOOK,
        [("months", "07"), ("include_tax", "no"), ("regions", "eu"), ("period", "pastmonth")],
        today=TODAY,
    )
    body = RunRequest(NOTEBOOK.id, values).to_body()
    assert body["inputs"] == {
        "months": "7",
        "include_tax": False,
        "regions": ["EU"],
        "period": "pastMonth",
    }


INVALID = [
    (
        "unknown name",
        ("regoin", "EU"),
        [
            "`regoin` is not an input of *Sales report*",
            "`region`, `regions`",
            "Did you mean `region`?",
        ],
    ),
    ("unknown name, other case", ("Region", "EU"), ["`Region`", "Did you mean `region`?"]),
    (
        "checkbox",
        ("include_tax", "maybe"),
        ["`include_tax`: `maybe` is not yes/no", "`include_tax=true`"],
    ),
    ("checkbox empty", ("include_tax", ""), ["`(empty)`", "`include_tax=false`"]),
    ("slider too big", ("months", "30"), ["`30`", "out of range", "from 1 to 24", "`months=24`"]),
    ("slider too small", ("months", "0"), ["`0`", "out of range", "`months=1`"]),
    ("slider not a number", ("months", "six"), ["`six`", "a number from 1 to 24 in steps of 1"]),
    ("slider empty", ("months", ""), ["`(empty)`", "a number"]),
    ("slider exponent", ("months", "1e1"), ["`1e1`", "a number"]),
    ("slider nan", ("months", "NaN"), ["`NaN`"]),
    ("slider infinity", ("months", "inf"), ["`inf`"]),
    ("slider comma decimal", ("ratio", "0,5"), ["`0,5`", "in steps of 0.1"]),
    (
        "slider off grid",
        ("months", "7.5"),
        ["`7.5`", "not on the slider's steps", "`months=7` or `months=8`"],
    ),
    (
        "slider off coarse grid",
        ("threshold", "625"),
        ["`625`", "`threshold=600` or `threshold=650`"],
    ),
    ("slider off fine grid", ("ratio", "0.25"), ["`0.25`", "`ratio=0.2` or `ratio=0.3`"]),
    ("slider default range", ("percent", "101"), ["`101`", "from 0 to 100"]),
    (
        "select",
        ("region", "Asia"),
        ["`Asia`", "is not an option", "`EU`, `US`, `APAC`", "`region=EU`"],
    ),
    ("select typo", ("region", "APC"), ["`APC`", "Did you mean `APAC`?"]),
    ("select empty", ("region", ""), ["`(empty)`", "is not an option"]),
    (
        "multi select",
        ("regions", "EU,Mars,Venus"),
        ["`Mars`, `Venus` are not options", "`regions=EU,US`"],
    ),
    (
        "multi select one bad",
        ("regions", "EU,USA"),
        ["`USA` is not an option", "Did you mean `US`?"],
    ),
    (
        "date no such day",
        ("start", "2026-02-30"),
        ["`2026-02-30` is not a real date", "`start=2026-11-25`"],
    ),
    ("date other format", ("start", "30/11/2026"), ["`30/11/2026`", "YYYY-MM-DD"]),
    ("date compact ISO", ("start", "20261130"), ["`20261130`", "YYYY-MM-DD"]),
    ("date with time", ("start", "2026-11-30T10:00"), ["`2026-11-30T10:00`"]),
    (
        "range reversed",
        ("period", "2026-03-31..2026-01-01"),
        ["ends before it starts", "`period=2026-01-01..2026-03-31`"],
    ),
    ("range preset typo", ("period", "past8days"), ["`past8days`", "Did you mean `past7days`?"]),
    ("range custom zero", ("period", "customDays0"), ["`customDays0`", "1 to 3650"]),
    ("range custom too many", ("period", "customDays3651"), ["`customDays3651`", "1 to 3650"]),
    (
        "range single date",
        ("period", "2026-01-01"),
        ["`2026-01-01`", "not a date range", "`period=2026-11-01..2026-11-25`"],
    ),
    (
        "range bad end",
        ("period", "2026-01-01..2026-02-30"),
        ["`2026-01-01..2026-02-30`", "not a date range"],
    ),
    (
        "range with spaces",
        ("period", "2026-01-01 - 2026-02-01"),
        ["not a date range", "START..END"],
    ),
    ("file extension", ("upload", "data.txt"), ["`data.txt`", ".csv, .xlsx", "`upload=data.csv`"]),
]


@pytest.mark.parametrize(
    ("pair", "fragments"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_values_name_the_input_and_value(
    pair: tuple[str, str], fragments: list[str]
) -> None:
    err = problem([pair])
    for fragment in fragments:
        assert fragment in err.message
    assert err.message.count("\n") == 0
    assert err.hint
    assert "Nothing was started" in err.hint


def test_every_problem_is_reported_at_once() -> None:
    err = problem(
        [
            ("months", "30"),
            ("regoin", "EU"),
            ("title", "fine"),
            ("start", "tomorrow"),
            ("include_tax", "maybe"),
            ("title", "again"),
        ]
    )
    lines = err.message.split("\n")
    assert len(lines) == 5
    for fragment, line in zip(
        ["`30`", "`regoin`", "`tomorrow`", "`maybe`", "`title` is given twice"], lines, strict=True
    ):
        assert fragment in line


def test_notebook_without_inputs() -> None:
    bare = Notebook("f" * 32, "Hello world")
    err = problem([("region", "EU")], bare)
    assert "*Hello world* takes no inputs" in err.message
    assert "`region=EU`" in err.message
    assert validate_inputs(bare, [], today=TODAY) == {}


def test_long_option_lists_are_cut() -> None:
    options = tuple(f"option{i}" for i in range(25))
    nb = Notebook("a" * 32, "Big", (NotebookInput("pick", "input-select", options=options),))
    err = problem([("pick", "nope")], nb)
    assert "`option9` and 15 more" in err.message
    assert "`option10`" not in err.message


def test_many_problems_stay_within_one_reply() -> None:
    err = problem([(f"unknown_{i}", "x" * 100) for i in range(100)])
    assert len(err.user_message) < 3000
    assert "more problems." in err.message


def test_notebook_names_are_made_inert() -> None:
    nb = Notebook("a" * 32, "<!channel> *Q3*", (NotebookInput("x", "input-text"),))
    err = problem([("y", "1")], nb)
    assert "&lt;!channel&gt;" in err.message
    assert "<!channel>" not in err.message


def test_convert_value_raises_a_one_line_user_error() -> None:
    with pytest.raises(UserError, match="`maybe`"):
        convert_value(INPUTS[2], "maybe", today=TODAY)


def test_yesterday_at_the_start_of_time_is_an_error_not_a_crash() -> None:
    with pytest.raises(UserError, match="`yesterday`"):
        validate_inputs(NOTEBOOK, [("start", "yesterday")], today=date.min)


DESCRIBED = [
    ("title", "text"),
    ("notes", "text (may be long; quote it)"),
    ("include_tax", "yes/no"),
    ("months", "number 1–24, step 1"),
    ("ratio", "number 0–1, step 0.1"),
    ("percent", "number 0–100, step 1"),
    ("region", "one of: EU, US, APAC, All regions"),
    ("regions", "one or more of: EU, US, APAC (comma-separated)"),
    ("level", "a choice"),
    ("tags", "one or more choices, comma-separated"),
    ("start", "date YYYY-MM-DD (or today, yesterday)"),
    (
        "period",
        "date range START..END or a preset (past7days, past14days, pastMonth, past3months, "
        "past6months, pastYear, customDaysN)",
    ),
    ("upload", "file path (.csv, .xlsx)"),
    ("any_file", "file path"),
    ("colour", "text (input-color-picker)"),
]


@pytest.mark.parametrize(("name", "expected"), DESCRIBED)
def test_describe_input(name: str, expected: str) -> None:
    inp = NOTEBOOK.input_named(name)
    assert inp is not None
    assert describe_input(inp) == expected


def test_describe_cuts_long_option_lists() -> None:
    inp = NotebookInput("pick", "input-select", options=tuple(str(i) for i in range(12)))
    assert describe_input(inp) == "one of: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        ("csv, XLSX", "file path (.csv, .xlsx)"),
        ("*.csv;*.tsv", "file path (.csv, .tsv)"),
        ("*", "file path"),
    ],
)
def test_file_extension_spellings(extensions: str, expected: str) -> None:
    assert (
        describe_input(NotebookInput("f", "input-file", allowed_extensions=extensions)) == expected
    )


FORMATTED: list[tuple[InputValue, str]] = [
    (True, "yes"),
    (False, "no"),
    ("EU", "EU"),
    ("", "(empty)"),
    (["EU", "US"], "EU, US"),
    ([], "(none)"),
    (["2026-01-01", "2026-03-31"], "2026-01-01..2026-03-31"),
    ("x" * 300, "x" * 199 + "…"),
]


@pytest.mark.parametrize(("value", "expected"), FORMATTED)
def test_format_value(value: InputValue, expected: str) -> None:
    assert format_value(value) == expected


ROUND_TRIP: list[tuple[str, InputValue]] = [
    ("include_tax", True),
    ("include_tax", False),
    ("months", "7"),
    ("ratio", "0.3"),
    ("region", "All regions"),
    ("regions", ["EU", "APAC"]),
    ("start", "2026-02-28"),
    ("period", ["2026-01-01", "2026-03-31"]),
    ("period", "customDays30"),
]


@pytest.mark.parametrize(("name", "value"), ROUND_TRIP)
def test_shown_values_can_be_typed_back(name: str, value: InputValue) -> None:
    """What a run card shows is valid input again (lists shown "a, b" are typed "a,b")."""
    typed = format_value(value).replace(", ", ",")
    assert validate_inputs(NOTEBOOK, [(name, typed)], today=TODAY) == {name: value}
