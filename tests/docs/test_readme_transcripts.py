"""README's console transcripts of a run (success and failure) are what the bot says today.

The bot's real messages, from a real run against the simulator, are drawn as text the way
the console draws them and compared with README's transcripts, ids and times left out.
"""

from __future__ import annotations

import re

import pytest

from bot.offline.simulator import HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID
from bot.offline.terminal import render_message
from tests.conftest import Harness
from tests.docs.test_docs import README

CHANNEL = "C0GENERAL"

_VARIABLE = (
    (re.compile(r"\(http://127\.0\.0\.1:\d+/_snapshots/[^)\s]*\)"), "(<snapshot link>)"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"Bot run [0-9a-f]{32}"), "Bot run <id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"), "<time>"),
    (re.compile(r"\b\d+ s\b"), "<n> s"),
    # The console numbers buttons (`[2: Re-run]`) so they can be pressed.
    (re.compile(r"\[\d+: "), "["),
)


def normalized(text: str) -> set[str]:
    """Lines as a reader compares them: no frame characters, ids or times."""
    lines = set()
    for line in text.splitlines():
        line = " ".join(line.replace("│", " ").split())
        for pattern, replacement in _VARIABLE:
            line = pattern.sub(replacement, line)
        if line:
            lines.add(line)
    return lines


def _transcript(label: str) -> str:
    match = re.search(re.escape(label) + r".*?```text\n(.*?)```", README, re.S)
    assert match, f"README has no transcript after {label!r}"
    return match.group(1)


def _run(h: Harness, text: str) -> str:
    h.command(text)
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    (card,) = h.slack.messages(CHANNEL)
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    users = {"U0ALICE": "you"}
    return "\n".join(
        render_message(m.text, m.blocks, color=False, users=users) for m in (card, reply)
    )


@pytest.mark.parametrize(
    ("label", "command", "must_say"),
    [
        ("A success (*Hello world*", f"run {HELLO_NOTEBOOK_ID}", "Hello world succeeded"),
        (
            "A failure (*Data quality check*",
            f"run {QUALITY_NOTEBOOK_ID} dataset=orders_with_gaps",
            "Failing block:",
        ),
    ],
)
def test_readme_transcript_is_what_the_bot_says(
    harness: Harness, label: str, command: str, must_say: str
) -> None:
    readme = _transcript(label)
    assert f"#general> /deepnote {command}\n" in readme
    said = _run(harness, command)
    assert must_say in said
    missing = sorted(normalized(said) - normalized(readme))
    assert not missing, f"README's transcript ({label}) lacks what the bot now says: {missing}"
