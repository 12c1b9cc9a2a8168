"""`deepnote-bot console` end to end, in a subprocess: commands that start no run end at once,
buttons are pressed and forms filled in (the bot gets Slack's signed payloads), `-c` sends a
form with its pre-filled values or `--set` ones, `--admin`, and the exit codes.

Time bounds include starting the process, and are generous for a loaded 2-core machine.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.offline.console import Console, ConsoleOptions
from bot.offline.session import LineReader, Session
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from tests.offline.test_console import FAST, ROOT, clean_env

# A command that starts no run must end well within this, process start included.
QUICK = 10.0


@dataclass(frozen=True)
class Ran:
    """A finished console process: its exit code, what it printed, how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def shows(self, *texts: str) -> None:
        """Every text is in the output (which the failure message shows in full)."""
        missing = [t for t in texts if t not in self.stdout]
        assert not missing, f"missing {missing} in:\n{self.stdout}\n--- stderr:\n{self.stderr}"

    def explain(self) -> str:
        """The whole output, for an assertion message."""
        return f"exit {self.returncode} after {self.seconds:.1f} s:\n{self.stdout}\n{self.stderr}"


def console(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Ran:
    """Run `deepnote-bot console` as a person would, with nothing configured."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**clean_env(), **(env or {})},
        cwd=ROOT,
        timeout=90,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


# -- commands that start no run ------------------------------------------------------------------

NO_RUN = [
    pytest.param(f"schedule {HELLO_NOTEBOOK_ID} every day at 9am", 0, "scheduled", id="schedule"),
    pytest.param("schedules", 0, "There are no schedules in this channel", id="schedules"),
    pytest.param(f"inputs {SALES_NOTEBOOK_ID}", 0, "region", id="inputs"),
    pytest.param(f"alias hello {HELLO_NOTEBOOK_ID}", 0, "hello now names Hello world", id="alias"),
    pytest.param("aliases", 0, "alias", id="aliases"),
    pytest.param("help", 0, "Deepnote bot commands", id="help"),
    pytest.param("", 0, "Deepnote bot commands", id="bare"),
    pytest.param("pause 1", 2, "There is no schedule 1", id="pause-missing"),
    pytest.param("resume 1", 2, "There is no schedule 1", id="resume-missing"),
    pytest.param("unschedule 1", 2, "There is no schedule 1", id="unschedule-missing"),
    pytest.param("trigger 1", 2, "There is no schedule 1", id="trigger-missing"),
    pytest.param("unalias nope", 2, "nope", id="unalias-missing"),
    pytest.param("status 3f2b7c1e-9a4d-4c1b-8e2f-6a7b8c9d0e1f", 2, "3f2b7c1e", id="status-missing"),
    pytest.param("audit", 2, "Only bot admins", id="audit-not-admin"),
    pytest.param("bogus", 2, "not a /deepnote command", id="unknown"),
]


@pytest.mark.parametrize(("command", "code", "reply"), NO_RUN)
def test_a_command_that_starts_no_run_ends_when_answered(
    command: str, code: int, reply: str
) -> None:
    ran = console("-c", f"/deepnote {command}", *FAST)
    assert ran.returncode == code, ran.explain()
    assert ran.seconds < QUICK, ran.explain()
    ran.shows(reply)
    assert "has not" not in ran.stdout  # neither "has not finished" nor "has not answered"


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("/giphy cats", "Only /deepnote commands"),
        ("/press 1", "Only /deepnote commands"),
    ],
)
def test_c_refuses_what_is_not_a_deepnote_command(line: str, said: str) -> None:
    ran = console("-c", line, *FAST)
    assert ran.returncode == 2, ran.explain()
    assert ran.seconds < QUICK, ran.explain()
    ran.shows(said)


def test_schedule_changes_end_at_once_with_their_confirmation(tmp_path: Path) -> None:
    # The same database across processes, so the second one has a schedule to change.
    env = {"DATABASE_PATH": str(tmp_path / "bot.db")}
    made = console("-c", f"/deepnote schedule {HELLO_NOTEBOOK_ID} every day at 9am", env=env)
    assert made.returncode == 0, made.explain()
    changes = (
        ("pause 1", "@you paused schedule 1"),
        ("resume 1", "@you resumed schedule 1"),
        ("unschedule 1", "@you deleted schedule 1"),
    )
    for command, said in changes:
        ran = console("-c", f"/deepnote {command}", env=env)
        assert ran.returncode == 0, ran.explain()
        assert ran.seconds < QUICK, ran.explain()
        ran.shows("Deepnote · message 1", said)


def test_piped_session_of_schedule_commands_ends_quickly() -> None:
    script = f"schedule {HELLO_NOTEBOOK_ID} every day at 9am\npause 1\nresume 1\nunschedule 1\n"
    ran = console(*FAST, stdin=script)
    assert ran.returncode == 0, ran.explain()
    assert ran.seconds < 2 * QUICK, ran.explain()
    ran.shows("#general> /deepnote unschedule 1", "message 4")
    assert "has not finished" not in ran.stdout


def test_piped_watch_shows_a_run_started_elsewhere_and_history() -> None:
    """`/elsewhere` starts a run as Deepnote's scheduler would; piped, the next line waits until
    the watch has shown it (its card, who started it, its reply)."""
    script = (
        f"watch {HELLO_NOTEBOOK_ID}\n/elsewhere {HELLO_NOTEBOOK_ID} schedule\n"
        f"history {HELLO_NOTEBOOK_ID}\nwatches\n/elsewhere {HELLO_NOTEBOOK_ID} robot\n"
    )
    ran = console(*FAST, stdin=script, env={"WATCH_POLL_SECONDS": "2"})
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "is watching Hello world in this channel: watch 1.",
        "outside the bot (as schedule)",
        "Started by Deepnote's scheduler, seen by watch 1",
        "replied in the thread of message 2",
        "The latest run of Hello world",
        "1 of 1 finished runs succeeded (100%)",
        "Watches in this channel (1)",
        "The simulator refused the run: source must be one of user, schedule, api, ci",
    )


# -- -c and forms --------------------------------------------------------------------------------


def test_c_sends_the_run_form_with_its_prefilled_values() -> None:
    ran = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID}", *FAST)
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "▣ modal opened",
        "-c presses [Run] on the form with its pre-filled values",
        "▣ form sent; the modal closed",
        "Revenue · Europe",  # the form's pre-filled region
        "replied in the thread of message 1",
    )
    assert "has not answered" not in ran.stdout


def test_c_set_changes_a_field_and_the_run_uses_it() -> None:
    ran = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID}", "--set", "region=Mars", *FAST)
    assert ran.returncode == 1, ran.explain()  # the sample fails on Mars, on purpose
    ran.shows("except region=Mars (--set)", "ZeroDivisionError")


def test_c_form_refused_by_the_bot_shows_the_error_next_to_its_field() -> None:
    ran = console(
        "-c", f"/deepnote run {SALES_NOTEBOOK_ID}", "--set", "price_list=prices.txt", *FAST
    )
    assert ran.returncode == 2, ran.explain()
    assert ran.seconds < QUICK, ran.explain()
    ran.shows("The bot did not take the form", "Price list: prices.txt is not an allowed file type")
    assert "Deepnote · message" not in ran.stdout  # nothing started


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("nosuch=1", "the form has no field 'nosuch'; its fields are: report_title"),
        ("region=Atlantis", "'Atlantis' is not one of the options: 1 Europe"),
        ("top_n=99", "enter a number from 1 to 10"),
        ("as_of=31.1.2026", "is not a date; type it as YYYY-MM-DD"),
    ],
)
def test_c_set_that_slack_would_not_take_sends_nothing(setting: str, said: str) -> None:
    ran = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID}", "--set", setting, *FAST)
    assert ran.returncode == 2, ran.explain()
    ran.shows(said, "The form was not sent.")
    assert "form sent" not in ran.stdout


def test_form_and_blocks_alone_open_the_form_too() -> None:
    block = Simulator(api_key="k").notebooks[SALES_NOTEBOOK_ID].blocks[-1]["id"]
    typed = console("-c", f'/deepnote run {SALES_NOTEBOOK_ID} region="Asia Pacific" --form', *FAST)
    assert typed.returncode == 0, typed.explain()
    typed.shows("-c presses [Run]", "Revenue · Asia Pacific")
    blocks = console("-c", f"/deepnote run {SALES_NOTEBOOK_ID} --blocks {block}", *FAST)
    assert blocks.returncode == 0, blocks.explain()
    blocks.shows("-c presses [Run]", "form sent", "replied in the thread of message 1")


def test_set_needs_c() -> None:
    ran = console("--set", "region=Mars")
    assert ran.returncode == 2
    assert "use it with -c" in ran.stderr


# -- buttons and forms, typed ------------------------------------------------------------------

SALES_FIELDS = 11  # report_title, notes, include_returns, region, channels, top_n, as_of,
# period (from, to, preset), price_list


def test_pressing_rerun_starts_the_run_again() -> None:
    script = f"run {HELLO_NOTEBOOK_ID}\n/buttons\n/press 2\n/press 99\n/press 1\nexit\n"
    ran = console(*FAST, stdin=script)
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "[1: Open in Deepnote] [2: Re-run] [3: Re-run with changes…]",
        "  [2: Re-run] on message 1",
        "You pressed [2: Re-run].",
        "Deepnote · message 2",
        "replied in the thread of message 2",
        "Button [99] does not exist; /buttons lists the buttons you can press.",
        "You pressed [1: Open in Deepnote].",
        "Slack opens https://deepnote.com/",
    )
    out = ran.stdout
    assert out.index("You pressed [2: Re-run].") < out.index("Deepnote · message 2")


def test_run_form_filled_in_field_by_field_with_the_bots_errors() -> None:
    answers = [""] * SALES_FIELDS
    answers[3] = "3"  # region: Asia Pacific, by its number
    answers[5] = "25\n7"  # top_n: out of the field's bounds (Slack refuses it), then 7
    answers[10] = "prices.txt"  # price_list: the bot refuses its file type
    script = "\n".join([f"run {SALES_NOTEBOOK_ID}", *answers, "", "prices/2026.csv", "", "exit"])
    ran = console(*FAST, stdin=script + "\n")
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "Region [Europe]: 3",
        "1 Europe · 2 North America · 3 Asia Pacific · 4 Mars",
        "Products to show [5]: 25",
        "⚠️ enter a number from 1 to 10",
        "Products to show [5]: 7",
        "⚠️ Price list: prices.txt is not an allowed file type",
        "Price list [prices.txt]: prices/2026.csv",
        "Revenue · Asia Pacific",
        "replied in the thread of message 1",
    )
    # Only the field with an error is asked for again.
    assert ran.stdout.count("Region [") == 1


def test_rerun_with_changes_cancel_and_open_the_form_again() -> None:
    keep = "\n" * (SALES_FIELDS + 1)
    script = (
        f"run {SALES_NOTEBOOK_ID} region=Mars\n/press 3\n/cancel\n/form\n\n\n\n1\n{keep[4:]}exit\n"
    )
    ran = console(*FAST, stdin=script)
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "ZeroDivisionError",
        "You pressed [3: Re-run with changes…].",
        "Region [Mars]",  # the form holds the card's inputs
        "The form is closed and nothing was sent; /form opens it again.",
        "Region [Mars]: 1",
        "Revenue · Europe",
        "replied in the thread of message 2",
    )


def test_bare_run_picks_a_notebook_by_number_then_fills_its_form() -> None:
    script = "run\nnothing like it\nquality\n1\n/cancel\nexit\n"
    ran = console(*FAST, stdin=script)
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "Notebook: nothing like it",
        "No notebook matches; try another part of its name.",
        "1. Data quality check · Data quality",
        "▣ modal updated",  # the same modal, now the notebook's form
        "Dataset to check [orders]: /cancel",
        "The form is closed and nothing was sent",
    )
    ran = console("-c", "/deepnote run", *FAST)
    assert ran.returncode == 0, ran.explain()
    ran.shows("The form starts with a notebook picker, which -c cannot use")


# -- --admin -------------------------------------------------------------------------------------


def test_admin_may_read_the_audit_log() -> None:
    ran = console("--admin", "-c", "/deepnote audit", *FAST)
    assert ran.returncode == 0, ran.explain()
    assert ran.seconds < QUICK, ran.explain()
    ran.shows("The audit log is empty")
    interactive = console("--admin", *FAST, stdin="exit\n")
    interactive.shows("You (@you) are a bot admin (--admin).")


# -- at a terminal -------------------------------------------------------------------------------


class Terminal:
    """The console on a pseudo-terminal, as a person at a keyboard uses it."""

    def __init__(self, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--no-color", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=clean_env(),
            cwd=ROOT,
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Read the screen until `text` shows (after what was expected before)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} did not show in {timeout} s:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the console exited
                    chunk = b""
                if not chunk and self.process.poll() is not None:
                    assert text in self.seen, f"exited before {text!r} showed:\n{self.seen}"
                self.seen += chunk.decode("utf-8", errors="replace")
        # Later expectations look only at what comes after this one.
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        os.write(self.master, (line + "\r").encode())

    def close(self) -> int:
        """Wait for the console to exit; its exit code."""
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_at_a_terminal_the_prompt_comes_back_once_the_bot_has_handled_it() -> None:
    term = Terminal(*FAST)
    try:
        term.expect("#general> ")
        term.type(f"run {SALES_NOTEBOOK_ID}")
        term.expect("Report title [Weekly sales report]: ")
        for _ in range(3):
            term.type("")
        term.expect("Region [Europe]: ")
        term.type("North America")
        for _ in range(SALES_FIELDS - 4):
            term.type("")
        term.expect("Enter presses [Run]; /cancel closes the form: ")
        term.type("")
        term.expect("form sent; the modal closed")
        term.expect("#general> ")
        term.expect("Revenue · North America")
        term.type("/press 2")
        term.expect("You pressed [2: Re-run].")
        term.expect("#general> ")
        term.expect("replied in the thread of message 2")
        term.type("exit")
        assert term.close() == 0
    finally:
        if term.process.poll() is None:
            term.process.kill()


# -- when Slack does not let the form open -------------------------------------------------------


def test_c_presses_the_offered_form_button_when_the_form_could_not_open() -> None:
    # In-process, to make Slack refuse the first views.open as it does after 3 s.
    out = io.StringIO()
    options = ConsoleOptions(
        command=f"/deepnote run {SALES_NOTEBOOK_ID}", pending_seconds=0.2, running_seconds=0.3
    )
    with Console(clean_env(), options, out) as console:
        console.start()
        assert console.slack is not None
        console.slack.inject("views.open", error="expired_trigger_id")
        session = Session(console, LineReader(io.StringIO(""), console.transcript))
        code = session.command(options.command or "")
    shown = out.getvalue()
    assert code == 0, shown
    assert "Slack did not let the bot open the form" in shown
    assert "-c presses [1: Fill in the form…]" in shown
    assert "-c presses [Run] on the form with its pre-filled values" in shown
    assert "replied in the thread of message 1" in shown
