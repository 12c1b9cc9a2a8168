"""The console's conversation: what the person types, the console's own commands (`/press N`,
`/buttons`, `/form`), forms filled in field by field, and `-c`.

With `-c`, a command that opens a form (the run form of a notebook with inputs and none typed,
`--form`, `--blocks` alone, Re-run with changes…) gets that form submitted at once with its
pre-filled values, changed by any `--set NAME=VALUE`; the console says that it did so.

>>> console_command("/press 2"), console_command("press 2"), console_command("/deepnote help")
(('press', '2'), ('press', '2'), None)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, TextIO

from bot.offline.console import USER_ID, Console, ConsoleOptions
from bot.offline.exit_codes import EXIT_INTERRUPTED, EXIT_OK
from bot.offline.formfill import (
    Cancelled,
    Field,
    Prompter,
    apply_sets,
    form_fields,
    initial_values,
    shown_value,
)
from bot.offline.picking import pick_notebook, picker_of
from bot.offline.slack_standin import View
from bot.offline.transcript import Transcript, Turn

QUIT_WORDS = frozenset({"exit", "quit", "/exit", "/quit", ":q"})
# At an interactive prompt: how long to wait for the bot to handle a command before giving the
# prompt back (its answer still shows when it comes).
HANDLED_WAIT = 10.0

CONSOLE_COMMANDS = (
    ("/press N", "press button N (buttons show as [N: Label]; `press N` works too)"),
    ("/buttons", "list the buttons you can press"),
    ("/form", "fill in again a form you closed with /cancel"),
    (
        "/elsewhere ID [user|schedule|api|ci] [name=value ...]",
        "start a run in the simulator as Deepnote's UI, its scheduler, another API client or "
        "CI would: only a watch (/deepnote watch ID) shows it here",
    ),
    ("/kpi [name=value ...]", "show or set the KPI monitor sample's numbers (for alerts)"),
    ("/console", "this list"),
    ("exit", "leave (or Ctrl-D)"),
)
_WORDS = {
    "/press": "press",
    "press": "press",
    "/buttons": "buttons",
    "/form": "form",
    "/console": "console",
    "/elsewhere": "elsewhere",
    "/kpi": "kpi",
}


def console_command(line: str) -> tuple[str, str] | None:
    """(the console command, its argument) when `line` is one of the console's own commands."""
    word, _, rest = line.strip().partition(" ")
    name = _WORDS.get(word.lower())
    if name is None or (name == "press" and word.lower() == "press" and not rest.strip()):
        return None
    return name, rest.strip()


def kpi_pair(word: str) -> tuple[str, Any]:
    """`name=value` of `/kpi`: numbers, true/false, comma lists for `missing`, else text.

    >>> kpi_pair("churn_rate=0.052"), kpi_pair("fail=true"), kpi_pair("missing=revenue")
    (('churn_rate', 0.052), ('fail', True), ('missing', ['revenue']))
    """
    name, sep, raw = word.partition("=")
    if not sep or not name:
        raise ValueError(f"{word!r} is not name=value")
    if name == "missing":
        return name, [part for part in raw.split(",") if part]
    if raw.lower() in ("true", "false"):
        return name, raw.lower() == "true"
    try:
        return name, float(raw) if "." in raw else int(raw)
    except ValueError:
        return name, raw


class LineReader:
    """Typed lines: at a terminal with a prompt kept under the output and line editing; from a
    pipe or file one line at a time, echoed so the transcript reads like the session."""

    def __init__(self, stdin: TextIO, transcript: Transcript) -> None:
        self.stdin = stdin
        self.transcript = transcript
        self.tty = stdin.isatty()
        if self.tty:
            try:
                import readline
            except ImportError:  # not on every platform; input() works without it
                pass
            else:
                transcript.line_buffer = readline.get_line_buffer

    def read(self, prompt: str, *, echo: bool) -> str | None:
        """The next line (None at the end of input)."""
        if not self.tty:
            line = self.stdin.readline()
            if not line:
                return None
            line = line.rstrip("\n")
            if echo:
                self.transcript.write(prompt + line)
            return line
        self.transcript.prompt = prompt
        try:
            return input(prompt)
        except EOFError:
            self.transcript.prompt = None
            self.transcript.write("")
            return None
        finally:
            self.transcript.prompt = None


def _plain(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, Mapping) else ""


class Session:
    """One console session: a `-c` command, or lines typed (or piped) until exit."""

    def __init__(self, console: Console, reader: LineReader) -> None:
        self.console = console
        self.reader = reader
        self.transcript = console.transcript
        self.options = console.options
        self.closed_form: View | None = None
        self.form_sent = False

    def say(self, text: str) -> None:
        """Print a line of the console's own (not the bot's)."""
        self.transcript.write(text)

    # -- -c ---------------------------------------------------------------------------------

    def command(self, command: str) -> int:
        """`-c`: send one command and wait for its outcome; the exit code."""
        deadline = time.monotonic() + self.options.timeout
        turn = self.console.send(command, echo=True)
        code = self.conclude(turn, deadline, prompter=None)
        if self.options.sets and not self.form_sent:
            self.say("--set was not used: the command opened no form.")
        return code

    def conclude(
        self, turn: Turn, deadline: float, prompter: Prompter | None, *, follow: bool = True
    ) -> int:
        """Wait until the bot has handled the turn, fill in any form it opened, then (with
        `follow`) wait for the runs it started; the exit code."""
        console = self.console
        while True:
            if not console.wait_handled(turn, deadline - time.monotonic()):
                if not follow:
                    self.say("The bot has not answered yet; its answer shows here when it comes.")
                    return EXIT_OK
                return console.timed_out("The bot has not answered")
            if self.transcript.broken:
                raise BrokenPipeError("the output was closed")
            view = console.opened_modal(turn)
            offer = console.offered_form(turn) if prompter is None else None
            if view is None and offer is not None:
                self.say(
                    "The bot offered the form instead of opening it (Slack's 3-second limit); "
                    f"-c presses [{offer.number}: {offer.label}]."
                )
                turn = console.press(offer.number, echo=False)
                continue
            if view is not None and view.view.get("submit") is None and picker_of(view):
                picked = self.pick(view, prompter)
                if picked is None:
                    return EXIT_OK
                turn = picked
                continue
            if view is None or view.view.get("submit") is None:
                return console.outcome(turn, deadline) if follow else EXIT_OK
            filling = time.monotonic()
            submitted = self.form(view, prompter)
            if submitted is None:
                return EXIT_OK
            turn = submitted
            # The time the person took to fill in the form is not the bot's.
            deadline += time.monotonic() - filling

    # -- forms ------------------------------------------------------------------------------

    def pick(self, view: View, prompter: Prompter | None) -> Turn | None:
        """The run form's notebook picker: search and choose (interactive only); the turn of
        the choice, or None when there is none."""
        if prompter is None:
            self.say(
                "The form starts with a notebook picker, which -c cannot use: name the "
                "notebook in the command (/deepnote run <notebook>), or choose it in the "
                "interactive console."
            )
            return None
        try:
            return pick_notebook(self.console, view, prompter, USER_ID)
        except Cancelled:
            self.say("The picker is closed and nothing was sent.")
            return None

    def form(self, view: View, prompter: Prompter | None) -> Turn | None:
        """Fill in and submit the modal; the submission (None when the person closed it)."""
        fields = form_fields(view.blocks)
        values = initial_values(fields)
        submit = _plain(view.view.get("submit")) or "Submit"
        try:
            if prompter is None:
                self.form_sent = True
                chosen = apply_sets(fields, self.options.sets)
                values.update(chosen)
                changed = ", ".join(f"{f.name}={shown_value(f, values[f.block_id])}"
                                    for f in fields if f.block_id in chosen)  # fmt: skip
                self.say(
                    f"-c presses [{submit}] on the form with its pre-filled values"
                    + (f", except {changed} (--set)." if changed else " (give others with --set).")
                )
            else:
                self.say(
                    f"Fill in the form, field by field; then Enter presses [{submit}]. "
                    "/cancel closes the form without sending it."
                )
                prompter.fill(fields, values, {})
                prompter.confirm(submit)
        except ValueError as exc:
            self.say(f"{exc}. The form was not sent.")
            return self.console.refused_turn()
        except Cancelled:
            self._closed(view)
            return None
        return self._send_form(view, fields, values, submit, prompter)

    def _send_form(
        self,
        view: View,
        fields: list[Field],
        values: dict[str, Any],
        submit: str,
        prompter: Prompter | None,
    ) -> Turn | None:
        """Submit until the bot takes the form; after errors, ask again for those fields."""
        while True:
            turn, errors = self.console.submit(view, values)
            if not errors:
                self.closed_form = None
                return turn
            self.say("The bot did not take the form; Slack shows these errors under the fields:")
            labels = {f.block_id: f.label for f in fields}
            for block_id, message in errors.items():
                self.say(f"  ⚠️ {labels.get(block_id, block_id)}: {message}")
            if prompter is None:
                self.say("Correct them with --set NAME=VALUE.")
                return turn
            try:
                prompter.fill(fields, values, errors)
                prompter.confirm(submit)
            except Cancelled:
                self._closed(view)
                return None

    def _closed(self, view: View) -> None:
        self.closed_form = view
        self.say("The form is closed and nothing was sent; /form opens it again.")

    # -- interactive ------------------------------------------------------------------------

    def prompter(self) -> Prompter:
        """Asks for form fields on the same input as commands."""
        return Prompter(
            ask=lambda prompt: self.reader.read(prompt, echo=not self.reader.tty), say=self.say
        )

    def interact(self) -> int:
        """Read lines until exit or the end of input; 0."""
        prompt = f"#{self.options.channel}> "
        while (line := self.reader.read(prompt, echo=False)) is not None:
            if not line.strip():
                continue
            if line.strip().lower() in QUIT_WORDS:
                break
            turn = self.own_command(line) or self.console.send(line, echo=not self.reader.tty)
            self.after(turn)
        # Let replies to the last command arrive before counting what is still going.
        self.transcript.settle()
        still = self.console.open_runs()
        if still:
            self.say(
                f"{still} {'run is' if still == 1 else 'runs are'} still going; the console "
                "stops following and leaves."
            )
        return EXIT_OK

    def after(self, turn: Turn) -> None:
        """At a terminal: wait until the bot handled the turn (forms filled in). From a pipe:
        also wait for its runs, as a person would before typing the next line."""
        if self.reader.tty:
            self.conclude(turn, time.monotonic() + HANDLED_WAIT, self.prompter(), follow=False)
        else:
            self.conclude(turn, time.monotonic() + self.options.timeout, self.prompter())

    def own_command(self, line: str) -> Turn | None:
        """Carry out one of the console's own commands; None when `line` is not one."""
        parsed = console_command(line)
        if parsed is None:
            return None
        name, argument = parsed
        echo = not self.reader.tty
        if name == "press":
            if not argument.isdigit():
                self.say("Press a button by its number: /press 1 (/buttons lists them).")
                return self.console.refused_turn()
            return self.console.press(int(argument), echo=echo)
        if echo:
            self.say(f"#{self.options.channel}> {line.strip()}")
        if name == "elsewhere":
            return self.elsewhere(argument)
        if name == "buttons":
            self.list_buttons()
        elif name == "kpi":
            return self.kpi(argument)
        elif name == "form":
            if self.closed_form is None:
                self.say("No form is open; commands and buttons that open one start it.")
                return self.console.refused_turn()
            return self.form(self.closed_form, self.prompter()) or self.console.refused_turn()
        else:
            self.say("\n".join(f"  {name:<10} {what}" for name, what in CONSOLE_COMMANDS))
        return self.console.refused_turn(refused=False)

    def elsewhere(self, argument: str) -> Turn:
        """`/elsewhere`: a run started outside the bot, in the built-in simulator."""
        simulator = self.console.simulator
        words = argument.split()
        if simulator is None:
            self.say(
                "/elsewhere needs the built-in simulator; with real Deepnote, start the run there."
            )
            return self.console.refused_turn()
        if not words:
            self.say("Usage: /elsewhere NOTEBOOK_ID [user|schedule|api|ci] [name=value ...]")
            return self.console.refused_turn()
        notebook, rest = words[0], words[1:]
        source = rest.pop(0) if rest and "=" not in rest[0] else "user"
        inputs = dict(w.split("=", 1) for w in rest if "=" in w)
        try:
            run_id = simulator.start_elsewhere(notebook, source, inputs or None)
        except KeyError:
            self.say(f"The simulator has no notebook {notebook}.")
            return self.console.refused_turn()
        except ValueError as exc:
            self.say(f"The simulator refused the run: {exc}")
            return self.console.refused_turn()
        self.say(
            f"Started Deepnote run {run_id} outside the bot (as {source}); a watch of the "
            "notebook posts it at its next look."
        )
        notebook_id = simulator.runs[run_id].notebook_id
        if not self.reader.tty and self.console.watched(notebook_id):
            # Piped: the next line waits until the watch has shown the run, as a person would.
            timeout = self.options.timeout
            if not self.transcript.wait(lambda: self.console.watch_posted(run_id), timeout):
                self.say(f"No watch showed run {run_id} within {timeout:g} s.")
            self.transcript.settle()
        return self.console.refused_turn(refused=False)

    def kpi(self, argument: str) -> Turn:
        """`/kpi churn_rate=0.052 late_orders=3`: the KPI monitor's numbers for the next runs
        (the simulator's `set_kpi`); `/kpi` alone shows them."""
        simulator = self.console.simulator
        if simulator is None:
            self.say(
                "/kpi changes the built-in simulator's KPI monitor; this console uses Deepnote."
            )
            return self.console.refused_turn()
        try:
            simulator.set_kpi(**dict(kpi_pair(word) for word in argument.split()))
        except ValueError as exc:
            self.say(f"/kpi: {exc}. For example: /kpi churn_rate=0.052 late_orders=3")
            return self.console.refused_turn()
        shown = ", ".join(f"{k}={v!r}" for k, v in simulator.kpi().items())
        self.say(f"KPI monitor, for the next runs: {shown}")
        return self.console.refused_turn(refused=False)

    def list_buttons(self) -> None:
        """Every button that can be pressed now, with the message it is on."""
        live = [b for b in self.transcript.buttons.values() if not b.gone]
        if not live:
            self.say("No buttons to press yet.")
            return
        for button in live:
            where = (
                "a message only visible to you"
                if button.ephemeral
                else f"message {self.transcript.number(button.ts)}"
            )
            self.say(f"  [{button.number}: {button.label}] on {where}")


def run_console(
    env: Mapping[str, str], options: ConsoleOptions, *, stdin: TextIO, stdout: TextIO
) -> int:
    """Run the console until `exit`/EOF (or, with a command, until its outcome); the exit code."""
    with Console(env, options, stdout) as console:
        try:
            console.start()
            session = Session(console, LineReader(stdin, console.transcript))
            if options.command is not None:
                return session.command(options.command)
            return session.interact()
        except KeyboardInterrupt:
            console.transcript.write("\nInterrupted; stopping the bot.")
            return EXIT_INTERRUPTED
