"""The commands of `/deepnote`, as frozen values a parser returns and a handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.records import RunOptions

AUDIT_DEFAULT = 20
AUDIT_MAX = 200
HISTORY_DEFAULT = 10
HISTORY_MAX = 50

Notify = Literal["always", "failures", "changes"]
NOTIFY_CHOICES: tuple[Notify, ...] = ("always", "failures", "changes")
Inputs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HelpCommand:
    """`help [command]`, and empty text."""

    topic: str | None


@dataclass(frozen=True)
class RunCommand:
    """`run <notebook> ...`; `notebook` is the raw reference, resolved later ("" for a bare
    `run`: the form opens with a notebook picker).

    `form` (`--form`) always opens the run form; `as_is` (`--as-is`) never does: inputs not
    given keep the notebook's current values. Without either, the form opens only when the
    notebook has inputs and none were given.
    """

    notebook: str
    inputs: Inputs
    options: RunOptions
    form: bool
    as_is: bool = False


FIND_CHARS = 100
FIND_WORDS = 20


@dataclass(frozen=True)
class FindCommand:
    """`find <text>`: notebooks whose own or project's name contains `text`."""

    text: str


@dataclass(frozen=True)
class InputsCommand:
    """`inputs <notebook>`."""

    notebook: str


@dataclass(frozen=True)
class StatusCommand:
    """`status <run-id>`."""

    run_id: str


@dataclass(frozen=True)
class ScheduleCommand:
    """`schedule <notebook> <when> ...`; `when` is extracted, not validated."""

    notebook: str
    when: str
    inputs: Inputs
    tz: str | None
    notify: Notify
    post_outputs: str | None
    notify_if: str | None = None
    """`--notify-if`: the condition as `describe` writes it (names not checked yet)."""


@dataclass(frozen=True)
class SchedulesCommand:
    """`schedules`."""


@dataclass(frozen=True)
class ScheduleAction:
    """A command on one schedule, named by its id (the four below differ only in kind)."""

    schedule_id: str


@dataclass(frozen=True)
class UnscheduleCommand(ScheduleAction):
    """`unschedule <schedule-id>`."""


@dataclass(frozen=True)
class PauseCommand(ScheduleAction):
    """`pause <schedule-id>`."""


@dataclass(frozen=True)
class ResumeCommand(ScheduleAction):
    """`resume <schedule-id>`."""


@dataclass(frozen=True)
class TriggerCommand(ScheduleAction):
    """`trigger <schedule-id>`."""


@dataclass(frozen=True)
class WatchCommand:
    """`watch <notebook> [--notify always|failures|changes] [--notify-if <condition>]`."""

    notebook: str
    notify: Notify = "always"
    notify_if: str | None = None
    """`--notify-if`: the condition as `describe` writes it (names not checked yet)."""


@dataclass(frozen=True)
class WatchesCommand:
    """`watches`."""


@dataclass(frozen=True)
class UnwatchCommand:
    """`unwatch <watch-id>`."""

    watch_id: str


@dataclass(frozen=True)
class HistoryCommand:
    """`history <notebook> [count]`."""

    notebook: str
    count: int = HISTORY_DEFAULT


REMOVE_CONDITION = ""
"""`EditCommand.notify_if` of `edit <id> --notify-if none`: the schedule's condition goes."""


@dataclass(frozen=True)
class EditCommand:
    """`edit <schedule-id> [when] [name=value ...] [options]`; None (or no inputs): unchanged.

    With nothing to change, the edit form opens (where Slack allows one).
    """

    schedule_id: str
    when: str | None = None
    inputs: Inputs = ()
    tz: str | None = None
    notify: Notify | None = None
    post_outputs: str | None = None
    notify_if: str | None = None
    """`--notify-if`: the new condition; None: not given (unchanged); `REMOVE_CONDITION`
    (`--notify-if none`): remove it."""

    def changes_nothing(self) -> bool:
        """Whether the command names no field to change."""
        return (
            self.when is None
            and not self.inputs
            and self.tz is None
            and self.notify is None
            and self.post_outputs is None
            and self.notify_if is None
        )


@dataclass(frozen=True)
class AliasCommand:
    """`alias <name> <notebook> [--replace]`; `notebook` is the raw reference, resolved later.
    `replace`: pointing an existing alias at another notebook was asked for explicitly."""

    name: str
    notebook: str
    replace: bool = False


@dataclass(frozen=True)
class AliasesCommand:
    """`aliases`."""


@dataclass(frozen=True)
class UnaliasCommand:
    """`unalias <name>`."""

    name: str


@dataclass(frozen=True)
class AuditCommand:
    """`audit [count]`."""

    limit: int


Command = (
    HelpCommand
    | RunCommand
    | FindCommand
    | InputsCommand
    | StatusCommand
    | ScheduleCommand
    | SchedulesCommand
    | UnscheduleCommand
    | PauseCommand
    | ResumeCommand
    | TriggerCommand
    | EditCommand
    | AliasCommand
    | AliasesCommand
    | UnaliasCommand
    | AuditCommand
    | WatchCommand
    | WatchesCommand
    | UnwatchCommand
    | HistoryCommand
)
