"""The run form's notebook picker in the console: type a part of a name, choose by number.

A bare `/deepnote run` opens a modal holding only an `external_select`. The console asks for a
part of a notebook's (or project's) name, sends the options request Slack would send
(`block_suggestion`, signed), lists the options the bot answers with by number, and sends the
choice (`block_actions` from the modal, with its id and hash); the bot then replaces the modal
by the notebook's form, which the console fills in as any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.offline.formfill import CANCEL_WORDS, Cancelled, Prompter
from bot.offline.slack_standin import View
from bot.offline.transcript import Turn

if TYPE_CHECKING:
    from bot.offline.console import Console

SHOWN = 20
"""Options listed at once (the bot answers with up to 100)."""


def picker_of(view: View) -> tuple[str, str] | None:
    """The (block id, action id) of the modal's external select, if it has one.

    >>> picker_of(View("V1", "modal", "U1", {"blocks": [{"type": "actions", "block_id": "b",
    ...     "elements": [{"type": "external_select", "action_id": "a"}]}]}, "h", None, "V1"))
    ('b', 'a')
    """
    for block in view.blocks:
        elements = block.get("elements") if block.get("type") == "actions" else None
        for element in elements if isinstance(elements, list) else []:
            if isinstance(element, Mapping) and element.get("type") == "external_select":
                return str(block.get("block_id", "")), str(element.get("action_id", ""))
    return None


def _label(option: Mapping[str, Any]) -> str:
    text = option.get("text")
    return str(text.get("text", "")) if isinstance(text, Mapping) else str(option.get("value"))


def _choose(prompter: Prompter, options: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """List the options; the one chosen, or None to search again."""
    for number, option in enumerate(options[:SHOWN], 1):
        prompter.say(f"  {number}. {_label(option)}")
    if len(options) > SHOWN:
        prompter.say(f"  …and {len(options) - SHOWN} more: type more of the name to narrow it.")
    while True:
        typed = prompter.ask("Choose a number (Enter searches again): ")
        if typed is None or typed.strip().lower() in CANCEL_WORDS:
            raise Cancelled()
        if not typed.strip():
            return None
        if typed.strip().isdigit() and 1 <= int(typed) <= min(len(options), SHOWN):
            return options[int(typed) - 1]
        prompter.say(f"  ⚠️ Type a number from 1 to {min(len(options), SHOWN)}.")


def pick_notebook(console: Console, view: View, prompter: Prompter, user: str) -> Turn:
    """Search and choose a notebook in the picker; the turn of the choice (the bot answers it
    by replacing the modal). `Cancelled` when the person closes it."""
    where = picker_of(view)
    assert where is not None
    block_id, action_id = where
    prompter.say("Choose the notebook: type a part of its name or its project's; /cancel closes.")
    while True:
        typed = prompter.ask("Notebook: ")
        if typed is None or typed.strip().lower() in CANCEL_WORDS:
            raise Cancelled()
        if not typed.strip():
            continue
        _, requester = console.choice_turn()
        answer = requester.suggest(view, action_id, typed.strip(), block_id=block_id, user_id=user)
        options = answer.json().get("options", []) if answer.status_code == 200 else []
        if not options:
            prompter.say("  No notebook matches; try another part of its name.")
            continue
        chosen = _choose(prompter, options)
        if chosen is None:
            continue
        turn, requester = console.choice_turn()
        requester.choose(view, action_id, chosen, block_id=block_id, user_id=user)
        return turn
