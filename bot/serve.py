"""`deepnote-bot serve`: the bot until it is stopped.

Start-up asks Slack (auth.test) and Deepnote (GET /v2/me) whether they accept the token and
the key (`BotApp.check_connections`), then opens Socket Mode or HTTP. A refused token or key
stops start-up with one message and exit status 3; a service that cannot be reached is asked
again with backoff while the bot serves, and `ready` is logged only once both have answered
(`waiting` until then).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, MutableMapping
from types import FrameType

from bot.app import BotApp, build_app
from bot.config import SETTINGS, Config, load_config
from bot.errors import CredentialRejected
from bot.health import RETRY_CAP_SECONDS, RETRY_FIRST_SECONDS, Connections
from bot.logs import setup_logging

log = logging.getLogger("bot")

# Exit statuses of `serve` (documented in `serve --help` and the README).
EXIT_SETTINGS = 2  # a setting is missing or malformed, the database or the port cannot be used
EXIT_REJECTED = 3  # Slack refused SLACK_BOT_TOKEN or Deepnote refused DEEPNOTE_API_KEY
# How long start-up waits for the first answers of Slack and Deepnote (each check has its own,
# shorter, timeout: this only bounds the wait).
FIRST_CHECK_WAIT_SECONDS = 15.0


def serve(environ: MutableMapping[str, str]) -> int:
    """Run the bot with the settings in `environ` until SIGTERM or SIGINT; the exit status."""
    config = load_config(environ)
    _forget_secrets(environ)
    setup_logging(config.log_level, config.secrets())
    bot = build_app(config)
    stop = threading.Event()
    rejected: list[CredentialRejected] = []

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    def _rejected(exc: CredentialRejected) -> None:
        rejected.append(exc)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    connections = bot.check_connections(_rejected)
    connections.wait_first(FIRST_CHECK_WAIT_SECONDS)
    if rejected:
        bot.shutdown()
        return _refused(rejected, started=False)
    opened = _open_socket_mode(bot, config, stop) if config.socket_mode else _open_http(bot, config)
    if opened is None:
        bot.shutdown()
        return EXIT_SETTINGS
    close, where = opened
    if not stop.is_set():  # stopped (or refused) while Socket Mode waited for Slack
        bot.services.runs.recover()
        bot.start_background()
        _announce(connections, where)
        stop.wait()
    close()
    bot.shutdown()
    if rejected:
        return _refused(rejected, started=True)
    log.info("stopped", extra={"event": "stopped"})
    return 0


def _forget_secrets(environ: MutableMapping[str, str]) -> None:
    """Take the tokens and keys out of this process's environment once they are read.

    Libraries read settings from the environment behind the bot's back: slack_bolt's App takes
    SLACK_BOT_TOKEN from it even when given a client (and warns at every start that the
    client's token wins). The bot's settings reach every part through `Config` only; nothing
    started later (a library, a child process) finds a secret in the environment.
    """
    for setting in SETTINGS:
        if setting.secret:
            for name in (setting.name, *setting.aliases):
                environ.pop(name, None)


def _announce(connections: Connections, where: dict[str, object]) -> None:
    """Log `waiting` while Slack or Deepnote has not answered, and `ready` once both have."""
    waiting = connections.waiting()
    if waiting:
        log.warning(
            "serving, but waiting for %s to answer",
            " and ".join(sorted(waiting)),
            extra={"event": "waiting", "waiting_for": sorted(waiting), **where},
        )
    connections.on_all_answered(lambda: log.info("ready", extra={"event": "ready", **where}))


def _refused(rejected: list[CredentialRejected], *, started: bool) -> int:
    """Say, in the log and on stderr, which credentials were refused; the exit status."""
    for exc in rejected:
        log.error(
            str(exc),
            extra={"event": "credential_rejected", "service": exc.service, "setting": exc.setting},
        )
    head = "The bot stopped" if started else "The bot cannot start"
    if len(rejected) == 1:
        print(f"{head}: {rejected[0]}", file=sys.stderr)
    else:
        print(f"{head}:\n" + "\n".join(f"  - {exc}" for exc in rejected), file=sys.stderr)
    return EXIT_REJECTED


_Opened = tuple[Callable[[], None], dict[str, object]]


def _open_socket_mode(bot: BotApp, config: Config, stop: threading.Event) -> _Opened | None:
    """Connect to Slack over Socket Mode: how to close it and where it serves, or None (after
    saying why) when Slack refuses the connection. While Slack cannot be reached it tries
    again with backoff, until it connects or `stop` is set."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(bot.bolt, config.slack_app_token)
    delay, attempt = RETRY_FIRST_SECONDS, 1
    while True:
        try:
            handler.connect()  # type: ignore[no-untyped-call]
            return handler.close, {"mode": "socket"}
        except SlackApiError as exc:
            if exc.response.status_code < 500:
                print(
                    "The bot cannot start: Slack refused the Socket Mode connection "
                    f"({exc.response.get('error')}). Check SLACK_APP_TOKEN (an app-level token "
                    "with the connections:write scope) and that Socket Mode is on in the app's "
                    "settings.",
                    file=sys.stderr,
                )
                return None
            why = f"HTTP {exc.response.status_code}"
        except Exception as exc:  # the network: slack_sdk raises what urllib raises
            why = type(exc).__name__
        log.warning(
            "Slack could not be reached to open Socket Mode; trying again in %g s",
            delay,
            extra={
                "event": "socket_mode_unreachable",
                "attempt": attempt,
                "retry_in_seconds": delay,
                "error": why,
            },
        )
        if stop.wait(delay):
            return lambda: None, {"mode": "socket"}
        delay, attempt = min(delay * 2, RETRY_CAP_SECONDS), attempt + 1


def _open_http(bot: BotApp, config: Config) -> _Opened | None:
    """Listen for Slack's requests over HTTP: how to close it and where it serves, or None
    (after saying why) when the port is taken."""
    from bot.web.http_server import BotHTTPServer
    from storage.seen_requests import SeenRequests

    try:
        server = BotHTTPServer(
            bot.bolt,
            health=bot.health,
            port=config.port,
            signing_secret=config.slack_signing_secret or "",
            seen=SeenRequests(bot.services.db),
        )
    except OSError as exc:
        print(
            f"The bot cannot start: it cannot listen on PORT {config.port} "
            f"({exc.strerror}). Choose a free port.",
            file=sys.stderr,
        )
        return None
    server.start()
    return server.stop, {"mode": "http", "port": server.port}
