"""The run form: a modal built from a notebook's input blocks, and reading it back (pure).

`view` turns a notebook's inputs into Block Kit input blocks prefilled with the values to
start from; `state` reads a view submission back and checks it exactly as the slash command
checks inputs; `request` signs what the form is for into the view's `private_metadata`.
"""

from bot.slack.run_form.request import (
    FormRequest,
    TamperedForm,
    button_value,
    form_key,
    form_wanted,
    modal_metadata,
    read_request,
    sign_request,
)
from bot.slack.run_form.state import FormValues, parse_state, plain_error, validate_form
from bot.slack.run_form.view import CALLBACK_ID, block_id, build_view, input_blocks, option_value

__all__ = [
    "CALLBACK_ID",
    "FormRequest",
    "FormValues",
    "TamperedForm",
    "block_id",
    "build_view",
    "button_value",
    "form_key",
    "form_wanted",
    "input_blocks",
    "modal_metadata",
    "option_value",
    "parse_state",
    "plain_error",
    "read_request",
    "sign_request",
    "validate_form",
]
