"""The listeners' parts on their own: the error path, the dispatch table, schedule replies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import MappingProxyType, SimpleNamespace
from typing import Any, cast

import pytest

from bot.commands.docs import COMMANDS
from bot.commands.types import HelpCommand
from bot.errors import DeepnoteError, NotebookNotFound, UserError
from bot.runs.service import Requester
from bot.schedules.service import DELETE, PAUSE, RESUME, TRIGGER, ScheduleChange
from bot.services import Services
from handlers import errors
from handlers.commands import SlashCommand
from handlers.dispatch import ROUTES, dispatch, supported_names
from handlers.schedule_commands import change_reply
from storage.schedules import ScheduleRecord

ALICE = Requester(user_id="U1", team_id="T1", channel_id="C1")
SCHEDULE = ScheduleRecord(
    1,
    "T1",
    "C1",
    "U1",
    "nb",
    "Sales",
    "0 9 * * *",
    "UTC",
    "always",
    datetime(2026, 1, 1, tzinfo=UTC),
)


def test_one_reply_for_every_error() -> None:
    assert errors.reply_for(UserError("No.", hint="Try.")).text == ":warning: No.\nTry."
    assert errors.reply_for(DeepnoteError("down")).text == ":warning: Deepnote said: down"
    assert errors.reply_for(KeyError("x")).text == f":warning: {errors.INTERNAL_ERROR}"
    assert errors.warning(KeyError("x")) == f":warning: {errors.INTERNAL_ERROR}"


def test_answer_logs_only_what_nobody_explained(caplog: pytest.LogCaptureFixture) -> None:
    def explained() -> None:
        raise UserError("No.")

    def bug() -> None:
        raise KeyError("x")

    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        assert errors.answer(explained, "x", event="e") == errors.reply_for(UserError("No."))
        assert not caplog.records
        assert errors.answer(bug, "x", event="e") == errors.reply_for(KeyError("x"))
    assert [r.__dict__.get("event") for r in caplog.records] == ["e"]
    assert caplog.records[0].exc_info is not None


def test_the_bolt_error_handler_logs_every_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.errors"):
        errors.on_listener_error(UserError("No."))
        errors.on_listener_error(KeyError("x"))
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.ERROR]


def test_not_found_has_one_wording() -> None:
    exc = NotebookNotFound("abc")
    assert exc.message == "Deepnote has no notebook `abc` that the bot's API key can see."
    assert exc.hint
    assert "access to the project" in exc.hint


def test_the_dispatch_table_is_fixed_and_serves_every_documented_command() -> None:
    assert isinstance(ROUTES, MappingProxyType)
    assert supported_names() == [c.name for c in COMMANDS]
    assert len({route.name for route in ROUTES.values()}) == len(ROUTES)


def test_help_is_dispatched_without_any_service() -> None:
    reply = dispatch(cast(Services, SimpleNamespace()), ALICE, HelpCommand(topic="run"))
    assert reply is not None
    assert reply.text.startswith("/deepnote run: Run a notebook")


def test_slash_command_answers_syntax_errors_in_the_acknowledgement() -> None:
    acks: list[dict[str, Any]] = []
    queued: list[tuple[Any, ...]] = []
    background = SimpleNamespace(submit=lambda *args: queued.append(args))
    listener = SlashCommand(cast(Services, SimpleNamespace(background=background)))

    def ack(**kwargs: Any) -> None:
        acks.append(kwargs)

    listener.acknowledge(ack, {"text": "run --as-is"}, respond=cast(Any, None))
    assert acks[0]["text"].startswith(":warning:")
    assert not queued
    listener.acknowledge(ack, {"text": "status r1", "user_id": "U1"}, respond=cast(Any, None))
    assert acks[1] == {}
    assert queued[0][0] == "command"


@pytest.mark.parametrize(
    ("change", "channel", "expected"),
    [
        (ScheduleChange(PAUSE, SCHEDULE, "U1"), "C1", None),
        (ScheduleChange(PAUSE, SCHEDULE, "U1", changed=False), "C1", "is already paused"),
        (ScheduleChange(RESUME, SCHEDULE, "U1", changed=False), "C1", "is not paused"),
        (ScheduleChange(DELETE, SCHEDULE, "U1", announced=False), "C1", "deleted"),
        (ScheduleChange(TRIGGER, SCHEDULE, "U1"), "C1", None),
        (ScheduleChange(TRIGGER, SCHEDULE, "U1"), "C2", "its card is in <#C1>"),
    ],
)
def test_schedule_changes_are_rendered_by_the_handler(
    change: ScheduleChange, channel: str, expected: str | None
) -> None:
    who = Requester(user_id="U1", team_id="T1", channel_id=channel)
    reply = change_reply(change, who)
    if expected is None:
        assert reply is None
    else:
        assert reply is not None
        assert expected in reply.text
