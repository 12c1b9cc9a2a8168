"""The values of options: `--blocks`, `--post-outputs`, `--notify` and `--tz`.

>>> parse_block_ids("a1, b2 a1"), parse_notify("Failure"), parse_tz("europe/prague")
(('a1', 'b2'), 'failures', 'Europe/Prague')
"""

from __future__ import annotations

import re

from bot.commands.docs import OPTION_EXAMPLES, POST_OUTPUTS_NAMES_EXAMPLE
from bot.commands.types import NOTIFY_CHOICES, Notify
from bot.errors import UserError
from bot.text.tokens import closest, quote_token
from bot.timezones import lookup_zone

MAX_IDS = 100
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_block_ids(value: str) -> tuple[str, ...]:
    """The block ids of `--blocks` (comma or space separated), without repeats."""
    pieces = [p.strip() for p in re.split(r"[,\s]+", value) if p.strip()]
    if not pieces:
        raise UserError(
            "`--blocks` needs at least one block id.",
            hint=f"For example: `{OPTION_EXAMPLES['blocks']}`",
        )
    for piece in pieces:
        if not ID_RE.fullmatch(piece):
            raise UserError(
                f"{quote_token(piece)} is not a block id.",
                hint="Block ids are letters, digits, `-` and `_`, separated by commas, e.g. "
                f"`{OPTION_EXAMPLES['blocks']}`. Copy them from the block's link in Deepnote.",
            )
    unique = tuple(dict.fromkeys(pieces))
    if len(unique) > MAX_IDS:
        raise UserError(f"That is {len(unique)} block ids; at most {MAX_IDS} can be run at once.")
    return unique


def parse_post_outputs(value: str) -> str:
    """`all`, `none`, or the comma-joined block names or ids of `--post-outputs`."""
    pieces = [p.strip() for p in value.split(",") if p.strip()]
    example = (
        "Use `--post-outputs all`, `--post-outputs none`, or block names or ids, "
        f"e.g. `{POST_OUTPUTS_NAMES_EXAMPLE}`."
    )
    if not pieces:
        raise UserError("`--post-outputs` needs a value.", hint=example)
    lowered = [p.lower() for p in pieces]
    if len(pieces) == 1 and lowered[0] in ("all", "none"):
        return lowered[0]
    for piece, low in zip(pieces, lowered, strict=True):
        if low in ("all", "none"):
            raise UserError(
                f"{quote_token(piece)} cannot be combined with block names in `--post-outputs`.",
                hint=example,
            )
        if len(piece) > 200:
            raise UserError(
                f"{quote_token(piece)} is too long for a block name or id.", hint=example
            )
    unique = list(dict.fromkeys(pieces))
    if len(unique) > MAX_IDS:
        raise UserError(
            f"That is {len(unique)} blocks in `--post-outputs`; at most {MAX_IDS}.", hint=example
        )
    return ",".join(unique)


_NOTIFY_WORDS: dict[str, Notify] = {
    "always": "always",
    "failures": "failures",
    "failure": "failures",
    "changes": "changes",
    "change": "changes",
}


def parse_notify(value: str) -> Notify:
    """The `--notify` choice, singular or plural, any case."""
    word = value.strip().lower()
    if word in _NOTIFY_WORDS:
        return _NOTIFY_WORDS[word]
    guess = closest(word, NOTIFY_CHOICES)
    suggestion = f" Did you mean `{guess}`?" if guess else ""
    raise UserError(
        f"{quote_token(value)} is not a `--notify` choice.{suggestion}",
        hint="Use `--notify always` (every run), `--notify failures` (failed runs only) or "
        "`--notify changes` (when the outcome differs from the last run).",
    )


def parse_tz(value: str) -> str:
    """The canonical IANA time zone name for `value` (any case), or a `UserError`.

    >>> parse_tz("europe/prague")
    'Europe/Prague'
    """
    found = lookup_zone(value)
    if found.name is not None and found.listed:
        return found.name
    guess = found.suggestion()
    suggestion = f" Did you mean `--tz {guess}`?" if guess else ""
    raise UserError(
        f"{quote_token(value)} is not a time zone I know.{suggestion}",
        hint="Use an IANA zone name, e.g. `--tz Europe/Prague`, `--tz America/New_York`, "
        "`--tz UTC`.",
    )
