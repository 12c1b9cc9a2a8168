"""The commands of `/deepnote`, as frozen values a parser returns and a handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.records import RunOptions

AUDIT_DEFAULT = 20
AUDIT_MAX = 200

Notify = Literal["always", "failures", "changes"]
NOTIFY_CHOICES: tuple[Notify, ...] = ("always", "failures", "changes")
Inputs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HelpCommand:
    """`help [command]`, and empty text."""

    topic: str | None


@dataclass(frozen=True)
class RunCommand:
    """`run <notebook> ...`; `notebook` is the raw reference, resolved later.

    `form` (`--form`) always opens the run form; `as_is` (`--as-is`) never does: inputs not
    given keep the notebook's current values. Without either, the form opens only when the
    notebook has inputs and none were given.
    """

    notebook: str
    inputs: Inputs
    options: RunOptions
    form: bool
    as_is: bool = False


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
    | InputsCommand
    | StatusCommand
    | ScheduleCommand
    | SchedulesCommand
    | UnscheduleCommand
    | PauseCommand
    | ResumeCommand
    | TriggerCommand
    | AliasCommand
    | AliasesCommand
    | UnaliasCommand
    | AuditCommand
)
