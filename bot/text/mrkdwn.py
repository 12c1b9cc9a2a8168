"""Make text inert in Slack messages: escaping for mrkdwn, plain_text and links.

Slack has no escape character for mrkdwn formatting. Of the usual workarounds we take the
word joiner (U+2060): every `*`, `_`, `~` and backtick in user text gets one on each side.
Slack only treats a marker as formatting when it sits at a word boundary (start of text,
whitespace or punctuation) on its outer side; the word joiner is invisible, is neither
whitespace nor punctuation, and copies as nothing visible. We rejected:

- the zero-width *space* (U+200B): Slack counts it as a boundary, so it *enables* formatting;
- the zero-width joiner (U+200D): it fuses neighbouring emoji into one glyph;
- wrapping every value in inline code: it cannot hold a backtick or a line break, and a card
  where every name is monospace reads badly. `code()` is still here for ids and values.

`&`, `<` and `>` become entities, which is what Slack documents; that alone stops
`<!channel>`, `<@U123>` and `<https://evil|click>` from pinging or linking.

>>> escape("<!channel> *hi*") == "&lt;!channel&gt; \u2060*\u2060hi\u2060*\u2060"
True
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

WORD_JOINER = "\u2060"
ZERO_WIDTH_SPACE = "\u200b"

# C0 controls except tab and newline, DEL, and the bidi overrides that could make our own
# words read backwards after a user's text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_FORMATTING = re.compile(r"[*_~`]")
# Slack pings only for <!channel> and friends, but a client or `link_names` might not agree.
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone))", re.IGNORECASE)
# `>` at the start of a line quotes it even when written as `&gt;`.
_QUOTE = re.compile(r"^&gt;", re.MULTILINE)
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_SAFE_URL = re.compile(r"https?://[^\s<>|`\"]+")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class Markup(str):
    """Bot-written mrkdwn, already safe: `fill` inserts it as it is.

    The escaping functions here return it, so their results can be passed to `fill`.
    """

    __slots__ = ()


def fill(template: str, /, **values: object) -> Markup:
    """The one way to put values into a message: `template` (bot-written mrkdwn) with every
    `{name}` replaced by its value escaped as user text, unless the value is `Markup`.

    >>> fill("*{name}* may not be run here.", name="<!channel> *x*") == (
    ...     "*&lt;!channel&gt; \u2060*\u2060x\u2060*\u2060* may not be run here."
    ... )
    True
    >>> fill("Run {cmd}", cmd=code("/deepnote run a"))
    'Run `/deepnote run a`'
    """
    safe = {k: v if isinstance(v, Markup) else escape(str(v)) for k, v in values.items()}
    return Markup(template.format_map(safe))


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _defuse_broadcasts(text: str) -> str:
    return _BROADCAST.sub("@" + ZERO_WIDTH_SPACE, text)


def escape(text: str) -> Markup:
    """User text as inert mrkdwn: no mentions, links or formatting; shows as typed.

    >>> escape("a & b") == "a &amp; b"
    True
    """
    out = _entities(_clean(text))
    out = _FORMATTING.sub(lambda m: WORD_JOINER + m.group() + WORD_JOINER, out)
    out = _QUOTE.sub(WORD_JOINER + "&gt;", out)
    return Markup(_defuse_broadcasts(out))


def truncate(text: str, limit: int, *, marker: str = "…") -> str:
    """At most `limit` characters, ending in `marker` when cut; never splits an `&amp;` entity.

    >>> truncate("a &amp; b", 5)
    'a…'
    >>> truncate("short", 10)
    'short'
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if len(text) <= limit:
        return text
    if len(marker) >= limit:
        return marker[:limit]
    cut = limit - len(marker)
    head = text[:cut]
    amp = head.rfind("&")
    if amp != -1:
        entity = _ENTITY.match(text, amp)
        if entity is not None and entity.end() > cut:
            head = head[:amp]
    return head.rstrip() + marker


def code(text: str, *, limit: int | None = None) -> Markup:
    """Inline code that cannot be broken out of (backticks become ˋ, newlines spaces).

    `limit` bounds the whole result, backticks included.

    >>> code("a`b")
    '`aˋb`'
    """
    inner = _clean(text).replace("\n", " ").replace("\t", " ").replace("`", "ˋ")
    inner = _defuse_broadcasts(_entities(inner))
    if limit is not None:
        inner = truncate(inner, max(1, limit - 2))
    if not inner.strip():
        inner = "\u00a0"
    return Markup(f"`{inner}`")


def code_block(text: str, *, limit: int | None = None) -> str:
    """A preformatted block that cannot be closed early: runs of backticks are broken up.

    `limit` bounds the whole result, fences included.
    """
    inner = _defuse_broadcasts(_entities(_clean(text).expandtabs(4)))
    inner = re.sub(r"`(?=`)", "`" + WORD_JOINER, inner)
    if limit is not None:
        inner = truncate(inner, max(1, limit - 8))
    # Keep a backtick at either end from merging with the fence.
    if inner.startswith("`"):
        inner = WORD_JOINER + inner
    if inner.endswith("`"):
        inner += WORD_JOINER
    if not inner.strip():
        inner = " "
    return f"```{inner}```"


def plain(text: str, *, limit: int | None = None, empty: str = "-") -> str:
    """Text for a plain_text field: no control characters, never empty, optionally cut.

    plain_text is never parsed for mentions or formatting, so nothing else is escaped.
    """
    out = _defuse_broadcasts(_clean(text)).strip()
    if not out:
        out = empty
    if limit is not None:
        out = truncate(out, limit)
    return out


def is_safe_url(url: str | None) -> bool:
    """True for an http(s) URL that cannot break out of `<url|label>` or a button."""
    if not url or len(url) > 3000:
        return False
    return _SAFE_URL.fullmatch(url) is not None


def link(url: str | None, label: str) -> Markup:
    """`<url|label>` with the label escaped; just the escaped label when the URL is unsafe."""
    text = escape(label) if label.strip() else escape(url or "")
    if url is None or not is_safe_url(url):
        return text
    return Markup(f"<{url.replace('&', '&amp;')}|{text}>")


def user_mention(user_id: str) -> Markup:
    """`<@U…>` for a Slack user id; anything that is not one is shown as code instead."""
    if _USER_ID.fullmatch(user_id):
        return Markup(f"<@{user_id}>")
    return code(user_id, limit=40)


def slack_date(when: datetime) -> Markup:
    """A timestamp each reader sees in their own time zone, with a UTC fallback."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Markup(f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>")
