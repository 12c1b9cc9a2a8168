"""What a run form is for (notebook, channel, thread, run options), signed with an HMAC.

The request travels in the modal's `private_metadata` (and in buttons that open the form
later), so a tampered one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.deepnote.models import InputValue, Notebook
from bot.errors import UserError
from storage.records import RunOptions

METADATA_CHARS = 3000
BUTTON_VALUE_CHARS = 2000
_SIGNING_CONTEXT = b"deepnote-bot/run-form/v1"


class TamperedForm(UserError):
    """The form's metadata was not written by this bot (or was changed on the way)."""

    def __init__(self) -> None:
        super().__init__(
            "This form could not be checked, so nothing was started.",
            hint="Open the form again with `/deepnote run <notebook> --form`.".replace(
                "<", "&lt;"
            ).replace(">", "&gt;"),
        )


@dataclass(frozen=True)
class FormRequest:
    """Where a run form came from and what it runs; signed into `private_metadata`."""

    notebook_id: str
    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None = None
    options: RunOptions = field(default_factory=RunOptions)
    inputs: Mapping[str, InputValue] = field(default_factory=dict)
    """Values to prefill (carried only in buttons that open the form later)."""

    def without_inputs(self) -> FormRequest:
        """The same request with no values to prefill (for the modal's own metadata)."""
        return FormRequest(
            self.notebook_id,
            self.team_id,
            self.user_id,
            self.channel_id,
            self.thread_ts,
            self.options,
        )


def form_key(secret: str) -> bytes:
    """The HMAC key for form metadata, derived from a secret the bot already holds."""
    return hmac.new(secret.encode(), _SIGNING_CONTEXT, hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_request(request: FormRequest, key: bytes) -> str:
    """`<mac>.<json>`: the request as compact JSON behind its HMAC.

    >>> key = form_key("secret")
    >>> read_request(sign_request(FormRequest("n", "T", "U", "C"), key), key).channel_id
    'C'
    """
    payload: dict[str, Any] = {
        "n": request.notebook_id,
        "t": request.team_id,
        "u": request.user_id,
        "c": request.channel_id,
    }
    if request.thread_ts:
        payload["th"] = request.thread_ts
    options = request.options
    if options.readonly:
        payload["ro"] = True
    if options.block_ids:
        payload["b"] = list(options.block_ids)
    if options.run_dependents:
        payload["d"] = True
    if options.post_outputs is not None:
        payload["p"] = options.post_outputs
    if options.notify_if is not None:
        payload["a"] = options.notify_if
    if request.inputs:
        payload["i"] = dict(request.inputs)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return f"{_mac(key, body)}.{body}"


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TamperedForm()
    return value


def _input_value(value: object) -> InputValue:
    if isinstance(value, str | bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise TamperedForm()


def read_request(text: str, key: bytes) -> FormRequest:
    """The request signed into `text`; `TamperedForm` when the HMAC or the shape is wrong."""
    mac, sep, body = text.partition(".")
    if not sep or not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        raise TamperedForm()
    try:
        data = json.loads(body)
    except ValueError:
        raise TamperedForm() from None
    if not isinstance(data, dict):
        raise TamperedForm()
    thread = data.get("th")
    post = data.get("p")
    condition = data.get("a")
    blocks = data.get("b", [])
    inputs = data.get("i", {})
    if not isinstance(blocks, list) or not isinstance(inputs, dict):
        raise TamperedForm()
    return FormRequest(
        notebook_id=_str(data.get("n")),
        team_id=_str(data.get("t")),
        user_id=_str(data.get("u")),
        channel_id=_str(data.get("c")),
        thread_ts=None if thread is None else _str(thread),
        options=RunOptions(
            readonly=data.get("ro") is True,
            block_ids=tuple(_str(b) for b in blocks),
            run_dependents=data.get("d") is True,
            post_outputs=None if post is None else _str(post),
            notify_if=None if condition is None else _str(condition),
        ),
        inputs={_str(k): _input_value(v) for k, v in inputs.items()},
    )


def modal_metadata(request: FormRequest, key: bytes) -> str:
    """The signed metadata of the modal; `UserError` when it cannot fit in 3,000 characters."""
    text = sign_request(request.without_inputs(), key)
    if len(text) > METADATA_CHARS:
        raise UserError(
            f"The form cannot carry {len(request.options.block_ids)} block ids.",
            hint="Run it with `name=value` inputs instead of `--form`, or pass fewer `--blocks`.",
        )
    return text


def button_value(request: FormRequest, key: bytes) -> str | None:
    """The signed request for a button that opens the form later (without the values to
    prefill when they do not fit); None when even that is too long for a button."""
    text = sign_request(request, key)
    if len(text) > BUTTON_VALUE_CHARS:
        text = sign_request(request.without_inputs(), key)
    return text if len(text) <= BUTTON_VALUE_CHARS else None


# --- when the form is wanted ------------------------------------------------------------------


def form_wanted(*, form_flag: bool, inputs_given: bool, notebook: Notebook) -> bool:
    """`--form` always opens the form; a run without inputs opens it when there are inputs."""
    return form_flag or (not inputs_given and bool(notebook.inputs))
