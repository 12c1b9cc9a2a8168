"""The `deepnote-bot` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from bot import __version__
from bot.config import load_config
from bot.errors import ConfigError
from bot.logs import setup_logging
from storage.db import StorageError

log = logging.getLogger("bot")


def _serve(_: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.http_server import BotHTTPServer

    config = load_config(os.environ)
    setup_logging(config.log_level, config.secrets())
    bot = build_app(config)
    bot.services.runs.recover()
    bot.start_background()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if config.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(bot.bolt, config.slack_app_token)
        handler.connect()  # type: ignore[no-untyped-call]
        log.info("ready", extra={"event": "ready", "mode": "socket"})
        stop.wait()
        handler.close()  # type: ignore[no-untyped-call]
    else:
        server = BotHTTPServer(bot.bolt, health=bot.health, port=config.port)
        server.start()
        log.info("ready", extra={"event": "ready", "mode": "http", "port": server.port})
        stop.wait()
        server.stop()
    bot.shutdown()
    log.info("stopped", extra={"event": "stopped"})
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="deepnote-bot", description="Run Deepnote notebooks from Slack."
    )
    parser.add_argument("--version", action="version", version=f"deepnote-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (settings come from the environment)")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `deepnote-bot` and `python -m bot`."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"The bot cannot start: {exc}", file=sys.stderr)
        return 2
