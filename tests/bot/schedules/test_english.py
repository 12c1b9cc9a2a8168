"""Plain-English schedules: phrases, times, defaults and what is refused."""

from __future__ import annotations

import pytest

from bot.schedules.describe import describe
from bot.schedules.english import EXAMPLES
from bot.schedules.when import parse_when
from tests.bot.schedules.support import (
    user_error,
)


@pytest.mark.parametrize(
    ("text", "expression", "words"),
    [
        ("every day at 9:00", "0 9 * * *", "every day at 09:00"),
        ("every day at 9", "0 9 * * *", "every day at 09:00"),
        ("Every  Day  at 09:00.", "0 9 * * *", "every day at 09:00"),
        ("daily at 18:30", "30 18 * * *", "every day at 18:30"),
        ("every weekday at 9am", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("weekdays at 9 am", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("at 9am every weekday", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("9am every weekday", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("every weekend at 10:00", "0 10 * * 0,6", "every Saturday and Sunday at 10:00"),
        ("every monday at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        ("every Monday at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        ("mondays at 8:30", "30 8 * * 1", "every Monday at 08:30"),
        (
            "every mon, wed and fri at 7pm",
            "0 19 * * 1,3,5",
            "every Monday, Wednesday and Friday at 19:00",
        ),
        (
            "every mon,wed, and fri at 7pm",
            "0 19 * * 1,3,5",
            "every Monday, Wednesday and Friday at 19:00",
        ),
        (
            "every tuesday and thursday at 12:30pm",
            "30 12 * * 2,4",
            "every Tuesday and Thursday at 12:30",
        ),
        ("every mon-fri at 9", "0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        (
            "every monday to thursday at 9",
            "0 9 * * 1-4",
            "every Monday, Tuesday, Wednesday and Thursday at 09:00",
        ),
        ("every friday at 5pm", "0 17 * * 5", "every Friday at 17:00"),
        ("every sunday at 11:59 p.m.", "59 23 * * 0", "every Sunday at 23:59"),
        ("every day at noon", "0 12 * * *", "every day at 12:00"),
        ("every day at midnight", "0 0 * * *", "every day at 00:00"),
        ("daily at 9 o'clock", "0 9 * * *", "every day at 09:00"),
        ("every day at 9am and 5pm", "0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("every hour", "0 * * * *", "every hour"),
        ("hourly", "0 * * * *", "every hour"),
        ("every hour at :15", "15 * * * *", "at minute 15 of every hour"),
        ("hourly at :45", "45 * * * *", "at minute 45 of every hour"),
        ("every hour at 15 past", "15 * * * *", "at minute 15 of every hour"),
        ("every hour at minute 5", "5 * * * *", "at minute 5 of every hour"),
        ("every minute", "* * * * *", "every minute"),
        ("every 1 minute", "* * * * *", "every minute"),
        ("every 15 minutes", "*/15 * * * *", "every 15 minutes"),
        ("every 5 mins", "*/5 * * * *", "every 5 minutes"),
        ("every 30 minutes", "*/30 * * * *", "every 30 minutes"),
        ("every 2 hours", "0 */2 * * *", "every 2 hours"),
        ("every 6 hours at :30", "30 */6 * * *", "every day at 00:30, 06:30, 12:30 and 18:30"),
        ("every 3 hours at :30", "30 */3 * * *", "every 3 hours at minute 30"),
        ("every 1 hour", "0 * * * *", "every hour"),
        (
            "every 15 minutes on weekdays",
            "*/15 * * * 1-5",
            "every 15 minutes on weekdays (Mon–Fri)",
        ),
        ("every hour on mondays", "0 * * * 1", "every hour on Mondays"),
        ("every month on the 1st at 06:00", "0 6 1 * *", "on the 1st of every month at 06:00"),
        ("monthly on the 2nd at 6am", "0 6 2 * *", "on the 2nd of every month at 06:00"),
        ("on the 3rd of every month at 7:15", "15 7 3 * *", "on the 3rd of every month at 07:15"),
        (
            "every month on the 1st and 15th at 8",
            "0 8 1,15 * *",
            "on the 1st and 15th of every month at 08:00",
        ),
        (
            "every month on the 31st at 23:00",
            "0 23 31 * *",
            "on the 31st of every month at 23:00 (skipped in months without a 31st)",
        ),
    ],
)
def test_english(text: str, expression: str, words: str) -> None:
    rec = parse_when(text)
    assert rec.expression == expression
    assert describe(rec) == words
    assert parse_when(rec.expression) == rec


@pytest.mark.parametrize(
    ("text", "expression", "assumed"),
    [
        ("every day", "0 9 * * *", "09:00 by default"),
        ("daily", "0 9 * * *", "09:00 by default"),
        ("every weekday", "0 9 * * 1-5", "09:00 by default"),
        ("every month on the 15th", "0 9 15 * *", "09:00 by default"),
        ("monthly", "0 9 1 * *", "the 1st at 09:00 by default"),
    ],
)
def test_english_defaults_are_stated(text: str, expression: str, assumed: str) -> None:
    rec = parse_when(text)
    assert rec.expression == expression
    assert assumed in describe(rec)
    assert "at 09:00" in describe(rec)
    assert rec == parse_when(rec.expression)  # the note is not part of the schedule


@pytest.mark.parametrize(
    ("time_text", "hour", "minute"),
    [
        ("9", 9, 0),
        ("9:00", 9, 0),
        ("09:00", 9, 0),
        ("9am", 9, 0),
        ("9 am", 9, 0),
        ("9AM", 9, 0),
        ("9 a.m.", 9, 0),
        ("9:30pm", 21, 30),
        ("9:30 pm", 21, 30),
        ("9.30", 9, 30),
        ("12am", 0, 0),
        ("12pm", 12, 0),
        ("12:30am", 0, 30),
        ("1am", 1, 0),
        ("0:00", 0, 0),
        ("23:59", 23, 59),
        ("noon", 12, 0),
        ("midnight", 0, 0),
    ],
)
def test_english_times(time_text: str, hour: int, minute: int) -> None:
    rec = parse_when(f"every day at {time_text}")
    assert (rec.hours, rec.minutes) == (frozenset({hour}), frozenset({minute}))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("every day at 25", '"25" is not a valid time: the hour goes from 0 to 23'),
        ("every day at 24:00", '"24:00" is not a valid time'),
        ("every day at 9:75", '"9:75" is not a valid time: minutes go from 00 to 59'),
        ("every day at 13pm", '"13pm" is not a valid time: with am/pm the hour goes from 1 to 12'),
        ("every day at 0am", "with am/pm the hour goes from 1 to 12"),
        ("every 7 minutes", "every 7 minutes"),
        ("every 45 minutes", "the minutes must divide the hour evenly"),
        ("every 60 minutes", "`every hour`"),
        ("every 0 minutes", "every 0 minutes"),
        ("every 5 hours", "the hours must divide the day evenly"),
        ("every 24 hours", "`every day at 9:00`"),
        ("every hour at :75", "Minute 75 is not valid"),
        ("every hour at half past", '"half past" is not a minute of the hour'),
        ("every day at 9:00 and 17:30", "09:00 and 17:30 need separate schedules"),
        ("every other monday at 9", "cannot skip weeks"),
        ("fortnightly", "cannot skip weeks"),
        ("every month on the last day", "the last day of the month"),
        ("every month on the 32nd", "There is no day 32 in a month"),
        ("every month on the first", '"first" is not a day of the month'),
    ],
)
def test_invalid_english(text: str, fragment: str) -> None:
    error = user_error(text)
    assert fragment in error.message
    assert error.hint


@pytest.mark.parametrize(
    "text",
    [
        "blah",
        "tomorrow",
        "at 9am",
        "every day at",
        "every blursday at 9",
        "every 15 parsecs",
        "9 every",
        "every day at 9:00 please",
        "sometime next week",
    ],
)
def test_not_understood(text: str) -> None:
    error = user_error(text)
    assert error.message == f'I could not understand "{text}" as a schedule.'
    hint = error.hint or ""
    assert "`every weekday at 9am`" in hint  # English
    assert "`30 9 * * 1-5`" in hint  # cron


def test_empty_text() -> None:
    for text in ("", "   ", "."):
        assert "when the schedule should run" in user_error(text).message


def test_long_text_is_shortened_in_the_error() -> None:
    message = user_error("x" * 500).message
    assert len(message) < 140
    assert "..." in message


def test_examples_all_parse_and_read_well() -> None:
    assert len(EXAMPLES) >= 8
    assert any(e[0].isdigit() for e in EXAMPLES)
    assert any(e.startswith("@") for e in EXAMPLES)
    for example in EXAMPLES:
        words = describe(parse_when(example))
        assert not words.startswith("cron")
