"""One error path for every listener: an error becomes one reply, and bugs are logged once.

Listeners acknowledge at once and hand slow work to `services.background`. Bolt's error handler
(`app.error`) sees only what fails before the acknowledgement; work on `services.background`
runs after Bolt has answered, so it reports its failures through `answer` / `report` here,
which the Bolt handler uses too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.errors import UpstreamError, is_expected
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import error_reply
from bot.text.mrkdwn import escape

log = logging.getLogger(__name__)

INTERNAL_ERROR = (
    "Something went wrong inside the bot and nothing was changed. The error was logged; "
    "try again, and tell the admin who installed the bot if it keeps happening."
)


def error_text(exc: BaseException) -> str:
    """What to tell a person about `exc` (bot-written mrkdwn, never a stack trace).

    >>> from bot.errors import UserError
    >>> error_text(UserError("No.", hint="Try this.")), error_text(KeyError("x"))[:30]
    ('No.\\nTry this.', 'Something went wrong inside th')
    """
    if isinstance(exc, UpstreamError):
        return exc.render(escape)  # Deepnote's words are text, never markup
    return exc.user_message if is_expected(exc) else INTERNAL_ERROR  # type: ignore[attr-defined]


def reply_for(exc: BaseException) -> Message:
    """The ephemeral reply for an error."""
    return error_reply(error_text(exc))


def warning(exc: BaseException) -> str:
    """The notice at the top of the Home tab for an error."""
    return f":warning: {error_text(exc)}"


def report(exc: BaseException, what: str, *, event: str, **extra: Any) -> None:
    """Log a failure: an unexpected one with its traceback; an explained one is not logged."""
    if not is_expected(exc):
        log.error(what, exc_info=exc, extra={"event": event, **extra})


def answer(
    call: Callable[[], Message | None], what: str, *, event: str, **extra: Any
) -> Message | None:
    """The reply `call()` gives, or the reply for the error it raised (reported)."""
    try:
        return call()
    except Exception as exc:
        report(exc, what, event=event, **extra)
        return reply_for(exc)


def on_listener_error(error: Exception) -> None:
    """Bolt's error handler: a listener failed before acknowledging (Bolt answers 500).

    Nobody is told in Slack, so even an explained error is logged here.
    """
    if is_expected(error):
        log.warning("listener refused: %s", error, extra={"event": "listener_error"})
    else:
        report(error, "listener failed", event="listener_error")


def install(app: App) -> None:
    """Make `on_listener_error` the app's error handler (each `register` calls this)."""
    app.error(on_listener_error)
