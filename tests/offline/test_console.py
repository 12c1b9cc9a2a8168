"""`deepnote-bot console`: Block Kit rendered for a terminal, and the console end to end.

The end-to-end tests start the console as a user would, in a subprocess, with no Slack or
Deepnote settings at all: the console must bring its own stand-in and simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.offline.console import slash_text
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.terminal import BOLD, CODE, render_message, render_view

ROOT = Path(__file__).resolve().parents[2]
WJ = "\u2060"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# -- render_message: pure, a table of cases --------------------------------------------------

PLAIN_CASES = [
    pytest.param("*bold* _italic_ ~gone~", "bold italic gone", id="bold-italic-strike"),
    pytest.param("a `code` b", "a code b", id="inline-code"),
    pytest.param("`*not bold*`", "*not bold*", id="no-formatting-inside-code"),
    pytest.param("see <https://x.test/a|the docs>", "see the docs (https://x.test/a)", id="link"),
    pytest.param("<https://x.test/a>", "https://x.test/a", id="bare-link"),
    pytest.param("<https://x.test/a?b=1&amp;c=2|q>", "q (https://x.test/a?b=1&c=2)", id="link-amp"),
    pytest.param("hi <@U0ANN>", "hi @Ann", id="user-known"),
    pytest.param("hi <@U0ZED>", "hi @U0ZED", id="user-unknown"),
    pytest.param("in <#C0GEN>", "in #general", id="channel"),
    pytest.param("in <#C0X|ops>", "in #ops", id="channel-label"),
    pytest.param("<!here> now", "@here now", id="broadcast"),
    pytest.param("<!date^1700000000^{date_short}|Nov 14>", "Nov 14", id="date-fallback"),
    pytest.param("a &lt;b&gt; &amp;lt;", "a <b> &lt;", id="entities"),
    pytest.param(f"{WJ}*{WJ}x{WJ}*{WJ} a\u200bb", "*x* ab", id="escaped-markers-stay"),
    pytest.param("snake_case_name", "snake_case_name", id="underscores-in-words"),
    pytest.param("x*y*z", "x*y*z", id="no-boundary-no-bold"),
    pytest.param("(*bold*).", "(bold).", id="punctuation-is-a-boundary"),
    pytest.param(":warning: oops :nope:", "⚠️ oops :nope:", id="emoji-codes"),
    pytest.param("*Why*\n```a &lt; b\nc```", "Why\n│ a < b\n│ c", id="code-block"),
    pytest.param("```x```\nafter", "│ x\nafter", id="code-block-then-text"),
    pytest.param("*<https://x.test|name>* ok", "name (https://x.test) ok", id="bold-link"),
]


@pytest.mark.parametrize(("text", "expected"), PLAIN_CASES)
def test_mrkdwn_as_plain_text(text: str, expected: str) -> None:
    users = {"U0ANN": "Ann"}
    channels = {"C0GEN": "general"}
    shown = render_message("fallback", [section(text)], color=False, users=users, channels=channels)
    assert shown == expected
    # Without blocks the fallback text is rendered the same way.
    assert render_message(text, None, color=False, users=users, channels=channels) == expected


BLOCK_CASES = [
    pytest.param(
        [{"type": "header", "text": {"type": "plain_text", "text": "Commands"}}],
        "Commands\n════════",
        id="header",
    ),
    pytest.param(
        [
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Revenue*\n$10"},
                    {"type": "plain_text", "text": "*as is*"},
                ],
            }
        ],
        "Revenue\n$10\n*as is*",
        id="fields",
    ),
    pytest.param(
        [
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Run `abc`"},
                    {"type": "image", "image_url": "https://x.test/i.png", "alt_text": "logo"},
                ],
            }
        ],
        "Run abc · [image: logo]",
        id="context",
    ),
    pytest.param(
        [
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Re-run"}},
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open"},
                        "url": "https://x.test",
                    },
                ],
            }
        ],
        "[Re-run] [Open]",
        id="actions-buttons",
    ),
    pytest.param([{"type": "divider"}], "─" * 40, id="divider"),
    pytest.param(
        [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "Hi "},
                            {"type": "user", "user_id": "U0ANN"},
                            {"type": "emoji", "name": "tada", "unicode": "1f389"},
                        ],
                    },
                    {
                        "type": "rich_text_preformatted",
                        "elements": [{"type": "text", "text": "print(1)\nprint(2)"}],
                    },
                    {
                        "type": "rich_text_list",
                        "style": "ordered",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [{"type": "text", "text": "one"}],
                            }
                        ],
                    },
                ],
            }
        ],
        "Hi @Ann🎉\n│ print(1)\n│ print(2)\n1. one",
        id="rich-text",
    ),
    pytest.param(
        [section("*Title*"), {"type": "mystery"}],
        "Title\n[mystery block]",
        id="unknown-block",
    ),
    pytest.param(
        [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Pick"},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Go"},
                },
            }
        ],
        "Pick\n[Go]",
        id="section-accessory",
    ),
]


@pytest.mark.parametrize(("blocks", "expected"), BLOCK_CASES)
def test_blocks_as_plain_text(blocks: list[dict[str, Any]], expected: str) -> None:
    assert render_message("fallback", blocks, color=False, users={"U0ANN": "Ann"}) == expected


def test_colour_uses_ansi_styles_and_plain_has_none() -> None:
    text = "*Done* `id`"
    coloured = render_message(text, None, color=True)
    assert coloured == f"{BOLD[0]}Done{BOLD[1]} {CODE[0]}id{CODE[1]}"
    assert "\033" not in render_message(text, None, color=False)


def test_modal_shows_title_inputs_and_buttons() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Run Sales report"},
        "submit": {"type": "plain_text", "text": "Run"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Region"},
                "element": {"type": "plain_text_input", "initial_value": "Europe"},
            }
        ],
    }
    assert render_view(view, color=False) == "Run Sales report\nRegion: [Europe]\n[Cancel] [Run]"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/deepnote run x a=1", "run x a=1"),
        ("  /DEEPNOTE help ", "help"),
        ("/deepnote", ""),
        ("run x", "run x"),
        ("/giphy cats", None),
    ],
)
def test_slash_text(line: str, expected: str | None) -> None:
    assert slash_text(line) == expected


# -- end to end, in a subprocess -------------------------------------------------------------

FAST = ["--sim-pending-seconds", "0.2", "--sim-running-seconds", "0.3", "--timeout", "30"]


def clean_env() -> dict[str, str]:
    """The environment of someone who has configured nothing."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DEEPNOTE_"))
        and k not in ("DATABASE_PATH", "POLL_INTERVAL_SECONDS", "LOG_LEVEL", "NO_COLOR")
    }
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def console(
    *args: str, stdin: str | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**clean_env(), **(extra or {})},
        cwd=ROOT,
        timeout=60,
    )


def shows(result: subprocess.CompletedProcess[str], *texts: str) -> None:
    """Every text is in the console's output (which the failure message shows in full)."""
    missing = [t for t in texts if t not in result.stdout]
    assert not missing, f"missing {missing} in:\n{result.stdout}\n--- stderr:\n{result.stderr}"


def test_run_succeeds_card_edited_and_thread_reply() -> None:
    result = console("-c", f"/deepnote run {HELLO_NOTEBOOK_ID}", *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    shows(
        result,
        "No DEEPNOTE_API_KEY set: using the built-in Deepnote simulator",
        f"{HELLO_NOTEBOOK_ID}  Hello world",
        "Deepnote · message 1",
        "⏳ Hello world is starting",
        "Open in Deepnote]",
        "✎ card updated (message 1)",
        "succeeded in",
        "replied in the thread of message 1",
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert "\033[" not in result.stdout  # not a terminal: no colour


def test_the_console_never_uses_a_deployments_postgres_database() -> None:
    # On a Heroku one-off dyno: DATABASE_URL (here unreachable) and DYNO are set.
    deployed = {"DATABASE_URL": "postgres://bot:pw-55@127.0.0.1:1/prod", "DYNO": "run.1"}
    result = console("-c", f"/deepnote run {HELLO_NOTEBOOK_ID}", *FAST, extra=deployed)
    assert result.returncode == 0, result.stdout + result.stderr
    shows(result, "succeeded in")


def test_failed_run_exits_1_and_shows_why() -> None:
    result = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID} region=Mars", *FAST)
    assert result.returncode == 1, result.stdout + result.stderr
    shows(result, "ZeroDivisionError", "replied in the thread of message 1")


def test_refused_command_exits_2_naming_the_input() -> None:
    result = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID} regoin=x", *FAST)
    assert result.returncode == 2, result.stdout + result.stderr
    shows(result, "only visible to you", "regoin")
    assert "message 1" not in result.stdout  # nothing was posted in the channel


def test_interactive_session_from_stdin() -> None:
    script = f"help\n/deepnote run {HELLO_NOTEBOOK_ID}\nexit\n"
    result = console(*FAST, stdin=script)
    assert result.returncode == 0, result.stdout + result.stderr
    shows(
        result,
        "Type exit or press Ctrl-D to leave",
        "Deepnote bot commands",
        f"#general> /deepnote run {HELLO_NOTEBOOK_ID}",
        "succeeded in",
        "replied in the thread of message 1",
    )
    out = result.stdout
    assert out.index("Deepnote bot commands") < out.index("succeeded in")


def test_bad_notebooks_folder_is_one_clear_message(tmp_path: Path) -> None:
    result = console("--notebooks", str(tmp_path / "missing"), "-c", "help")
    assert result.returncode == 2
    assert result.stderr.strip() == f"--notebooks {tmp_path / 'missing'}: no such folder."
