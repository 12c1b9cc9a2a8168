"""Buttons on the run card and the run form modal.

Every click is acknowledged at once; the slow part (Deepnote, starting a run, opening a
modal) runs on `services.background`. The person who clicks or submits is the one recorded
as starting the new run. A button value names a run by the bot's own id, and is accepted
only for a run of the same team and channel; a form's metadata is accepted only with the
bot's own HMAC. Anything else is answered with an ephemeral error and starts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.deepnote.models import InputValue, Notebook
from bot.errors import (
    DeepnoteError,
    DeepnoteNotFound,
    FormErrors,
    SlackError,
    UpstreamError,
    UserError,
)
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import Message
from bot.slack.messages.help import error_reply
from bot.slack.messages.inputs import example_command
from bot.slack.run_form import (
    CALLBACK_ID,
    FormRequest,
    TamperedForm,
    build_view,
    button_value,
    form_key,
    modal_metadata,
    parse_state,
    read_request,
    validate_form,
)
from bot.text.mrkdwn import code, code_block, escape, truncate
from handlers.aliases import remember_notebook
from handlers.home import is_home_click, publish_home, warning
from storage.records import RunOptions, RunRecord

log = logging.getLogger(__name__)

RERUN = "rerun"
RERUN_FORM = "rerun_form"
URL_BUTTONS = ("open_notebook", "open_snapshot")
OPEN_FORM = "open_run_form"
RUN_NOW = "run_now"

INTERNAL_ERROR = "Something went wrong inside the bot and nothing was started. Try again."

# Why the form is offered as a button instead of opened.
NO_TRIGGER = "no_trigger"
TRIGGER_EXPIRED = "trigger_expired"


# --- reading payloads (pure) ------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def clicker(body: Mapping[str, Any]) -> Requester:
    """Who clicked, and where: the new card goes in the same channel, and in the card's
    thread when the card is a thread reply."""
    message_ts = _text(_get(body, "message", "ts")) or _text(_get(body, "container", "message_ts"))
    thread_ts = _text(_get(body, "message", "thread_ts")) or _text(
        _get(body, "container", "thread_ts")
    )
    return Requester(
        user_id=_text(_get(body, "user", "id")) or "",
        team_id=_text(_get(body, "user", "team_id")) or _text(_get(body, "team", "id")) or "",
        channel_id=_text(_get(body, "channel", "id"))
        or _text(_get(body, "container", "channel_id"))
        or "",
        thread_ts=thread_ts if thread_ts and thread_ts != message_ts else None,
        trigger="button",
    )


def action_value(body: Mapping[str, Any]) -> str:
    """The `value` of the (first) clicked button."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return _text(_get(first, "value")) or ""


def unknown_button() -> UserError:
    """The answer to a button that does not name a run of this team and channel."""
    return UserError(
        "That button does not belong to a run this bot started here, so nothing was started.",
        hint="Start a new run with `/deepnote run`.",
    )


def known_run(services: Services, body: Mapping[str, Any], who: Requester) -> RunRecord:
    """The run a card button names; `UserError` for a value that is not one of ours."""
    value = action_value(body)
    run = services.store.get(value) if 0 < len(value) <= 100 else None
    # Only the bot's own id is on the card; Deepnote's run id is not accepted from a button.
    # From a channel, the run must be of that channel; from the Home tab, the viewer's own.
    if (
        run is None
        or run.id != value
        or run.team_id != who.team_id
        or (who.channel_id and run.channel_id != who.channel_id)
        or (not who.channel_id and run.user_id != who.user_id)
    ):
        log.warning(
            "button for an unknown run",
            extra={"event": "button_rejected", "user": who.user_id, "team": who.team_id},
        )
        raise unknown_button()
    return run


# --- Slack side effects -------------------------------------------------------------------------


def fetch_notebook(services: Services, notebook_id: str, *, retries: int | None = None) -> Notebook:
    """The notebook by id, remembering its name; `UserError` when Deepnote has none."""
    try:
        notebook = services.deepnote.get_notebook(notebook_id, retries=retries)
    except DeepnoteNotFound:
        services.notebook_names.forget(notebook_id)
        raise UserError(
            f"Deepnote has no notebook `{notebook_id}` that the bot's API key can see any more.",
            hint="It may have been deleted or moved; check it in Deepnote.",
        ) from None
    remember_notebook(services, notebook)
    return notebook


def reply_for(exc: Exception) -> Message:
    """The error message for a person (never a stack trace)."""
    if isinstance(exc, UserError | UpstreamError):
        return error_reply(exc.user_message)
    return error_reply(INTERNAL_ERROR)


def tell(
    services: Services,
    who: Requester,
    msg: Message,
    respond: Respond | None = None,
) -> None:
    """Show `msg` to one person: through the response_url, else as an ephemeral in the
    channel, else in a direct message."""
    if respond is not None:
        try:
            answer = respond(
                text=msg.text, blocks=msg.blocks, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return
        except OSError:
            pass
        log.warning("response_url failed", extra={"event": "respond_failed"})
    if who.channel_id:
        try:
            services.slack.ephemeral(who.channel_id, who.user_id, msg.text, msg.blocks)
            return
        except SlackError:
            pass
    try:
        services.slack.post(who.user_id, msg.text, msg.blocks)
    except SlackError:
        log.warning("could not tell the user", extra={"event": "tell_failed"})


def remove_offer(respond: Respond | None) -> None:
    """Delete the ephemeral whose button was used, so it is not used twice (best effort)."""
    if respond is None:
        return
    try:
        respond(delete_original=True)
    except OSError:
        log.info("could not remove the offer", extra={"event": "offer_not_removed"})


def _guarded(
    services: Services, what: str, work: Callable[[Mapping[str, Any], Respond | None], None]
) -> Callable[..., None]:
    """Slow click work that turns every failure into a message to the person who clicked."""

    def listener(body: Mapping[str, Any], respond: Respond | None = None) -> None:
        try:
            work(body, respond)
        except Exception as exc:
            if not isinstance(exc, UserError | UpstreamError):
                log.exception(f"{what} failed", extra={"event": "interaction_error"})
            who = clicker(body)
            if is_home_click(body):
                try:
                    publish_home(services, who.user_id, who.team_id, notice=warning(exc))
                    return
                except SlackError:
                    pass
            tell(services, who, reply_for(exc), respond)

    return listener


def _acknowledged(
    services: Services, what: str, work: Callable[[Mapping[str, Any], Respond | None], None]
) -> Callable[..., None]:
    """A listener that acknowledges a click at once and leaves `work` to the background."""

    def listener(ack: Ack, body: dict[str, Any], respond: Respond | None = None) -> None:
        ack()
        services.background.submit(what, work, body, respond)

    return listener


# --- the run form -------------------------------------------------------------------------------


def _key(services: Services) -> bytes:
    config = services.config
    return form_key(config.slack_signing_secret or config.slack_bot_token)


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
    value = button_value(request, _key(services))
    if value is not None:
        blocks.append(
            {
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
        )
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
    key = _key(services)
    metadata = modal_metadata(request, key)
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
        if exc.code not in ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"):
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


def start_from_request(
    services: Services,
    request: FormRequest,
    user_id: str,
    inputs: Mapping[str, InputValue],
    *,
    notebook: Notebook | None = None,
) -> None:
    """Start the run a form (or its button) asks for, as `user_id` (`notebook`: when the
    caller has read it already)."""
    notebook = notebook or fetch_notebook(services, request.notebook_id)
    who = Requester(
        user_id=user_id,
        team_id=request.team_id,
        channel_id=request.channel_id,
        thread_ts=request.thread_ts,
        trigger="form",
    )
    services.runs.start(who, notebook, inputs, request.options)


def _signed_request(services: Services, text: str, who: Requester) -> FormRequest:
    request = read_request(text, _key(services))
    if request.team_id != who.team_id:
        raise TamperedForm()
    return request


def _rejected_view(message: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Run a notebook"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {message}"}}],
    }


# --- listeners ----------------------------------------------------------------------------------


def register(app: App, services: Services) -> None:
    """Attach the card buttons, the form buttons and the run form to the Bolt app."""

    def ack_now(ack: Ack) -> None:
        ack()

    for action in URL_BUTTONS:
        app.action(action)(ack_now)

    def rerun(body: Mapping[str, Any], respond: Respond | None) -> None:
        who = clicker(body)
        run = known_run(services, body, who)
        if not who.channel_id:  # from the Home tab: the new card goes where the old one is
            who = replace(who, channel_id=run.channel_id, thread_ts=run.thread_ts)
        notebook = fetch_notebook(services, run.notebook_id)
        missing = [name for name in run.inputs if notebook.input_named(name) is None]
        if missing:
            raise UserError(
                f"*{escape(truncate(notebook.name, 150))}* no longer has the input(s) "
                + ", ".join(code(m, limit=60) for m in missing[:10])
                + ", so it cannot be re-run as it was.",
                hint="Press *Re-run with changes…* to run it with its current inputs.",
            )
        services.runs.start(
            replace(who, thread_ts=who.thread_ts or run.thread_ts),
            notebook,
            run.inputs,
            services.store.options(run),
        )
        if is_home_click(body):
            name = escape(truncate(notebook.name, 150))
            notice = f"✔️ Started *{name}* again in <#{who.channel_id}>."
            publish_home(services, who.user_id, who.team_id, notice=notice)

    def rerun_form(body: Mapping[str, Any], respond: Respond | None) -> None:
        who = clicker(body)
        run = known_run(services, body, who)
        notebook = fetch_notebook(services, run.notebook_id, retries=0)
        request = request_for(
            replace(who, thread_ts=who.thread_ts or run.thread_ts),
            notebook,
            services.store.options(run),
            inputs=run.inputs,
        )
        trigger = _text(body.get("trigger_id"))
        msg = open_run_form(services, notebook, request, trigger_id=trigger, values=run.inputs)
        if msg is not None:
            tell(services, who, msg, respond)

    def open_form(body: Mapping[str, Any], respond: Respond | None) -> None:
        who = clicker(body)
        request = _signed_request(services, action_value(body), who)
        request = replace(request, user_id=who.user_id)
        notebook = fetch_notebook(services, request.notebook_id, retries=0)
        trigger = _text(body.get("trigger_id"))
        msg = open_run_form(services, notebook, request, trigger_id=trigger, values=request.inputs)
        if msg is not None:
            tell(services, who, msg, respond)
        else:
            remove_offer(respond)

    def run_now(body: Mapping[str, Any], respond: Respond | None) -> None:
        who = clicker(body)
        request = _signed_request(services, action_value(body), who)
        start_from_request(services, request, who.user_id, request.inputs)
        remove_offer(respond)

    for action, work in (
        (RERUN, rerun),
        (RERUN_FORM, rerun_form),
        (OPEN_FORM, open_form),
        (RUN_NOW, run_now),
    ):
        app.action(action)(_acknowledged(services, action, _guarded(services, action, work)))

    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = _text(_get(body, "user", "id")) or ""
        team_id = _text(_get(body, "user", "team_id")) or _text(_get(body, "team", "id")) or ""
        try:
            request = read_request(str(view.get("private_metadata") or ""), _key(services))
            if request.team_id != team_id or request.user_id != user_id:
                raise TamperedForm()
        except TamperedForm as exc:
            log.warning(
                "run form with bad metadata",
                extra={"event": "form_rejected", "user": user_id, "team": team_id},
            )
            ack(response_action="update", view=_rejected_view(exc.message))
            return
        today = services.clock.now().date()
        try:
            notebook = fetch_notebook(services, request.notebook_id, retries=0)
            services.runs.access.check_notebook(request.channel_id, notebook.id, notebook.name)
            state = _get(view, "state", "values")
            values = parse_state(notebook, state if isinstance(state, Mapping) else {})
            inputs = validate_form(notebook, values, today=today)
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except (UserError, DeepnoteError) as exc:
            ack(response_action="update", view=_rejected_view(exc.user_message))
            return
        ack()
        # The modal is closed; starting the run is slow and reports to the person if it fails.
        who = Requester(user_id, team_id, request.channel_id, request.thread_ts, trigger="form")
        services.background.submit("form", start_submitted, who, request, notebook, inputs)

    def start_submitted(
        who: Requester, request: FormRequest, notebook: Notebook, inputs: dict[str, Any]
    ) -> None:
        try:
            start_from_request(services, request, who.user_id, inputs, notebook=notebook)
        except Exception as exc:
            if not isinstance(exc, UserError | UpstreamError):
                log.exception("form run failed", extra={"event": "form_error"})
            tell(services, who, reply_for(exc))

    app.view(CALLBACK_ID)(submit)
