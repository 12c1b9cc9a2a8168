"""Read a schedule as a user types it: crontab(5), an @macro, or plain English.

This is the entry point the schedule service uses; `cron` and `english` do the reading.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.errors import UserError
from bot.schedules.cron import parse_cron
from bot.schedules.english import EXAMPLES_HINT, parse_english
from bot.schedules.recurrence import Recurrence, shown
from bot.text.mrkdwn import fill

_MAX_TEXT = 200


def parse_when(text: str) -> Recurrence:
    """Read a schedule typed by a user: crontab(5), an @macro or plain English.

    >>> parse_when("every weekday at 9am").expression
    '0 9 * * 1-5'
    >>> parse_when("*/15 * * * *").expression
    '*/15 * * * *'
    """
    s = _normalize(text)
    if not s:
        raise UserError("Tell me when the schedule should run.", hint=EXAMPLES_HINT)
    if len(s) > _MAX_TEXT:
        raise _not_understood(text)
    if s.startswith("@"):
        return _parse_macro(s)
    tokens = s.split(" ")
    if _looks_like_cron(tokens):
        return parse_cron(tokens)
    english = parse_english(s)
    if english is None:
        raise _not_understood(text)
    cron, note = english
    return replace(parse_cron(cron.split(" ")), note=note)


def _not_understood(text: str) -> UserError:
    return UserError(
        fill('I could not understand "{text}" as a schedule.', text=shown(text)),
        hint=EXAMPLES_HINT,
    )


def _normalize(text: str) -> str:
    s = text.strip().strip("`\"'“”‘’").strip().lower()
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s.rstrip(".").strip()


_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def _parse_macro(s: str) -> Recurrence:
    if s in _MACROS:
        return parse_cron(_MACROS[s].split(" "))
    if s == "@reboot":
        raise UserError(
            "`@reboot` runs when a machine starts; a schedule here needs times on a clock.",
            hint=EXAMPLES_HINT,
        )
    raise UserError(
        f"Unknown cron macro `{s}`.",
        hint="The macros are " + ", ".join(f"`{m}`" for m in _MACROS) + ".",
    )


_CRON_TOKEN = re.compile(r"(?:[0-9*?#/,\-]|[a-z]{3}(?![a-z])|(?<![a-z])[lw](?![a-z]))+")


_ENGLISH_WORDS = {"every", "each", "at", "on", "and", "am", "pm", "daily", "hourly", "past"}
_ENGLISH_WORDS |= {"minute", "minutes", "hour", "hours", "day", "days", "week", "month"}


def _looks_like_cron(tokens: list[str]) -> bool:
    """Crontab-shaped: starts like a cron field, no English words, five fields or cron text."""
    return (
        len(tokens) >= 2
        and tokens[0][0] in "0123456789*?,/-"
        and not _ENGLISH_WORDS.intersection(tokens)
        and (len(tokens) >= 5 or all(_CRON_TOKEN.fullmatch(t) for t in tokens))
    )
