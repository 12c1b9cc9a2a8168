"""The bot's one error tree.

`UserError` messages are written for the person in Slack: safe to show as they are.
`UpstreamError` wraps a failure of Slack or Deepnote; its `user_message` is plain text that
may carry the service's own words, so a message shows `render(escape)`; its `str()` is for
logs. No error text ever contains a token or key.

Every layer imports this module (storage included) and it imports nothing of the bot's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class UserError(BotError):
    """Something the user asked for cannot be done; the message says what and what to do."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def user_message(self) -> str:
        """The full reply for the user: the problem, then the hint when there is one."""
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class FormErrors(UserError):
    """Problems to show next to the run form's fields: block id → plain text."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class NotebookNotFound(UserError):
    """Deepnote has no notebook by this id, or the bot's API key cannot see it.

    >>> NotebookNotFound("abc").message
    "Deepnote has no notebook `abc` that the bot's API key can see."
    """

    def __init__(self, notebook_id: str) -> None:
        super().__init__(
            f"Deepnote has no notebook `{notebook_id}` that the bot's API key can see.",
            hint="Check the id or link, and that the key's owner has access to the project "
            "(the notebook may have been deleted or moved).",
        )
        self.notebook_id = notebook_id


class StorageError(BotError):
    """The database file cannot be used; the message says why and what to do."""


class CredentialRejected(BotError):
    """Slack or Deepnote refused the bot's token or key: the bot cannot work until an admin
    sets a valid one. The message names the setting, never its value.

    >>> str(CredentialRejected("Slack", "SLACK_BOT_TOKEN", "invalid_auth", "Set a valid one."))
    'Slack rejected SLACK_BOT_TOKEN (invalid_auth). Set a valid one.'
    """

    def __init__(self, service: str, setting: str, reason: str, advice: str) -> None:
        super().__init__(f"{service} rejected {setting} ({reason}). {advice}")
        self.service = service
        self.setting = setting


class BudgetExhausted(BotError):
    """A background request found no Deepnote request budget left: try again next round."""


def is_expected(exc: BaseException) -> bool:
    """Whether `exc` is a failure the bot explains to the person (their request, or Slack or
    Deepnote failing) rather than a bug to log with its traceback.

    >>> is_expected(UserError("no")), is_expected(DeepnoteError("down")), is_expected(KeyError())
    (True, True, False)
    """
    return isinstance(exc, UserError | UpstreamError)


class ConfigError(BotError):
    """One or more settings are missing or invalid; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The bot cannot start; fix these settings:\n{lines}")


class UpstreamError(BotError):
    """A call to Slack or Deepnote failed."""

    service = "upstream"

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable

    @property
    def user_message(self) -> str:
        """What to tell the user about this failure (plain text)."""
        return f"{self.service} said: {self.message}"

    def render(self, escape: Callable[[str], str]) -> str:
        """`user_message` for a mrkdwn message: the service's own words go through `escape`.

        >>> DeepnoteError("<!channel>").render(lambda s: s.replace("<", "&lt;"))
        'Deepnote said: &lt;!channel>'
        """
        return f"{self.service} said: {escape(self.message)}"


class DeepnoteError(UpstreamError):
    """Deepnote's API answered with an error or could not be reached."""

    service = "Deepnote"


class DeepnoteBadRequest(DeepnoteError):
    """400: the request was invalid (bad inputs, notebook or project problem)."""


class DeepnoteAuthError(DeepnoteError):
    """401: the API key is missing, wrong or revoked."""

    @property
    def user_message(self) -> str:
        return (
            "Deepnote rejected the bot's API key (401). An admin needs to set a valid "
            "DEEPNOTE_API_KEY and restart the bot."
        )

    def render(self, escape: Callable[[str], str]) -> str:
        """The bot's own words: nothing of Deepnote's to escape."""
        return self.user_message


class DeepnoteForbidden(DeepnoteError):
    """403: the key's owner may not do this."""


class DeepnoteNotFound(DeepnoteError):
    """404: the notebook or run does not exist (or the key cannot see it)."""


class DeepnoteConflict(DeepnoteError):
    """409: e.g. the project is suspended."""


class DeepnoteRateLimited(DeepnoteError):
    """429: too many requests."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429, retryable=True)
        self.retry_after = retry_after


class DeepnoteServerError(DeepnoteError):
    """5xx: Deepnote failed (e.g. 'Hardware unable to start')."""


class DeepnoteUnavailable(DeepnoteError):
    """Deepnote could not be reached or its answer could not be read (timeout, reset, bad JSON)."""


class DeepnoteCreateUncertain(DeepnoteError):
    """A POST /v2/runs may have reached Deepnote but no answer came back; it is never retried."""

    @property
    def user_message(self) -> str:
        return (
            "Deepnote did not answer in time, so the run may or may not have started. "
            "Check the notebook's runs in Deepnote before starting it again."
        )

    def render(self, escape: Callable[[str], str]) -> str:
        """The bot's own words: nothing of Deepnote's to escape."""
        return self.user_message


class SlackError(UpstreamError):
    """Slack's Web API answered with an error or could not be reached."""

    service = "Slack"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.code = code
        self.retry_after = retry_after

    def render(self, escape: Callable[[str], str]) -> str:
        """The message is the gateway's explanation of Slack's code (bot-written mrkdwn)."""
        return self.user_message
