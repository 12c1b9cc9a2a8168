"""`python -m bench.botproc`: the real bot in HTTP mode on 127.0.0.1, port 0.

This is `deepnote-bot serve` except for the address it listens on: settings come from the
environment (the benchmark sets only URLs, secrets and the database; every other setting,
POLL_INTERVAL_SECONDS included, keeps its default), the background job is the real APScheduler
one, and once the server listens the first line on stdout is `{"port": ..., "pid": ...}`.
SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from types import FrameType

from bot.app import build_app
from bot.config import load_config
from bot.logs import setup_logging
from bot.web.http_server import BotHTTPServer
from storage.seen_requests import SeenRequests


def main() -> int:
    """Build the bot from the environment, serve it, and wait for a stop signal."""
    config = load_config(os.environ)
    setup_logging(config.log_level, config.secrets())
    bot = build_app(config)
    bot.services.runs.recover()
    bot.start_background()
    server = BotHTTPServer(
        bot.bolt,
        health=bot.health,
        host="127.0.0.1",
        port=0,
        signing_secret=config.slack_signing_secret or "",
        seen=SeenRequests(bot.services.db),
    )
    server.start()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(json.dumps({"port": server.port, "pid": os.getpid()}), flush=True)
    stop.wait()
    server.stop()
    bot.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
