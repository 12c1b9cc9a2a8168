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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from bot.app import BotApp, build_app
from bot.config import SETTINGS, Config, load_config
from bot.logs import setup_logging
from bot.offline.simulator import SimNotebook, Simulator, load_notebooks
from bot.offline.slack_standin import (
    Ephemeral,
    Message,
    ResponseUrlPost,
    SlackRequester,
    SlackStandIn,
)
from bot.offline.terminal import BOLD, Style
from bot.offline.transcript import Transcript, Turn, run_metadata
from bot.web.http_server import BotHTTPServer
from storage.runs import FINAL_STATUSES

SLASH = "/deepnote"
USER_ID = "U0CONSOLE"
CHANNEL_ID = "C0CONSOLE"
BOT_TOKEN = "xoxb-console-stand-in"  # noqa: S105 - the token of a local fake Slack
SIMULATOR_KEY = "sim-key"
POLL_SECONDS = "0.5"
DEFAULT_TIMEOUT = 120.0
ERROR_MARKER = ":warning:"

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_REFUSED = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130
QUIT_WORDS = frozenset({"exit", "quit", "/exit", "/quit", ":q"})


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


def _is_error(text: str) -> bool:
    return text.lstrip().startswith(ERROR_MARKER)


@dataclass(frozen=True)
class _Verdict:
    done: bool
    code: int = EXIT_OK


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
                "(`/deepnote` may be left out.) Type exit or press Ctrl-D to leave.",
            ]
        self.transcript.write("\n".join(lines) + "\n")

    # -- commands ---------------------------------------------------------------------------

    def send(self, line: str, *, echo: bool) -> Turn:
        """Send one typed line to the bot as a signed `/deepnote` slash command."""
        turn = Turn(start=len(self.transcript.since(0)))
        self.transcript.touch()
        text = slash_text(line)
        if echo:
            typed = f"{SLASH} {text}".strip() if text is not None else line.strip()
            self.transcript.write(f"#{self.options.channel}> {typed}")
        if text is None:
            self.transcript.write(
                f"Only {SLASH} commands exist here; try `{SLASH} help`.",
            )
            turn.refused = True
            return turn
        assert self._requester is not None
        try:
            delivery = self._requester.slash_command(
                text, user_id=USER_ID, channel_id=CHANNEL_ID, command=SLASH
            )
        except httpx.HTTPError as exc:
            self.transcript.write(f"The bot did not answer: {type(exc).__name__}: {exc}")
            turn.refused = True
            return turn
        if delivery.status_code != 200:
            self.transcript.write(f"The bot refused the request (HTTP {delivery.status_code}).")
            turn.refused = True
            return turn
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
                turn.refused = turn.refused or _is_error(reply_text)
        return turn

    def verdict(self, turn: Turn) -> _Verdict:
        """Whether the conversation a command started is over, and how it ended."""
        events = self.transcript.since(turn.start)
        cards: dict[str, str | None] = {}
        results: dict[str, Message] = {}
        refused = turn.refused
        replies = turn.replies
        for event in events:
            record = event.record
            if isinstance(record, Message) and event.kind == "message":
                run, kind = run_metadata(record)
                if not record.is_reply and record.channel == CHANNEL_ID and kind != "result":
                    cards[record.ts] = run
                elif record.is_reply and kind in ("result", None) and record.thread_ts:
                    results.setdefault(record.thread_ts, record)
                if record.via != "api":
                    replies += 1
            elif isinstance(record, Ephemeral) and event.kind == "ephemeral":
                replies += 1
                refused = refused or _is_error(record.text)
            elif isinstance(record, ResponseUrlPost) and record.error is not None:
                replies += 1
        if cards:
            if not all(ts in results for ts in cards):
                return _Verdict(False)
            failed = [ts for ts, run in cards.items() if not self._succeeded(run, results[ts])]
            return _Verdict(True, EXIT_RUN_FAILED if failed else EXIT_OK)
        if replies or refused:
            return _Verdict(True, EXIT_REFUSED if refused else EXIT_OK)
        return _Verdict(False)

    def _succeeded(self, run_id: str | None, reply: Message) -> bool:
        if run_id is not None and self._bot is not None:
            record = self._bot.services.store.get(run_id)
            if record is not None and record.status in FINAL_STATUSES:
                return record.status == "success"
        return reply.text.lstrip().startswith(("✅", ":white_check_mark:"))

    def follow(self, turn: Turn, timeout: float) -> int:
        """Wait for the command's outcome: 0 success, 1 run failed, 2 refused, 3 timed out."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if not self.transcript.wait(lambda: self.verdict(turn).done, remaining):
                return self._timed_out(turn, timeout)
            if self.transcript.broken:
                raise BrokenPipeError("the output was closed")
            # Let trailing replies arrive: they may show more, or start a run after all.
            self.transcript.settle()
            verdict = self.verdict(turn)
            if verdict.done:
                return verdict.code

    def _timed_out(self, turn: Turn, timeout: float) -> int:
        running = any(
            isinstance(e.record, Message) and e.kind == "message" and not e.record.is_reply
            for e in self.transcript.since(turn.start)
        )
        what = "The run has not finished" if running else "The bot has not answered"
        self.transcript.write(
            f"{what} after {timeout:g} s; stopped waiting (use --timeout to wait longer)."
        )
        return EXIT_TIMEOUT

    def open_runs(self) -> int:
        """How many runs the bot is still following."""
        return self._bot.services.store.open_count() if self._bot is not None else 0


def _lines(stdin: TextIO, transcript: Transcript, prompt: str, tty: bool) -> Iterator[str]:
    """Typed lines until EOF; at a terminal with a prompt and line editing."""
    if not tty:
        yield from (line.rstrip("\n") for line in iter(stdin.readline, ""))
        return
    try:
        import readline
    except ImportError:  # not on every platform; input() works without it
        readline = None  # type: ignore[assignment]
    if readline is not None:
        transcript.line_buffer = readline.get_line_buffer
    while True:
        transcript.prompt = prompt
        try:
            line = input(prompt)
        except EOFError:
            transcript.prompt = None
            transcript.write("")
            return
        finally:
            transcript.prompt = None
        yield line


def run_console(
    env: Mapping[str, str], options: ConsoleOptions, *, stdin: TextIO, stdout: TextIO
) -> int:
    """Run the console until `exit`/EOF (or, with a command, until its outcome); the exit code."""
    with Console(env, options, stdout) as console:
        try:
            console.start()
            if options.command is not None:
                turn = console.send(options.command, echo=True)
                return console.follow(turn, options.timeout)
            return _interact(console, stdin)
        except KeyboardInterrupt:
            console.transcript.write("\nInterrupted; stopping the bot.")
            return EXIT_INTERRUPTED


def _interact(console: Console, stdin: TextIO) -> int:
    tty = stdin.isatty()
    prompt = f"#{console.options.channel}> "
    for line in _lines(stdin, console.transcript, prompt, tty):
        if not line.strip():
            continue
        if line.strip().lower() in QUIT_WORDS:
            break
        turn = console.send(line, echo=not tty)
        if not tty:
            # A script of commands: let each one finish before the next, as a person would.
            console.follow(turn, console.options.timeout)
    # Let replies to the last command arrive before counting what is still going.
    console.transcript.settle()
    still = console.open_runs()
    if still:
        console.transcript.write(
            f"{still} {'run is' if still == 1 else 'runs are'} still going; the console stops "
            "following and leaves."
        )
    return EXIT_OK
