"""Every example the bot shows works: help's examples and the commands its error hints suggest
are typed into the real bot, against the console's sample notebooks, and are accepted.

"Accepted" is what a newcomer would notice: the command does its job (a card, a form, a
schedule, a listing) instead of answering with a :warning: about inputs or notebooks.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.commands import docs
from bot.commands.docs import COMMANDS, HINT_EXAMPLES
from bot.commands.parse import parse_command
from bot.errors import UserError
from bot.offline.simulator import HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from tests.conftest import Bots, Harness

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"

# The order a newcomer would go in: an alias before it is used or removed, schedules before
# they are paused. `status` comes last: its example names a run no fresh bot has.
ORDER = (
    "help",
    "alias",
    "aliases",
    "find",
    "inputs",
    "run",
    "schedule",
    "schedules",
    "edit",
    "pause",
    "resume",
    "trigger",
    "unschedule",
    "watch",
    "watches",
    "history",
    "unwatch",
    "audit",
    "unalias",
    "status",
)

# Commands that make the parser say what is wrong; their hints are where examples appear.
MISTAKES = (
    "run region=Europe",
    "run --as-is",
    "find",
    f"run {SALES_NOTEBOOK_ID} Europe",
    f"run {SALES_NOTEBOOK_ID} =Europe",
    f"run {SALES_NOTEBOOK_ID} --blocks",
    f"run {SALES_NOTEBOOK_ID} --blocks a!b",
    f"run {SALES_NOTEBOOK_ID} --post-outputs",
    f"run {SALES_NOTEBOOK_ID} --post-outputs all,top",
    f"run {SALES_NOTEBOOK_ID} --with-dependents",
    f"run {SALES_NOTEBOOK_ID} --form --as-is",
    f'run {SALES_NOTEBOOK_ID} report_title="Q3',
    f"schedule {SALES_NOTEBOOK_ID}",
    f"schedule {SALES_NOTEBOOK_ID} every day at 9am --tz",
    f"schedule {SALES_NOTEBOOK_ID} every day at 9am --tz Mars/Olympus",
    f"schedule {SALES_NOTEBOOK_ID} every day at 9am --notify sometimes",
    "inputs",
    "status",
    "pause x!",
    "alias",
    "unalias",
    "audit 0",
    "frobnicate",
)


@pytest.fixture
def admin_bot(bots: Bots) -> Harness:
    """A bot whose user is an admin, so `audit` answers (it is admins-only by design)."""
    return bots.start(ADMIN_USER_IDS=ALICE)


def _counts(h: Harness) -> tuple[int, int, int]:
    s = h.slack
    return len(s.response_url_posts), len(s.messages(CHANNEL)), len(s.views)


def _text(item: Any) -> str:
    payload = getattr(item, "payload", None)
    if payload is not None:
        return json.dumps([payload.get("blocks"), payload.get("text")], ensure_ascii=False)
    return json.dumps([getattr(item, "blocks", None), getattr(item, "text", None)])


def answer(h: Harness, text: str) -> str:
    """Type `/deepnote <text>` and return everything Slack showed for it."""
    before = _counts(h)
    resp = h.command(text, user_id=ALICE, channel_id=CHANNEL)
    assert resp.status_code == 200
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: _counts(h) != before, timeout=10)
    posts, messages, views = before
    new = [
        *h.slack.response_url_posts[posts:],
        *h.slack.messages(CHANNEL)[messages:],
        *h.slack.views[views:],
    ]
    return "\n".join(_text(item) for item in new)


def assert_accepted(h: Harness, text: str) -> str:
    """The command does its job: no warning, no refused run."""
    shown = answer(h, text)
    assert ":warning:" not in shown, f"/deepnote {text} was refused: {shown}"
    assert "could not be started" not in shown, f"/deepnote {text}: {shown}"
    return shown


def test_the_examples_name_the_console_samples() -> None:
    assert (docs.SALES, docs.QUALITY, docs.HELLO) == (
        SALES_NOTEBOOK_ID,
        QUALITY_NOTEBOOK_ID,
        HELLO_NOTEBOOK_ID,
    )


def test_every_help_example_works_against_the_samples(admin_bot: Harness) -> None:
    h = admin_bot
    assert sorted(ORDER) == sorted(doc.name for doc in COMMANDS)
    by_name = {doc.name: doc for doc in COMMANDS}
    for name in ORDER[:-1]:
        for example in by_name[name].examples:
            assert_accepted(h, example)
    runs = [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]
    # Three `run` examples start at once (the `--form` one waits for its form) and `trigger 1`.
    assert len(runs) == 4
    # The run form of the `--form` example and the edit form of `edit 1`.
    assert len(h.slack.views) == 2
    # Four schedules were made and `unschedule 1` removed one.
    rows = h.bot.services.db.query("SELECT id FROM schedules ORDER BY id")
    assert [r["id"] for r in rows] == [2, 3, 4]
    # `status` names a run id in the shape the card shows: the only complaint is that no run
    # has that id yet, never the command's form.
    (status,) = by_name["status"].examples
    shown = answer(h, status)
    assert "The bot has no run" in shown, shown


def _hint_spans(text: str) -> list[str]:
    """The commands and command pieces a parse error's hint suggests."""
    try:
        parse_command(text)
    except UserError as exc:
        hint = exc.hint or ""
    else:  # pragma: no cover - the corpus is of mistakes
        raise AssertionError(f"{text!r} was accepted")
    spans = re.findall(r"`([^`]+)`", hint.replace("&lt;", "<").replace("&gt;", ">"))
    # Usage lines (`<notebook>`, `[count]`, `a|b`, `name=value`) say how to write a command;
    # they are not examples.
    examples = [s for s in spans if not re.search(r"[<\[|]|name=value", s)]
    return [s for s in examples if "=" in s or s.startswith(("--", "/deepnote "))]


def _as_command(span: str) -> str:
    """A hint's piece as a whole command on the *Sales report* sample."""
    if span.startswith("/deepnote "):
        return span.removeprefix("/deepnote ")
    if span.startswith(("--tz", "--notify")):
        return f"schedule {SALES_NOTEBOOK_ID} every day at 9am {span}"
    if span.startswith("--"):
        return f"run {SALES_NOTEBOOK_ID} region=Europe {span}"
    return f"run {SALES_NOTEBOOK_ID} {span}"


def test_every_example_in_error_hints_works_against_the_samples(admin_bot: Harness) -> None:
    h = admin_bot
    spans = dict.fromkeys(span for text in MISTAKES for span in _hint_spans(text))
    spans.update(dict.fromkeys(HINT_EXAMPLES))
    # The hints do suggest things: inputs, quoting, options and whole commands.
    for expected in ("region=Europe", 'report_title="Q3 report"', "--blocks", "--tz"):
        assert any(expected in span for span in spans), expected
    assert any(span.startswith("/deepnote run ") for span in spans)
    for span in spans:
        if span.startswith(("/deepnote pause", "/deepnote status", "/deepnote unalias")):
            continue  # need a schedule, a run or an alias: help's test runs them in order
        assert_accepted(h, _as_command(span))
