"""`deepnote-bot console`: the real bot in a terminal, with a local stand-in playing Slack.

Everything but Slack is the production path: `build_app` builds the bot, `BotHTTPServer`
serves its request URL on 127.0.0.1, each typed command reaches it as a signed slash command
(`SlackRequester`), and the poller runs in the background on the real clock. The bot's Web API
calls go to an in-process `SlackStandIn`, whose events are printed as a channel would show
them. Without a Deepnote API key the built-in Deepnote simulator plays Deepnote too.

>>> slash_text("/deepnote run abc x=1"), slash_text("help"), slash_text("/other")
('run abc x=1', 'help', None)
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from bot.app import BotApp, build_app
from bot.config import SETTINGS, Config, load_config
from bot.logs import setup_logging
from bot.offline.exit_codes import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_RUN_FAILED,
    EXIT_TIMEOUT,
)
from bot.offline.simulator import SimNotebook, Simulator, load_notebooks
from bot.offline.slack_standin import (
    Ephemeral,
    Message,
    SlackRequester,
    SlackStandIn,
    View,
)
from bot.offline.slack_standin.interactions import block_actions, state_values, view_submission
from bot.offline.terminal import BOLD, Style, render_view
from bot.offline.transcript import (
    Button,
    Transcript,
    Turn,
    answers_person,
    is_error,
    is_refusal,
    run_metadata,
)
from bot.web.http_server import BotHTTPServer
from handlers.forms import OPEN_FORM
from storage.intents import IntentStore
from storage.records import RunRecord
from storage.runs import FINAL_STATUSES

SLASH = "/deepnote"
USER_ID = "U0CONSOLE"
CHANNEL_ID = "C0CONSOLE"
BOT_TOKEN = "xoxb-console-stand-in"  # noqa: S105 - the token of a local fake Slack
SIMULATOR_KEY = "sim-key"
POLL_SECONDS = "0.5"
# The console's watches look every few seconds (the default, 30 s, is slow to watch live).
WATCH_SECONDS = "3"
DEFAULT_TIMEOUT = 120.0

# How many of the person's latest runs are compared to tell which runs a command started.
RECENT_RUNS = 50


class SetupError(Exception):
    """The console cannot start; the message says why, for the person who ran it."""


@dataclass(frozen=True)
class ConsoleOptions:
    """What `deepnote-bot console` was asked to do."""

    command: str | None = None
    notebooks_dir: Path | None = None
    user: str = "you"
    channel: str = "general"
    color: bool = False
    timeout: float = DEFAULT_TIMEOUT
    pending_seconds: float = 1.0
    running_seconds: float = 2.0
    log_file: Path | None = None
    admin: bool = False
    sets: tuple[tuple[str, str], ...] = ()


def slash_text(line: str) -> str | None:
    """The text after `/deepnote` (which may be left out); None for another slash command."""
    stripped = line.strip()
    head, _, rest = stripped.partition(" ")
    if head.lower() == SLASH:
        return rest.strip()
    if stripped.startswith("/"):
        return None
    return stripped


def has_deepnote_key(env: Mapping[str, str]) -> bool:
    """True when the environment names a Deepnote API key (under any accepted name)."""
    setting = next(s for s in SETTINGS if s.name == "DEEPNOTE_API_KEY")
    return any(env.get(name, "").strip() for name in (setting.name, *setting.aliases))


def check_notebooks_dir(path: Path) -> list[SimNotebook]:
    """The notebooks of a folder of `.deepnote` exports, or a SetupError saying what is wrong."""
    if not path.exists():
        raise SetupError(f"--notebooks {path}: no such folder.")
    if not path.is_dir():
        raise SetupError(f"--notebooks {path}: not a folder (give the folder that holds them).")
    try:
        notebooks = load_notebooks([path])
    except (OSError, ValueError) as exc:
        raise SetupError(f"--notebooks {path}: cannot load the notebooks: {exc}") from None
    if not notebooks:
        raise SetupError(
            f"--notebooks {path}: no notebooks found; put `.deepnote` or `.snapshot.deepnote` "
            "files exported from Deepnote in it."
        )
    return notebooks


def notebook_lines(notebooks: list[SimNotebook]) -> list[str]:
    """One line per notebook: id, name and input names."""
    lines = []
    for nb in notebooks:
        names = ", ".join(i.name for i in nb.inputs)
        inputs = f"inputs: {names}" if names else "no inputs"
        lines.append(f"  {nb.id}  {nb.name}  ({inputs})")
    return lines


def _detach_logging() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.NullHandler())


class Console:
    """A running bot with Slack (and, without a key, Deepnote) played locally."""

    def __init__(self, env: Mapping[str, str], options: ConsoleOptions, out: TextIO) -> None:
        self.env = env
        self.options = options
        self._stack = contextlib.ExitStack()
        self.simulator: Simulator | None = None
        self.notebooks: list[SimNotebook] = []
        self.config: Config | None = None
        users = {USER_ID: options.user}
        channels = {CHANNEL_ID: options.channel}
        self.transcript = Transcript(out, Style(options.color, users, channels), options.channel)
        self._bot: BotApp | None = None
        self._requester: SlackRequester | None = None
        self._intents: IntentStore | None = None
        self.slack: SlackStandIn | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the stand-in, the simulator when needed, and the bot; print the banner."""
        options = self.options
        uses_simulator = not has_deepnote_key(self.env)
        if options.notebooks_dir is not None:
            if not uses_simulator:
                raise SetupError(
                    "--notebooks is for the built-in Deepnote simulator, but DEEPNOTE_API_KEY "
                    "is set, so the console uses real Deepnote. Unset DEEPNOTE_API_KEY (and "
                    "DEEPNOTE_TOKEN) to try your notebooks in the simulator."
                )
            self.notebooks = check_notebooks_dir(options.notebooks_dir)
        workdir = Path(tempfile.mkdtemp(prefix="deepnote-console-"))
        self._stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        slack = self._start_slack()
        signing_secret = secrets.token_hex(16)
        env = {k: v for k, v in self.env.items() if not k.startswith("SLACK_")}
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=signing_secret,
            SLACK_API_URL=slack.api_url,
        )
        if uses_simulator:
            env.pop("DEEPNOTE_TOKEN", None)
            env.update(DEEPNOTE_API_KEY=SIMULATOR_KEY, DEEPNOTE_API_URL=self._start_simulator())
        # Never a deployment's PostgreSQL: its leader would post the console's runs to the real
        # Slack. The console keeps to a SQLite file (temporary unless DATABASE_PATH is set).
        env.pop("DATABASE_URL", None)
        env["ALLOW_EPHEMERAL_STORAGE"] = "1"
        if not env.get("DATABASE_PATH", "").strip():
            env["DATABASE_PATH"] = str(workdir / "bot.db")
        if not env.get("POLL_INTERVAL_SECONDS", "").strip():
            env["POLL_INTERVAL_SECONDS"] = POLL_SECONDS
        if not env.get("WATCH_POLL_SECONDS", "").strip():
            env["WATCH_POLL_SECONDS"] = WATCH_SECONDS
        if options.admin:
            admins = [a for a in env.get("ADMIN_USER_IDS", "").split(",") if a.strip()]
            env["ADMIN_USER_IDS"] = ",".join([*admins, USER_ID])
        self.config = load_config(env)
        self._start_logging(self.config, options.log_file or workdir / "bot.log")
        self._start_bot(self.config, slack, signing_secret)
        self.print_banner(interactive=options.command is None)

    def _start_slack(self) -> SlackStandIn:
        """The stand-in playing Slack, its events printed by the transcript."""
        slack = SlackStandIn(bot_token=BOT_TOKEN)
        slack.set_user(USER_ID, name=self.options.user)
        slack.add_channel(CHANNEL_ID, name=self.options.channel)
        self._stack.enter_context(slack)
        self._stack.callback(slack.subscribe(self.transcript.on_event))
        self.slack = slack
        return slack

    def _start_simulator(self) -> str:
        """The built-in Deepnote simulator; its URL."""
        options = self.options
        sim = Simulator(
            api_key=SIMULATOR_KEY,
            notebooks_dir=options.notebooks_dir,
            pending_seconds=options.pending_seconds,
            running_seconds=options.running_seconds,
        )
        self._stack.enter_context(sim)
        self.simulator = sim
        self.notebooks = list(sim.notebooks.values())
        return sim.url

    def _start_logging(self, config: Config, log_path: Path) -> None:
        """The bot's JSON logs go to a file, never to the terminal the console prints on."""
        try:
            log_stream = self._stack.enter_context(log_path.open("a", encoding="utf-8"))
        except OSError as exc:
            raise SetupError(
                f"--log-file {log_path}: cannot write to it ({exc.strerror})."
            ) from None
        setup_logging(config.log_level, config.secrets(), stream=log_stream)
        # Before the file closes, so a late record from a worker thread goes nowhere, not to
        # stderr as a "Logging error" traceback.
        self._stack.callback(_detach_logging)

    def _start_bot(self, config: Config, slack: SlackStandIn, signing_secret: str) -> None:
        """The bot, its request URL on 127.0.0.1, and the signed requester that reaches it."""
        stack = self._stack
        bot = build_app(config)
        stack.callback(bot.services.db.close)
        stack.callback(bot.shutdown)
        self._bot = bot
        server = BotHTTPServer(
            bot.bolt,
            health=bot.health,
            host="127.0.0.1",
            port=0,
            signing_secret=signing_secret,
        )
        server.start()
        stack.callback(server.stop)
        requester = SlackRequester(
            bot_url=f"http://127.0.0.1:{server.port}/slack/events",
            signing_secret=signing_secret,
            standin=slack,
            timeout=30.0,
        )
        stack.callback(requester.close)
        self._requester = requester
        # Where the bot notes each slash command done: how the console knows it was handled.
        # It uses the bot's database, closed with the bot.
        self._intents = IntentStore(bot.services.db)
        bot.start_background()

    def close(self) -> None:
        """Stop everything that start() started, in reverse order."""
        self.transcript.prompt = None
        self._stack.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def print_banner(self, *, interactive: bool) -> None:
        """How the console is wired, which notebooks there are, and how to type commands."""
        lines: list[str] = []
        wrap = self.transcript.style.wrap
        if self.simulator is not None:
            count = len(self.notebooks)
            plural = "notebook" if count == 1 else "notebooks"
            source = (
                f"{count} {plural} from {self.options.notebooks_dir}"
                if self.options.notebooks_dir
                else f"{count} sample {plural}"
            )
            lines.append(
                f"No DEEPNOTE_API_KEY set: using the built-in Deepnote simulator with {source}:"
            )
            lines += notebook_lines(self.notebooks)
        else:
            assert self.config is not None
            lines.append(
                f"Using Deepnote at {self.config.deepnote_api_url} with your DEEPNOTE_API_KEY: "
                "runs are real."
            )
        if interactive:
            simple = [nb for nb in self.notebooks if not nb.inputs] or self.notebooks
            example = simple[0].id if simple else "<notebook-id>"
            lines += [
                "",
                wrap("Deepnote bot console", BOLD)
                + f": type what you would type in Slack, as @{self.options.user} "
                f"in #{self.options.channel}.",
                "  /deepnote help",
                f"  /deepnote run {example}",
                "  /deepnote run <id> key=value",
                "(`/deepnote` may be left out.) Buttons show as [N: Label]: /press N presses "
                "one. A form asks for its fields one by one. /console lists the console's own "
                "commands. Type exit or press Ctrl-D to leave.",
            ]
        if self.options.admin:
            lines.append(f"You (@{self.options.user}) are a bot admin (--admin).")
        self.transcript.write("\n".join(lines) + "\n")

    # -- what the person does -----------------------------------------------------------------

    def _turn(self, kind: str, text: str = "") -> Turn:
        self.transcript.touch()
        return Turn(
            start=len(self.transcript.since(0)),
            kind=kind,
            text=text,
            runs_before=frozenset(r.id for r in self._recent_runs()),
        )

    def choice_turn(self) -> tuple[Turn, SlackRequester]:
        """A turn for something chosen in an open modal, and the requester that sends it."""
        assert self._requester is not None
        return self._turn("press"), self._requester

    def refused_turn(self, *, refused: bool = True) -> Turn:
        """A turn the console answered itself (refused, unless told otherwise)."""
        turn = self._turn("console")
        turn.answered, turn.refused = True, refused
        return turn

    def send(self, line: str, *, echo: bool) -> Turn:
        """Send one typed line to the bot as a signed `/deepnote` slash command."""
        text = slash_text(line)
        turn = self._turn("command", text or "")
        if echo:
            typed = f"{SLASH} {text}".strip() if text is not None else line.strip()
            self.transcript.write(f"#{self.options.channel}> {typed}")
        if text is None:
            own = "" if self.options.command else " (and the console's own: /console lists them)"
            self.transcript.write(f"Only {SLASH} commands{own} exist here; try `{SLASH} help`.")
            turn.refused = True
            return turn
        assert self._requester is not None
        try:
            delivery = self._requester.slash_command(
                text, user_id=USER_ID, channel_id=CHANNEL_ID, command=SLASH
            )
        except httpx.HTTPError as exc:
            return self._unanswered(turn, exc)
        if delivery.status_code != 200:
            return self._rejected(turn, delivery.status_code)
        answer = delivery.text.strip()
        if answer:
            try:
                body = delivery.json()
            except ValueError:
                body = {"text": answer}
            if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
                reply_text = str(body.get("text") or "")
                blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
                self.transcript.reply(reply_text, blocks)
                turn.replies += 1
                turn.refused = turn.refused or is_error(reply_text)
                # Answered in the acknowledgement: nothing was stored, nothing more comes.
                turn.answered = True
        return turn

    def press(self, number: int, *, echo: bool) -> Turn:
        """Press button `number` as Slack would: a signed `block_actions` to the bot."""
        turn = self._turn("press")
        button = self.transcript.buttons.get(number)
        if echo:
            self.transcript.write(f"#{self.options.channel}> /press {number}")
        if button is None or button.gone:
            why = "is on a message that is gone" if button else "does not exist"
            self.transcript.write(
                f"Button [{number}] {why}; /buttons lists the buttons you can press."
            )
            turn.refused = True
            return turn
        self.transcript.write(f"You pressed [{number}: {button.label}].")
        url = button.element.get("url")
        if isinstance(url, str):
            # Slack opens a link button's page and still tells the app it was pressed.
            self.transcript.write(f"Slack opens {url} in your browser.")
            turn.answered = True
        assert self._requester is not None
        channel_name = self.transcript.where(button.channel).lstrip("#")
        payload = block_actions(
            button=button.element,
            block_id=button.block_id,
            message={
                "ts": button.ts,
                "text": button.text,
                "blocks": button.blocks,
                "thread_ts": button.thread_ts,
            },
            channel=(button.channel, channel_name),
            ephemeral=button.ephemeral,
            user=(USER_ID, self.options.user),
            team_id=self._requester.team_id,
            action_ts=self._requester.standin.new_ts(),
        )
        try:
            delivery = self._requester.interaction(payload)
        except httpx.HTTPError as exc:
            return self._unanswered(turn, exc)
        if delivery.status_code != 200:
            return self._rejected(turn, delivery.status_code)
        return turn

    def submit(self, view: View, values: Mapping[str, Any]) -> tuple[Turn, dict[str, str]]:
        """Submit the modal with these values as Slack would (a signed `view_submission`);
        the turn, and the bot's errors by block id (empty when it took the form)."""
        turn = self._turn("submit")
        assert self._requester is not None
        payload = view_submission(
            view,
            state_values(view.blocks, values),
            user_id=USER_ID,
            user_name=self.options.user,
            team_id=self._requester.team_id,
        )
        try:
            delivery = self._requester.interaction(payload)
        except httpx.HTTPError as exc:
            return self._unanswered(turn, exc), {}
        if delivery.status_code != 200:
            return self._rejected(turn, delivery.status_code), {}
        try:
            body = delivery.json() if delivery.text.strip() else {}
        except ValueError:
            body = {}
        action = body.get("response_action") if isinstance(body, dict) else None
        if action == "errors" and isinstance(body.get("errors"), dict):
            turn.answered = turn.refused = True
            return turn, {str(k): str(v) for k, v in body["errors"].items()}
        if action == "update" and isinstance(body.get("view"), dict):
            # The bot replaced the form with a message saying why it will not run it.
            shown = render_view(
                body["view"],
                color=self.transcript.style.color,
                users=self.transcript.style.users,
                channels=self.transcript.style.channels,
            )
            header = self.transcript.header("▣ the form now shows")
            self.transcript.write(header + "\n" + self.transcript.body(shown, "   ┃ "))
            turn.answered = True
            turn.refused = "⚠️" in shown  # the rendered :warning: of an error
            return turn, {}
        self.transcript.write(self.transcript.header("▣ form sent; the modal closed"))
        return turn, {}

    def _unanswered(self, turn: Turn, exc: Exception) -> Turn:
        self.transcript.write(f"The bot did not answer: {type(exc).__name__}: {exc}")
        turn.refused = True
        return turn

    def _rejected(self, turn: Turn, status: int) -> Turn:
        self.transcript.write(f"The bot refused the request (HTTP {status}).")
        turn.refused = True
        return turn

    # -- what came back -------------------------------------------------------------------------

    def _recent_runs(self) -> list[RunRecord]:
        if self._bot is None:
            return []
        return self._bot.services.store.recent_for_user(USER_ID, limit=RECENT_RUNS)

    def new_runs(self, turn: Turn) -> list[RunRecord]:
        """The runs started since the turn began, oldest first."""
        runs = [r for r in self._recent_runs() if r.id not in turn.runs_before]
        return runs[::-1]

    def handled(self, turn: Turn) -> bool:
        """Whether the bot has done what the turn asked, short of a run it started finishing.

        A slash command is stored before its acknowledgement and marked done once its reply
        is sent, its run started or its form opened; a button or a form is done once a run
        started or something was shown to the person (a reply, an error, a modal).
        """
        if turn.answered or turn.refused:
            return True
        if turn.kind == "command":
            assert self._intents is not None
            return not any(
                i.user_id == USER_ID and i.channel_id == CHANNEL_ID and i.text == turn.text
                for i in self._intents.unfinished()
            )
        if self.new_runs(turn):
            return True
        return any(answers_person(e) for e in self.transcript.since(turn.start))

    def opened_modal(self, turn: Turn) -> View | None:
        """The modal the turn opened (its latest version), if any."""
        views = [
            e.record
            for e in self.transcript.since(turn.start)
            if isinstance(e.record, View) and e.record.kind == "modal"
        ]
        return views[-1] if views else None

    def offered_form(self, turn: Turn) -> Button | None:
        """The *Fill in the form…* button the bot offered in the turn instead of opening the
        form (Slack lets a form open only within 3 s of the command), if it did."""
        offered = {
            e.record.message_ts
            for e in self.transcript.since(turn.start)
            if isinstance(e.record, Ephemeral) and e.kind == "ephemeral"
        }
        return next(
            (
                b
                for b in self.transcript.buttons.values()
                if b.ts in offered and not b.gone and b.element.get("action_id") == OPEN_FORM
            ),
            None,
        )

    def refused(self, turn: Turn) -> bool:
        """Whether the bot (or the console) said no to the turn."""
        return turn.refused or any(is_refusal(e) for e in self.transcript.since(turn.start))

    def runs_finished(self, turn: Turn) -> bool:
        """Whether every run the turn started has ended and its outcome is shown."""
        replied = {
            e.record.thread_ts
            for e in self.transcript.since(turn.start)
            if isinstance(e.record, Message)
            and e.kind == "message"
            and e.record.is_reply
            and run_metadata(e.record)[1] in ("result", None)
        }
        for run in self.new_runs(turn):
            if run.status not in FINAL_STATUSES:
                return False
            # A quiet run (a schedule's, told only on failure) may post nothing; any other
            # ends with its card and a reply in the card's thread.
            if not run.quiet and (run.card_ts is None or run.card_ts not in replied):
                return False
        return True

    def wait_handled(self, turn: Turn, timeout: float) -> bool:
        """Wait until the bot has handled the turn; False when `timeout` passed first."""
        return self.transcript.wait(lambda: self.handled(turn), timeout)

    def outcome(self, turn: Turn, deadline: float) -> int:
        """Wait for the runs the turn started; 0 success, 1 a run failed, 2 refused, 3 timed
        out. Call once the turn is handled."""
        runs = self.new_runs(turn)
        if not runs:
            # Replies to the request itself arrive before the bot marks it done.
            return EXIT_REFUSED if self.refused(turn) else EXIT_OK
        if not self.transcript.wait(lambda: self.runs_finished(turn), deadline - time.monotonic()):
            return self.timed_out("The run has not finished")
        if self.transcript.broken:
            raise BrokenPipeError("the output was closed")
        failed = [r for r in self.new_runs(turn) if r.status != "success"]
        return EXIT_RUN_FAILED if failed else EXIT_OK

    def timed_out(self, what: str) -> int:
        """Say that the console stopped waiting; the timeout's exit code."""
        timeout = self.options.timeout
        self.transcript.write(
            f"{what} after {timeout:g} s; stopped waiting (use --timeout to wait longer)."
        )
        return EXIT_TIMEOUT

    def watched(self, notebook_id: str) -> bool:
        """Whether a watch (not paused) looks for this notebook's runs."""
        return self._bot is not None and self._bot.services.watches.store.watched(notebook_id)

    def watch_posted(self, run_id: str) -> bool:
        """Whether a watch found this Deepnote run and its outcome is shown (card and reply,
        or nothing, for a run its watch's `--notify` keeps quiet)."""
        run = self._bot.services.store.get(run_id) if self._bot is not None else None
        if run is None or run.status not in FINAL_STATUSES:
            return False
        replied = {
            e.record.thread_ts
            for e in self.transcript.since(0)
            if isinstance(e.record, Message) and e.kind == "message" and e.record.is_reply
        }
        return run.quiet or run.card_ts in replied

    def open_runs(self) -> int:
        """How many runs the bot is still following."""
        return self._bot.services.store.open_count() if self._bot is not None else 0
