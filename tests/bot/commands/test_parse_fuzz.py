"""Property tests: whatever people type, parsing ends in a value or a short UserError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.parse import parse_command
from bot.commands.types import Command
from bot.deepnote.inputs import describe_input, format_value, validate_inputs
from bot.deepnote.models import Notebook, NotebookInput
from bot.deepnote.notebook_ref import UnknownNotebookRef, parse_notebook_ref
from bot.errors import UserError
from bot.text.tokens import tokenize

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_MESSAGE = 3000

# Pieces that steer random text into every branch of the parser.
WORDS = [
    "run", "inputs", "status", "schedule", "schedules", "unschedule", "pause", "resume",
    "trigger", "alias", "aliases", "unalias", "audit", "help", "/deepnote", "sales-report",
    "0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdef",
    "https://deepnote.com/project/p/notebook/Report-0123456789abcdef0123456789abcdef?x=1",
    "<https://deepnote.com/x|y>", "--readonly", "--blocks", "--blocks=a,b", "--with-dependents",
    "--form", "--as-is", "--post-outputs", "all", "none", "--tz", "Europe/Prague", "europe",
    "--notify",
    "failures", "—readonly", "-r", "--", "-", "=", "region=EU", "k=", 'k=""', "1x=2", "a-b=c",
    "every", "weekday", "at", "9am", '"0 9 * * 1-5"', "“", "”", "'", "‘", "’", "„", "«", "»",
    '"', "`", "\\", "&amp;", "&lt;", "<!channel>", "#12", "12", "0", "99999999999999999999",
    "\x00", "\u200b", "\ufeff", "\r\n", "\t", "\u00a0", "💥", "\U0001f1e8\U0001f1ff",
]  # fmt: skip

command_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=25).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=25).map("".join),
    st.tuples(st.sampled_from(WORDS), st.integers(3900, 4200)).map(
        lambda t: (t[0] + " ") * (t[1] // (len(t[0]) + 1))
    ),
    st.integers(0, 150).map(lambda n: "run sales " + " ".join(f"k{i}=v" for i in range(n))),
)


T = TypeVar("T")


def assert_short_user_error(err: UserError, about: str | None = None) -> None:
    assert err.message.strip()
    assert len(err.user_message) < MAX_MESSAGE
    if about is not None:
        assert getattr(err, "text", None) == about


def accepted(call: Callable[[], T]) -> T | None:
    """What `call` returns, or None when it refuses with a short user error."""
    try:
        return call()
    except UserError as err:
        assert_short_user_error(err)
        return None


@FUZZ
@given(command_text)
def test_parse_command_returns_a_command_or_a_user_error(text: str) -> None:
    cmd = accepted(lambda: parse_command(text))
    if cmd is not None:
        assert isinstance(cmd, Command)


@FUZZ
@given(st.text(max_size=200))
def test_tokenize_never_keeps_control_characters(text: str) -> None:
    for token in accepted(lambda: tokenize(text)) or []:
        assert not any(ord(c) < 32 and c not in "\t\n" for c in token)


@FUZZ
@given(
    st.lists(
        st.text(
            alphabet=st.characters(
                blacklist_categories=["Cc", "Cs", "Zs", "Zl", "Zp"],
                # Quotes group words; zero-width characters are dropped on purpose.
                blacklist_characters="\"'“”‘’„‚‛‟«»`\u200b\u2060\ufeff",
            ),
            min_size=1,
            max_size=10,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_quoted_words_survive_tokenizing(words: list[str]) -> None:
    """Any word without quotes or spaces comes back as itself when wrapped in quotes."""
    text = " ".join(f'"{w}"' for w in words)
    assert tokenize(text) == words


@FUZZ
@given(st.one_of(st.text(max_size=200), st.sampled_from(WORDS)))
def test_parse_notebook_ref_is_an_id_or_unknown(text: str) -> None:
    try:
        notebook_id = parse_notebook_ref(text)
    except UnknownNotebookRef as err:
        assert_short_user_error(err, about=text)
    else:
        assert len(notebook_id) == 32
        assert notebook_id == notebook_id.lower()


EVERY_TYPE = Notebook(
    "0123456789abcdef0123456789abcdef",
    "Every input *type*",
    (
        NotebookInput("title", "input-text"),
        NotebookInput("notes", "input-textarea"),
        NotebookInput("flag", "input-checkbox"),
        NotebookInput("months", "input-slider", min=1, max=24, step=1),
        NotebookInput("ratio", "input-slider", min=0, max=1, step=0.1),
        NotebookInput("flat", "input-slider", min=5, max=1, step=0),
        NotebookInput("wide", "input-slider", min=-1e308, max=1e308, step=5e-324),
        NotebookInput("odd", "input-slider", min=float("nan"), max=float("inf"), step=-1),
        NotebookInput("region", "input-select", options=("EU", "US", "a,b", "")),
        NotebookInput("regions", "input-select", options=("EU", "US", "a,b"), multiple=True),
        NotebookInput("none", "input-select", options=()),
        NotebookInput("free", "input-select", multiple=True),
        NotebookInput("start", "input-date"),
        NotebookInput("period", "input-date-range"),
        NotebookInput("upload", "input-file", allowed_extensions=".csv, xlsx;*.tsv"),
        NotebookInput("any", "input-file", allowed_extensions="*"),
        NotebookInput("mystery", "input-future-thing"),
    ),
)
NAMES = [i.name for i in EVERY_TYPE.inputs]
VALUES = [
    "", " ", "7", "07", "7.0", "7.5", "-0", "1e999999", "nan", "Infinity", "0.1", "9" * 40,
    "true", "No", "EU", "eu,us", "a,b", ",,,", "today", "yesterday", "2024-02-29", "2023-02-29",
    "2026-01-01..2026-12-31", "..", "today..yesterday", "customDays3650", "customDays99999999",
    "PASTMONTH", "x.CSV", "x.txt", "١٢", "１２", "\x00", "“", "💥" * 50,
]  # fmt: skip

raw_inputs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(NAMES), st.text(max_size=20)),
        st.one_of(st.sampled_from(VALUES), st.text(max_size=60)),
    ),
    max_size=120,
)


@FUZZ
@given(raw_inputs, st.dates())
def test_validate_inputs_returns_values_or_a_user_error(
    raw: list[tuple[str, str]], today: date
) -> None:
    values = accepted(lambda: validate_inputs(EVERY_TYPE, raw, today=today))
    if values is not None:
        assert set(values) <= set(NAMES)
        for value in values.values():
            assert isinstance(value, str | bool | list)
            assert isinstance(format_value(value), str)


def test_every_input_can_be_described() -> None:
    for inp in EVERY_TYPE.inputs:
        assert describe_input(inp)
