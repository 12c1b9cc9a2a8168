"""Words of a command: a shell-like tokenizer friendly to Slack's quotes, and the small text
helpers every reply uses to quote what a person typed."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from bot.errors import UserError
from bot.text.mrkdwn import code

# --- text helpers -----------------------------------------------------------------------------


def unescape_slack(text: str) -> str:
    """Undo the entities Slack puts in the text it sends (`&amp;`, `&lt;`, `&gt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def quote_token(text: str, limit: int = 60) -> str:
    """A user's text as a short, inert mrkdwn code span: "`regoin`"."""
    flat = " ".join(unescape_slack(text).split())
    if not flat:
        return "`(empty)`" if text == "" else "`(blank)`"
    return code(flat, limit=limit)


def list_tokens(items: Sequence[str], limit: int = 10) -> str:
    """`a`, `b`, `c` and N more."""
    shown = ", ".join(quote_token(i, 40) for i in items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice most like `word` (case-insensitive), if any is close."""
    if not word or len(word) > 100:
        return None
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


_ZERO_WIDTH = frozenset("\u200b\u2060\ufeff")


def _clean(text: str) -> str:
    """Drop control characters (but tab and newline), zero-width spaces and lone surrogates."""
    return "".join(
        c
        for c in text
        if c in "\t\n" or (c not in _ZERO_WIDTH and unicodedata.category(c) not in ("Cc", "Cs"))
    )


# --- tokenizer --------------------------------------------------------------------------------

# Which characters close a quote opened by each quote character. Slack clients turn straight quotes
# into typographic ones, not always in matching pairs, so any close of the same family will do.
_DOUBLE_CLOSE = '"“”‟'
_SINGLE_CLOSE = "'‘’‛"
_CLOSERS: dict[str, str] = {
    **dict.fromkeys('"“”„‟', _DOUBLE_CLOSE),
    **dict.fromkeys("'‘’‚‛", _SINGLE_CLOSE),
    "«": "»«",
    "»": "«»",
    "`": "`",
}
_SINGLES = frozenset("'‘’‚‛")


class Token(NamedTuple):
    """One word of the command; `quoted` tells whether any part of it was in quotes."""

    text: str
    quoted: bool


def _is_apostrophe(text: str, i: int) -> bool:
    """A single quote between two letters or digits (`Bob's`, `don’t`) is an apostrophe."""
    return (
        text[i] in _SINGLES
        and 0 < i < len(text) - 1
        and text[i - 1].isalnum()
        and text[i + 1].isalnum()
    )


def tokenize_tokens(text: str) -> list[Token]:
    """Split like a shell, keeping whether each word was quoted (see `tokenize`)."""
    text = _clean(text)
    tokens: list[Token] = []
    buf: list[str] = []
    in_token = quoted = False
    token_start = quote_start = 0
    closers = ""
    opener = ""
    for i, c in enumerate(text):
        if opener:
            if c in closers and not _is_apostrophe(text, i):
                opener = ""
            else:
                buf.append(c)
            continue
        if c.isspace():
            if in_token:
                tokens.append(Token("".join(buf), quoted))
                buf, in_token, quoted = [], False, False
            continue
        if not in_token:
            in_token, token_start = True, i
        if c in _CLOSERS and not _is_apostrophe(text, i):
            opener, closers, quote_start, quoted = c, _CLOSERS[c], i, True
        else:
            buf.append(c)
    if opener:
        context = text[token_start : quote_start + 30]
        raise UserError(
            f"The quote {quote_token(opener)} in {quote_token(context)} is never closed.",
            hint="Close it or remove it. Put a value with spaces in one pair of quotes, "
            'e.g. `report_title="Q3 report"`.',
        )
    if in_token:
        tokens.append(Token("".join(buf), quoted))
    return tokens


def tokenize(text: str) -> list[str]:
    """Split command text into words, like a shell but friendlier to Slack.

    Double, single and typographic quotes (“ ” ‘ ’ „ « ») group words, also inside a word;
    backslash is an ordinary character; an apostrophe between letters is not a quote.

    >>> tokenize('run report title="Q3 report" path=C:\\\\data\\\\x.csv note=Bob’s')
    ['run', 'report', 'title=Q3 report', 'path=C:\\\\data\\\\x.csv', 'note=Bob’s']
    """
    return [t.text for t in tokenize_tokens(text)]
