"""Opening the run form, and starting the run a form (or its offer's buttons) asks for.

A modal can open only within 3 seconds of a click or command (its `trigger_id`); when it
cannot, the person gets an offer instead: a message with buttons that open the form or run
now. Form metadata and button values carry the bot's own HMAC.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.deepnote.models import InputValue, Notebook
from bot.errors import SlackError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.inputs import example_command
from bot.slack.run_form import (
    FormRequest,
    TamperedForm,
    build_view,
    button_value,
    form_key,
    modal_metadata,
    read_request,
)
from bot.text.mrkdwn import code_block, escape, truncate
from handlers.notebooks import fetch_notebook
from storage.records import RunOptions

log = logging.getLogger(__name__)

OPEN_FORM = "open_run_form"
RUN_NOW = "run_now"

# Why the form is offered as a button instead of opened.
NO_TRIGGER = "no_trigger"
TRIGGER_EXPIRED = "trigger_expired"

TRIGGER_GONE = ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id")
"""What Slack answers views.open with when the click's or command's trigger_id is used up."""


def form_key_of(services: Services) -> bytes:
    """The key that signs form metadata and offer buttons."""
    config = services.config
    return form_key(config.slack_signing_secret or config.slack_bot_token)


def _offer_buttons(value: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Fill in the form…"},
                "action_id": OPEN_FORM,
                "value": value,
                "style": "primary",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Run now"},
                "action_id": RUN_NOW,
                "value": value,
            },
        ],
    }


def form_offer(
    services: Services, notebook: Notebook, request: FormRequest, reason: str
) -> Message:
    """A message with buttons that open the form (or run now), for when no modal can open."""
    name = escape(truncate(notebook.name or notebook.id, 150))
    if reason == TRIGGER_EXPIRED:
        lead = (
            f"Slack did not let the bot open the form for *{name}* in time "
            "(a form must open within 3 seconds). Nothing was started."
        )
    elif request.inputs:
        lead = f"*{name}* has inputs. Fill them in, or run it with the values you gave."
    else:
        lead = f"*{name}* has inputs. Fill them in, or run it with its current values."
    example = code_block(example_command(notebook), limit=2000)
    text = f"{lead}\nOr type the values in the command:\n{example}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    value = button_value(request, form_key_of(services))
    if value is not None:
        blocks.append(_offer_buttons(value))
    command = escape(truncate(example_command(notebook), 1000))
    return Message(text=f"{lead} Or: {command}", blocks=blocks)


def open_run_form(
    services: Services,
    notebook: Notebook,
    request: FormRequest,
    *,
    trigger_id: str | None,
    values: Mapping[str, Any] | None = None,
) -> Message | None:
    """Open the run form; when Slack cannot (no or expired trigger), the message to show."""
    # Refuse before anyone fills in a form that could never run here.
    services.runs.access.check_notebook(request.channel_id, notebook.id, notebook.name)
    metadata = modal_metadata(request, form_key_of(services))
    if not trigger_id:
        return form_offer(services, notebook, request, NO_TRIGGER)
    view = build_view(notebook, metadata=metadata, values=values, request=request)
    try:
        services.slack.open_view(trigger_id, view)
    except SlackError as exc:
        log.info(
            "could not open the run form",
            extra={"event": "form_not_opened", "code": exc.code, "notebook": notebook.id},
        )
        if exc.code not in TRIGGER_GONE:
            raise
        return form_offer(services, notebook, request, TRIGGER_EXPIRED)
    return None


def request_for(
    who: Requester,
    notebook: Notebook,
    options: RunOptions,
    *,
    inputs: Mapping[str, InputValue] | None = None,
) -> FormRequest:
    """The form request for a person in a channel (and thread)."""
    return FormRequest(
        notebook_id=notebook.id,
        team_id=who.team_id,
        user_id=who.user_id,
        channel_id=who.channel_id,
        thread_ts=who.thread_ts,
        options=options,
        inputs=dict(inputs or {}),
    )


def signed_request(services: Services, text: str, team_id: str) -> FormRequest:
    """The form request in signed `text`, made for `team_id`; else `TamperedForm`."""
    request = read_request(text, form_key_of(services))
    if request.team_id != team_id:
        raise TamperedForm()
    return request


def start_from_request(
    services: Services,
    request: FormRequest,
    user_id: str,
    inputs: Mapping[str, InputValue],
    *,
    notebook: Notebook | None = None,
    intent_id: str | None = None,
) -> None:
    """Start the run a form (or its button) asks for, as `user_id` (`notebook`: when the
    caller has read it already; `intent_id`: the stored request the run is keyed by)."""
    notebook = notebook or fetch_notebook(services, request.notebook_id)
    who = Requester(
        user_id=user_id,
        team_id=request.team_id,
        channel_id=request.channel_id,
        thread_ts=request.thread_ts,
        trigger="form",
        intent_id=intent_id,
    )
    services.runs.start(who, notebook, inputs, request.options)


def rejected_view(message: str) -> dict[str, Any]:
    """The modal that replaces a form the bot refuses, saying why."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Run a notebook"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {message}"}}],
    }
