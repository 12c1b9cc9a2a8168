"""The run form's notebook picker: a bare `/deepnote run` (or the global shortcut) opens it.

The picker is an `external_select` in an actions block: Slack asks the bot for options as the
person types (a `block_suggestion`, answered within 3 s with at most 100 options), from the
same search as `/deepnote find` (`bot.deepnote.catalog`). Choosing one sends a `block_actions`;
the bot then replaces the modal in place (`views.update`, with the view's hash) by the run form
of that notebook, the picker still on top to choose another. A form opened without a channel
(the global shortcut has none) asks in which channel to post the run; the submission is the run
form's own (handlers/interactions.py: `FormSubmission`), with its checks, intake and audit.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from slack_bolt import Ack

from bot.deepnote.catalog import search_notebooks
from bot.deepnote.models import ListedNotebook
from bot.errors import DeepnoteError, FormErrors, SlackError, UserError
from bot.runs.service import Requester
from bot.services import Services
from bot.slack.messages.blocks import plain_text, section
from bot.slack.run_form import (
    CALLBACK_ID,
    FormRequest,
    TamperedForm,
    build_view,
    modal_metadata,
)
from handlers import errors
from handlers.find_command import may_run
from handlers.forms import TRIGGER_GONE, form_key_of, signed_request
from handlers.notebooks import fetch_notebook
from handlers.payloads import get, team_of, text

log = logging.getLogger(__name__)

PICK_ACTION = "pick_notebook"
PICK_BLOCK = "pick"
POST_IN_BLOCK = "post_in"
POST_IN_ACTION = "channel"
OPTIONS_MAX = 100
OPTION_CHARS = 75
VIEW_BLOCKS = 100
SUGGEST_WAIT_SECONDS = 2.0
"""How long a suggestion waits for the first listing; Slack gives up on it after 3 s."""
NO_PICKER = (
    "Name the notebook to run: `/deepnote run &lt;notebook&gt;`, or find it with "
    "`/deepnote find &lt;part of its name&gt;`."
)
_NOTEBOOK_ID = re.compile(r"[0-9a-f]{32}")


def _option(notebook_id: str, name: str, project: str = "") -> dict[str, Any]:
    """One option of the picker: the notebook's name and project; its id as the value."""
    label = f"{name or notebook_id} · {project}" if project else name or notebook_id
    return {"text": plain_text(label, OPTION_CHARS).to_dict(), "value": notebook_id}


def picker_block(chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """The actions block holding the picker (showing `chosen`, an option, when given)."""
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": PICK_ACTION,
        "placeholder": plain_text("Type a notebook or project name", 150).to_dict(),
        "min_query_length": 1,
    }
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "actions", "block_id": PICK_BLOCK, "elements": [element]}


def picker_view(metadata: str, notice: str | None = None) -> dict[str, Any]:
    """The modal with only the picker (no submit: there is nothing to run yet)."""
    lead = (
        "Choose the notebook to run: type a part of its name or its project's name. "
        "The form then asks for its inputs."
    )
    blocks = [section(f":warning: {notice}" if notice else lead), picker_block()]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": plain_text("Run a notebook", 24).to_dict(),
        "close": plain_text("Cancel", 24).to_dict(),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _post_in_block() -> dict[str, Any]:
    """The channel to post the run in, for a form opened without one."""
    return {
        "type": "input",
        "block_id": POST_IN_BLOCK,
        "label": plain_text("Post the run in", 150).to_dict(),
        "element": {
            "type": "conversations_select",
            "action_id": POST_IN_ACTION,
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            "default_to_current_conversation": True,
        },
    }


def chosen_channel(view: Mapping[str, Any]) -> str:
    """The channel chosen in a form opened without one; `FormErrors` when none is."""
    state = get(view, "state", "values", POST_IN_BLOCK, POST_IN_ACTION)
    channel = text(get(state, "selected_conversation"))
    if channel is None or not re.fullmatch(r"[CDG][A-Z0-9]{2,30}", channel):
        raise FormErrors({POST_IN_BLOCK: "Choose the channel to post the run in."})
    return channel


def open_picker(services: Services, who: Requester, request: FormRequest) -> None:
    """Open the modal with the picker (a trigger_id is needed: a typed command or a click)."""
    if not who.trigger_id:
        raise UserError(NO_PICKER)
    metadata = modal_metadata(request, form_key_of(services))
    try:
        services.slack.open_view(who.trigger_id, picker_view(metadata))
    except SlackError as exc:
        if exc.code not in TRIGGER_GONE:
            raise
        raise UserError(
            "Slack did not let the bot open the form in time (a form must open within 3 seconds).",
            hint=NO_PICKER,
        ) from None


def filled_view(services: Services, request: FormRequest, option: dict[str, Any]) -> dict[str, Any]:
    """The run form of the chosen notebook, with the picker on top (and the channel to post in,
    when the form has none); `UserError` or `DeepnoteError` when it cannot be run."""
    notebook_id = str(option.get("value") or "")
    if not _NOTEBOOK_ID.fullmatch(notebook_id):
        raise TamperedForm()
    notebook = fetch_notebook(services, notebook_id, retries=0)
    if request.channel_id:
        services.runs.access.check_notebook(request.channel_id, notebook.id, notebook.name)
    request = replace(request, notebook_id=notebook.id)
    metadata = modal_metadata(request, form_key_of(services))
    view = build_view(notebook, metadata=metadata, request=request)
    top = [picker_block(_option(notebook.id, notebook.name))]
    if not request.channel_id:
        top.append(_post_in_block())
    view["blocks"] = [*top, *view["blocks"]][:VIEW_BLOCKS]
    return view


def fill_form(services: Services, body: Mapping[str, Any]) -> None:
    """A notebook was chosen: put its form in place of the modal (the hash guards against
    a newer choice having replaced it meanwhile)."""
    view = body.get("view")
    if not isinstance(view, Mapping):
        return
    metadata = str(view.get("private_metadata") or "")
    request = signed_request(services, metadata, team_of(body))
    if request.user_id != (text(get(body, "user", "id")) or ""):
        raise TamperedForm()
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    option = get(action, "selected_option")
    try:
        new = filled_view(services, request, option if isinstance(option, dict) else {})
    except (UserError, DeepnoteError) as exc:
        errors.report(exc, "picked notebook refused", event="pick_refused")
        new = picker_view(metadata, notice=errors.error_text(exc))
    try:
        services.slack.update_view(str(view.get("id") or ""), new, hash=text(view.get("hash")))
    except SlackError as exc:
        if exc.code != "hash_conflict":
            raise
        log.info("the picker changed meanwhile", extra={"event": "pick_superseded"})


def _searched(services: Services, query: str) -> Sequence[ListedNotebook]:
    """The notebooks matching `query`, from the cached listing; when there is none yet, the
    listing is read (a few seconds at most), else Deepnote's own project-name filter answers."""
    listing = services.catalog.cached()
    if listing is None:
        loader = threading.Thread(target=_load, args=(services,), name="catalog", daemon=True)
        loader.start()
        loader.join(SUGGEST_WAIT_SECONDS)
        listing = services.catalog.cached()
    if listing is not None:
        return search_notebooks(listing.notebooks, query)
    try:
        return search_notebooks(services.catalog.named_projects(query, pages=1, retries=0), query)
    except DeepnoteError as exc:
        log.info("no suggestions", extra={"event": "suggest_failed", "error": type(exc).__name__})
        return []


def _load(services: Services) -> None:
    """Read the listing into the cache (on its own thread; a failure is only logged)."""
    try:
        services.catalog.listing(retries=0)
    except Exception as exc:
        errors.report(exc, "could not list notebooks", event="catalog_error")


def suggest(services: Services, ack: Ack, body: dict[str, Any]) -> None:
    """Answer a `block_suggestion` with at most 100 notebooks the channel may run."""
    query = str(body.get("value") or "")[:100]
    try:
        metadata = str(get(body, "view", "private_metadata") or "")
        channel = signed_request(services, metadata, team_of(body)).channel_id
    except UserError:
        ack(options=[])
        return
    found = _searched(services, query) if query.strip() else []
    options = [
        _option(n.id, n.name, n.project_name)
        for n in found
        if not channel or may_run(services, channel, n.id)
    ]
    ack(options=options[:OPTIONS_MAX])
