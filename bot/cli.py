"""The `deepnote-bot` command."""

from __future__ import annotations

import argparse
import io
import os
import signal
import sqlite3
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeAlias

from bot import __version__
from bot.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from storage.db import Database


def _serve(_: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(os.environ)


def _database_path() -> str:
    """DATABASE_PATH as the bot would use it (no other setting is needed here)."""
    from bot.config import SETTINGS

    default = next(s.default for s in SETTINGS if s.name == "DATABASE_PATH")
    return os.environ.get("DATABASE_PATH", "").strip() or str(default)


def _live_database(missing: str) -> Database | None:
    """The database at DATABASE_URL (PostgreSQL) or DATABASE_PATH, or None (and `missing`
    said) when there is no SQLite file."""
    from storage.engine import open_database

    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return open_database(url)
    path = _database_path()
    if not Path(path).exists():
        print(missing.format(path=path), file=sys.stderr)
        return None
    return open_database(path)


def _health(_: argparse.Namespace) -> int:
    import json

    from bot.clock import SystemClock
    from bot.health import read_health

    try:
        db = _live_database("unhealthy: no database at {path} (is DATABASE_PATH right?)")
        if db is None:
            return 1
        db.migrate()
    except StorageError as exc:  # e.g. PostgreSQL unreachable: the bot is not healthy
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    report = read_health(db, SystemClock().now(), stale_after=30.0, require_answers=True)
    print(json.dumps(report.details, indent=2, default=str))
    return 0 if report.ok else 1


# Exit statuses of `backup` (documented in `backup --help` and the README).
BACKUP_NO_DATABASE = 2
BACKUP_NO_FOLDER = 3
BACKUP_EXISTS = 4
BACKUP_NOT_WRITTEN = 5


def _backup(args: argparse.Namespace) -> int:
    target = Path(args.path)
    refused = _backup_target_problem(target)
    if refused is not None:
        status, message = refused
        print(message, file=sys.stderr)
        return status
    db = _live_database(
        "There is no database at {path} to back up: set DATABASE_PATH to the bot's database."
    )
    if db is None:
        return BACKUP_NO_DATABASE
    try:
        db.backup(target)
    except (sqlite3.Error, StorageError, OSError) as exc:
        # Half a copy is worse than none: nobody should mistake it for a backup.
        target.unlink(missing_ok=True)
        print(_backup_failed(db, target, exc), file=sys.stderr)
        return BACKUP_NOT_WRITTEN
    finally:
        db.close()
    print(_backup_done(db, target))
    return 0


def _backup_failed(db: Database, target: Path, exc: Exception) -> str:
    """Why the backup was not written, and what to do."""
    if db.engine == "postgresql":
        # pg_dump missing or refused: the message says which, and how to back up by hand.
        return f"{exc}\nNo file was left behind."
    return (
        f"The backup could not be written to {target} ({exc}). Check that the bot's user "
        "may write there and that the disk has room; no file was left behind."
    )


def _backup_done(db: Database, target: Path) -> str:
    """What was backed up where, and how to restore it."""
    from storage.sqlite import SQLiteDatabase

    if isinstance(db, SQLiteDatabase):
        return (
            f"Backed up {db.path} to {target}.\n"
            f"To restore it: stop the bot, copy {target} over DATABASE_PATH ({db.path}), delete "
            f"{db.path}-wal and {db.path}-shm if they exist, and start the bot."
        )
    return (
        f"Backed up {db.describe()} to {target} (pg_dump, custom format).\n"
        f'To restore it into an empty database: pg_restore --no-owner --dbname=URL "{target}"'
    )


def _migrate_db(args: argparse.Namespace) -> int:
    from storage.copy import TableCopy, copy_database
    from storage.engine import open_database
    from storage.redact import redact_url
    from storage.sqlite import SQLiteDatabase

    source, target = open_database(args.source), open_database(args.target)
    if source.describe() == target.describe():
        print("--from and --to name the same database; nothing to copy.", file=sys.stderr)
        return 2
    if isinstance(source, SQLiteDatabase) and not Path(source.path).exists():
        print(f"No database at {redact_url(args.source)}.", file=sys.stderr)
        return 2
    print(f"Copying {source.describe()} into {target.describe()}:")

    def progress(done: TableCopy) -> None:
        """One line per table."""
        print(f"  {done.table}: {done.copied} rows copied, {done.in_target} in the target")

    try:
        copy_database(source, target, progress=progress)
    except StorageError as exc:
        print(f"Nothing more was copied: {exc}", file=sys.stderr)
        return 2
    finally:
        source.close()
        target.close()
    print("Done. Running it again is safe: rows are matched by their keys, never doubled.")
    return 0


def _backup_target_problem(target: Path) -> tuple[int, str] | None:
    """Why a backup cannot be written to `target` (an exit status and a message), if it cannot."""
    folder = target.parent
    if not folder.is_dir():
        return BACKUP_NO_FOLDER, (
            f"The folder {folder} does not exist: create it first (mkdir -p {folder}) or "
            "choose a file in an existing folder."
        )
    if target.is_dir():
        return BACKUP_EXISTS, (
            f"{target} is a folder: give the backup a file name inside it, e.g. "
            f"{target / 'deepnote-bot-backup.db'}."
        )
    if target.exists() or target.is_symlink():
        return BACKUP_EXISTS, (
            f"{target} already exists; a backup never overwrites a file. Choose a new file name "
            "(e.g. with the date in it) or move the old file away."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return BACKUP_NOT_WRITTEN, (
            f"The folder {folder} is not writable by this user: choose another folder or "
            "change its permissions."
        )
    return None


def _console(args: argparse.Namespace) -> int:
    from bot.offline.console import ConsoleOptions, SetupError
    from bot.offline.session import run_console

    if args.timeout <= 0:
        print("--timeout must be a positive number of seconds.", file=sys.stderr)
        return 2
    if args.sets and args.command is None:
        print(
            "--set gives values to the form a -c command opens; use it with -c "
            "(interactively, the form asks for each field).",
            file=sys.stderr,
        )
        return 2
    color = not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    options = ConsoleOptions(
        command=args.command,
        notebooks_dir=args.notebooks,
        user=args.user,
        channel=args.channel.lstrip("#") or "general",
        color=color,
        timeout=args.timeout,
        pending_seconds=args.sim_pending_seconds,
        running_seconds=args.sim_running_seconds,
        log_file=args.log_file,
        admin=args.admin,
        sets=tuple(args.sets),
    )
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Emoji must never crash a terminal that cannot show them.
        sys.stdout.reconfigure(errors="replace")

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_console(os.environ, options, stdin=sys.stdin, stdout=sys.stdout)
    except SetupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, and let exit not flush into it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _simulator(args: argparse.Namespace) -> int:
    from bot.offline.console import SetupError, check_notebooks_dir, notebook_lines
    from bot.offline.simulator import Simulator

    if args.notebooks is not None:
        try:
            check_notebooks_dir(args.notebooks)
        except SetupError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    simulator = Simulator(
        api_key=args.api_key,
        notebooks_dir=args.notebooks,
        host=args.host,
        port=args.port,
        pending_seconds=args.pending_seconds,
        running_seconds=args.running_seconds,
    )
    try:
        simulator.start()
    except OSError as exc:
        print(f"The simulator cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    notebooks = list(simulator.notebooks.values())
    source = args.notebooks or "the bundled samples"
    lines = [
        f"Deepnote API simulator listening on {simulator.url}",
        f"API key: {args.api_key}",
        f"{len(notebooks)} {'notebook' if len(notebooks) == 1 else 'notebooks'} from {source}:",
        *notebook_lines(notebooks),
        "",
        "Point a bot at it with:",
        f"  DEEPNOTE_API_URL={simulator.url}",
        f"  DEEPNOTE_API_KEY={args.api_key}",
        "",
        f"Runs wait {args.pending_seconds:g} s, then run for {args.running_seconds:g} s. "
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
    try:
        stop.wait()
    finally:
        simulator.stop()
    print("Simulator stopped.", flush=True)
    return 0


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {raw!r}")
    return int(raw)


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError("must be from 0 to 86400 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="deepnote-bot", description="Run Deepnote notebooks from Slack."
    )
    parser.add_argument("--version", action="version", version=f"deepnote-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_serve,
        _add_health,
        _add_backup,
        _add_migrate_db,
        _add_console,
        _add_simulator,
    ):
        add(sub)
    return parser


# argparse's own name for what `add_subparsers` returns.
_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_serve(sub: _Subparsers) -> None:
    """`serve`: run the bot."""
    serve = sub.add_parser(
        "serve",
        help="run the bot (settings come from the environment)",
        description="Run the bot until SIGTERM or Ctrl-C. Every setting is an environment "
        "variable (SLACK_BOT_TOKEN, DEEPNOTE_API_KEY, DATABASE_PATH...; see the README). With "
        "SLACK_APP_TOKEN set it connects to Slack over Socket Mode, else it serves HTTP on PORT "
        "(/slack/events, and /healthz). At start it asks Slack (auth.test) and Deepnote "
        "(GET /v2/me) whether they accept the token and the key. It logs one JSON line per "
        'event on stderr: "ready" once it is connected and both have answered; "waiting" '
        "while one cannot be reached (it is asked again after 1 s, 2 s, 4 s... up to every "
        "60 s, and the bot reports itself not healthy until it answers).",
        epilog="Exit status: 0 after a clean stop; 2 when a setting is missing or malformed, "
        "the database cannot be used, the port is taken or Slack refuses the Socket Mode "
        "connection; 3 when Slack rejects SLACK_BOT_TOKEN or Deepnote rejects DEEPNOTE_API_KEY "
        "(at start, or when one that could not be reached at start answers later).",
    )
    serve.set_defaults(func=_serve)


def _add_health(sub: _Subparsers) -> None:
    """`health`: report whether the bot is working."""
    health = sub.add_parser(
        "health",
        help="report whether the bot is working (reads DATABASE_URL or DATABASE_PATH; exit 0 "
        "healthy, 1 not)",
        description="Print the health of the bot that runs on DATABASE_URL (PostgreSQL) or "
        "DATABASE_PATH (SQLite) as JSON: the storage and the leader, the "
        "database (checked with a real write), its last background round, poller lag, runs in "
        "flight and the last successful Deepnote and Slack calls. It reads the database only, "
        "so it works in Socket Mode and from another container; it needs no token.",
        epilog="Exit status: 0 when the bot is healthy (background work ran in the last 30 s "
        "and Slack and Deepnote have both answered it since it started); 1 otherwise, with the "
        'reason in "status" (and the services not answering yet in "waiting_for"), also '
        "when the database cannot be reached.",
    )
    health.set_defaults(func=_health)


def _add_backup(sub: _Subparsers) -> None:
    """`backup PATH`: copy the live database."""
    backup = sub.add_parser(
        "backup",
        help="write a consistent copy of the live database (DATABASE_PATH or DATABASE_URL) to PATH",
        description="Write a consistent copy of the bot's SQLite database (DATABASE_PATH) to "
        "PATH, safely while the bot runs. PATH must be a new file in an existing folder. To "
        "restore: stop the bot, copy the backup over DATABASE_PATH, delete DATABASE_PATH-wal "
        "and DATABASE_PATH-shm if they exist, and start the bot. With DATABASE_URL set "
        "(PostgreSQL), it runs pg_dump into PATH (custom format) and prints how to restore it "
        "with pg_restore; without pg_dump installed it prints the recipe.",
        epilog="Exit status: 0 when the backup was written; 2 when there is no database at "
        "DATABASE_PATH; 3 when PATH's folder does not exist; 4 when PATH already exists; 5 "
        "when it cannot be written (permissions, full disk).",
    )
    backup.add_argument("path", metavar="PATH", help="the new file to write (must not exist)")
    backup.set_defaults(func=_backup)


def _add_migrate_db(sub: _Subparsers) -> None:
    """`migrate-db --from URL --to URL`: copy an installation into another database."""
    migrate = sub.add_parser(
        "migrate-db",
        help="copy every table of one database into another (e.g. SQLite into PostgreSQL)",
        description="Copy the bot's whole state (runs, schedules, aliases, audit log, ...) "
        "from one database into another, printing the rows per table. Rows are upserted by "
        "their keys, so running it again is safe. Stop the bot first.",
        epilog="Example: deepnote-bot migrate-db --from sqlite:///deepnote-bot.db "
        '--to "$DATABASE_URL"',
    )
    migrate.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="sqlite:///path/to/file.db (or a file path), or postgres://...",
    )
    migrate.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="postgres://... or sqlite:///..."
    )
    migrate.set_defaults(func=_migrate_db)


def _set_value(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not NAME=VALUE: {raw!r}")
    return name.strip(), value


def _console_help() -> tuple[str, str]:
    """The console's description and its epilog: how -c ends, and every exit code."""
    from bot.offline.exit_codes import EXIT_CODES

    def para(text: str) -> str:
        """One paragraph, wrapped as argparse would."""
        return textwrap.fill(text, 78)

    description = "\n\n".join(
        [
            para(
                "Run the real bot with a local stand-in for Slack and type /deepnote commands "
                "as you would in Slack; the terminal shows what the channel would show. "
                "Buttons show as [N: Label] and /press N presses one; a form (the run form) "
                "asks for its fields one by one. Type /console for the console's own commands."
            ),
            para(
                "Without DEEPNOTE_API_KEY (or DEEPNOTE_TOKEN) in the environment, the built-in "
                "Deepnote simulator plays Deepnote with sample notebooks; with one, runs are "
                "real. Other settings (DATABASE_PATH, POLL_INTERVAL_SECONDS, LOG_LEVEL...) are "
                "read from the environment as for `serve`; the database is temporary unless "
                "DATABASE_PATH is set."
            ),
        ]
    )
    codes = "\n".join(
        textwrap.fill(meaning, 78, initial_indent=f"  {code:<4}", subsequent_indent=" " * 6)
        for code, meaning in EXIT_CODES
    )
    epilog = (
        para(
            "With -c the console sends one command and waits for its outcome: a command that "
            "starts no run ends as soon as the bot has answered it; a command that opens a "
            "form gets the form sent at once with its pre-filled values, changed by any "
            "--set NAME=VALUE, and the console says so."
        )
        + "\n\nexit status:\n"
        + codes
    )
    return description, epilog


def _add_console(sub: _Subparsers) -> None:
    """`console`: the bot in a terminal, Slack played locally."""
    description, epilog = _console_help()
    console = sub.add_parser(
        "console",
        help="chat with the bot in this terminal: Slack (and Deepnote) played locally",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    console.add_argument(
        "-c",
        dest="command",
        metavar="COMMAND",
        help='run one command, e.g. -c "/deepnote run <id> key=value", wait for its outcome '
        "and exit",
    )
    console.add_argument(
        "--set",
        dest="sets",
        type=_set_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with -c, a value for a field of the form the command opens (NAME: the input's "
        "name, or NAME:start / NAME:end / NAME:preset of a date range; VALUE as typed in "
        "the form: an option's name or number, YYYY-MM-DD, y/n); may be repeated",
    )
    console.add_argument(
        "--admin",
        action="store_true",
        help="make you a bot admin (added to ADMIN_USER_IDS): you may then change anyone's "
        "schedules, remove anyone's aliases and read /deepnote audit",
    )
    console.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="simulate your own .deepnote / .snapshot.deepnote exports from DIR instead of "
        "the sample notebooks (simulator only)",
    )
    _add_console_settings(console)
    console.set_defaults(func=_console)


def _add_console_settings(console: argparse.ArgumentParser) -> None:
    """The console's options that set up its chat, its output and its simulator."""
    console.add_argument("--user", default="you", help="your name in the chat (default: you)")
    console.add_argument(
        "--channel", default="general", help="the channel's name (default: general)"
    )
    console.add_argument(
        "--no-color", action="store_true", help="plain text (also when NO_COLOR is set)"
    )
    console.add_argument(
        "--timeout",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="with -c (and for each line piped in), how long to wait for the outcome "
        "(default: 120)",
    )
    console.add_argument(
        "--log-file",
        type=Path,
        metavar="FILE",
        help="append the bot's JSON logs to FILE (default: a temporary file, removed at exit)",
    )
    console.add_argument(
        "--sim-pending-seconds", type=_seconds, default=1.0, help=argparse.SUPPRESS
    )
    console.add_argument(
        "--sim-running-seconds", type=_seconds, default=2.0, help=argparse.SUPPRESS
    )


def _add_simulator(sub: _Subparsers) -> None:
    """`simulator`: serve the Deepnote API simulator."""
    simulator = sub.add_parser(
        "simulator",
        help="serve the built-in Deepnote API simulator until Ctrl-C",
        description="Serve an offline simulator of Deepnote's API v2 with sample notebooks. "
        "Point a bot at it with DEEPNOTE_API_URL and DEEPNOTE_API_KEY (both printed on start).",
    )
    simulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; the /_sim control endpoints have no auth)",
    )
    simulator.add_argument(
        "--port",
        type=_port,
        default=8765,
        help="port to listen on, 0 for any free one (default: 8765)",
    )
    simulator.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="serve your own .deepnote / .snapshot.deepnote exports from DIR instead of the "
        "sample notebooks",
    )
    simulator.add_argument(
        "--api-key",
        default="sim-key",
        help="the API key the simulator accepts (default: sim-key; it guards nothing real)",
    )
    simulator.add_argument(
        "--pending-seconds",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how long a new run stays pending (default: 2)",
    )
    simulator.add_argument(
        "--running-seconds",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long a run then runs before its outcome (default: 5)",
    )
    simulator.set_defaults(func=_simulator)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `deepnote-bot` and `python -m bot`."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except StorageError as exc:
        starting = args.command in ("serve", "console")
        print(f"The bot cannot start: {exc}" if starting else str(exc), file=sys.stderr)
        return 2
