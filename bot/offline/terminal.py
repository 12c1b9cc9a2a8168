"""Slack messages as terminal text: Block Kit and mrkdwn, with ANSI styles or plain.

Pure functions, used by `deepnote-bot console` to show what a channel would show.
Formatting follows Slack's rules closely enough for the bot's own messages: a `*`, `_` or `~`
only formats at a word boundary, so text the bot escaped with word joiners (U+2060) stays
literal, and the invisible characters are removed afterwards.

>>> render_message("fallback", [{"type": "section", "text": {"type": "mrkdwn",
...     "text": "*Done* <https://x.test|see> &amp; `id`"}}], color=False)
'Done see (https://x.test) & id'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BOLD = ("\033[1m", "\033[22m")
DIM = ("\033[2m", "\033[22m")
ITALIC = ("\033[3m", "\033[23m")
UNDERLINE = ("\033[4m", "\033[24m")
STRIKE = ("\033[9m", "\033[29m")
CODE = ("\033[36m", "\033[39m")
HEADER = ("\033[1;4m", "\033[22;24m")

# The console numbers the buttons a person can press (`/press N`) under this key of a copy of
# each button element; a button with a number is shown as `[N: Label]`.
BUTTON_NUMBER = "_console_number"

GUTTER = "│ "
RULE = "─" * 40
INVISIBLE = re.compile("[\u2060\u200b\ufeff]")

# Emoji short codes the bot writes; others are shown as written.
EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "information_source": "ℹ️",
    "calendar": "📆",
    "date": "📅",
    "alarm_clock": "⏰",
    "clock1": "🕐",
    "runner": "🏃",
    "rocket": "🚀",
    "stopwatch": "⏱️",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "frame_with_picture": "🖼️",
    "paperclip": "📎",
    "bell": "🔔",
    "no_bell": "🔕",
    "wave": "👋",
    "tada": "🎉",
    "lock": "🔒",
    "stop_button": "⏹️",
    "double_vertical_bar": "⏸️",
    "arrows_counterclockwise": "🔄",
}

# Slack formats `*x*` only when the markers sit between a boundary (start, end, whitespace,
# punctuation) and the text; our placeholders and the word joiner are neither.
_PUNCT = r"""\s!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~"""
_OPEN = rf"(?<![^{_PUNCT}])"
_CLOSE = rf"(?![^{_PUNCT}])"
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(_OPEN + r"`([^`\n]+)`" + _CLOSE)
_ANGLE = re.compile(r"<([^<>\n]+)>")
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


def _marker(char: str) -> re.Pattern[str]:
    c = re.escape(char)
    return re.compile(rf"{_OPEN}{c}(?=[^\s{c}])([^{c}\n]*?[^\s{c}]){c}{_CLOSE}")


_FORMATS = ((_marker("*"), BOLD), (_marker("_"), ITALIC), (_marker("~"), STRIKE))


@dataclass(frozen=True)
class Style:
    """How to render: with ANSI styles or not, and the names behind user and channel ids."""

    color: bool
    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)

    def wrap(self, text: str, codes: tuple[str, str]) -> str:
        """`text` between the on and off codes when colour is on; `text` otherwise."""
        return f"{codes[0]}{text}{codes[1]}" if self.color and text else text


def unescape(text: str) -> str:
    """Slack's three entities back to characters (`&amp;` last, so `&amp;lt;` stays `&lt;`).

    >>> unescape("a &lt;b&gt; &amp;lt;")
    'a <b> &lt;'
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: EMOJI.get(m[1], m[0]), text)


def _angle(token: str, style: Style) -> str:
    """One `<...>` token: a link, a mention, a special mention or a date."""
    target, _, label = token.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        user = target[1:]
        return style.wrap("@" + (label or style.users.get(user, user)), BOLD)
    if target.startswith("#"):
        channel = target[1:]
        return style.wrap("#" + (label or style.channels.get(channel, channel)), BOLD)
    if target.startswith("!subteam^"):
        return style.wrap("@" + (label or target.removeprefix("!subteam^")), BOLD)
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!"):
        return style.wrap("@" + (label or target[1:]), BOLD)
    url = unescape(target)
    if not label or label == url:
        return style.wrap(url, UNDERLINE)
    return f"{style.wrap(label, UNDERLINE)} {style.wrap(f'({url})', DIM)}"


def _styler(style: Style, codes: tuple[str, str]) -> Callable[[re.Match[str]], str]:
    return lambda match: style.wrap(match[1], codes)


def _inline(text: str, style: Style) -> str:
    """mrkdwn outside code blocks: links, inline code, bold/italic/strike, entities, emoji."""
    held: list[str] = []

    def hold(rendered: str) -> str:
        held.append(rendered)
        return f"\ue000{len(held) - 1}\ue001"

    text = _INLINE_CODE.sub(
        lambda m: hold(style.wrap(INVISIBLE.sub("", unescape(m[1])), CODE)), text
    )
    text = _ANGLE.sub(lambda m: hold(_angle(m[1], style)), text)
    text = _emoji(text)
    for pattern, codes in _FORMATS:
        text = pattern.sub(_styler(style, codes), text)
    text = INVISIBLE.sub("", unescape(text))
    # Links can hold inline code placeholders, so restore until none is left.
    while _PLACEHOLDER.search(text):
        text = _PLACEHOLDER.sub(lambda m: held[int(m[1])], text)
    return text


def _code_lines(body: str, style: Style) -> list[str]:
    body = INVISIBLE.sub("", unescape(body)).strip("\n")
    return [style.wrap(GUTTER, DIM) + style.wrap(line, CODE) for line in body.split("\n")]


def render_mrkdwn(
    text: str,
    *,
    color: bool,
    users: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """One mrkdwn string as terminal text; code blocks become lines behind a `│ ` gutter.

    >>> render_mrkdwn("*a* _b_ ~c~ <@U1> \u2060*\u2060x\u2060*\u2060", color=False,
    ...               users={"U1": "ann"})
    'a b c @ann *x*'
    """
    return _mrkdwn(text, Style(color, users or {}, channels or {}))


def _mrkdwn(text: str, style: Style) -> str:
    out: list[str] = []
    position = 0
    for fence in _FENCE.finditer(text):
        before = text[position : fence.start()]
        if before.strip(" "):
            out.append(_inline(before.rstrip(" "), style).rstrip("\n"))
        out.append("\n".join(_code_lines(fence[1], style)))
        position = fence.end()
    rest = text[position:]
    if rest.strip(" \n") or not out:
        out.append(_inline(rest.strip("\n") if out else rest, style))
    return "\n".join(part for part in out if part or len(out) == 1)


def _text(obj: Any, style: Style) -> str:
    """A text object: mrkdwn is rendered, plain_text is shown as it is (emoji codes aside)."""
    if isinstance(obj, str):
        return _mrkdwn(obj, style)
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return _mrkdwn(raw, style)
    return _emoji(INVISIBLE.sub("", raw))


def _element(element: Any, style: Style) -> str:
    """An interactive or context element, briefly: buttons as [Label]."""
    if not isinstance(element, Mapping):
        return ""
    kind = element.get("type")
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, style)
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind == "button":
        label = _text(element.get("text"), style) or "button"
        number = element.get(BUTTON_NUMBER)
        shown = f"[{number}: {label}]" if isinstance(number, int) else f"[{label}]"
        return style.wrap(shown, BOLD if element.get("style") == "primary" else ("", ""))
    if kind in ("static_select", "external_select", "multi_static_select", "overflow"):
        initial = element.get("initial_option")
        chosen = _text(initial.get("text"), style) if isinstance(initial, Mapping) else ""
        shown = chosen or _text(element.get("placeholder"), style) or "choose"
        return f"[{shown} ▾]"
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        value = element.get("initial_date") or element.get("initial_time") or "pick"
        return f"[{value} ▾]"
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = str(element.get("initial_value") or "")
        return f"[{value}]" if value else "[____]"
    if kind in ("checkboxes", "radio_buttons"):
        options = [o for o in element.get("options") or [] if isinstance(o, Mapping)]
        initial = element.get("initial_options") or [element.get("initial_option")]
        picked = {str(o.get("value")) for o in initial if isinstance(o, Mapping)}
        return " ".join(
            f"({'x' if str(o.get('value')) in picked else ' '}) {_text(o.get('text'), style)}"
            for o in options
        )
    return f"[{kind}]"


def _rich_inline(items: Any, style: Style) -> str:
    parts: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        raw_marks = item.get("style")
        marks: Mapping[str, Any] = raw_marks if isinstance(raw_marks, Mapping) else {}
        if kind == "text":
            piece = INVISIBLE.sub("", str(item.get("text", "")))
        elif kind == "link":
            url = str(item.get("url", ""))
            label = str(item.get("text") or "")
            piece = _angle(f"{url}|{label}" if label else url, style)
        elif kind == "user":
            user = str(item.get("user_id", ""))
            piece = style.wrap("@" + style.users.get(user, user), BOLD)
        elif kind == "channel":
            channel = str(item.get("channel_id", ""))
            piece = style.wrap("#" + style.channels.get(channel, channel), BOLD)
        elif kind == "usergroup":
            piece = style.wrap("@" + str(item.get("usergroup_id", "")), BOLD)
        elif kind == "broadcast":
            piece = style.wrap("@" + str(item.get("range", "here")), BOLD)
        elif kind == "emoji":
            code_points = str(item.get("unicode") or "")
            try:
                piece = "".join(chr(int(cp, 16)) for cp in code_points.split("-") if cp)
            except ValueError:
                piece = ""
            piece = piece or _emoji(f":{item.get('name', '')}:")
        elif kind == "date":
            piece = str(item.get("fallback") or item.get("timestamp", ""))
        else:
            piece = str(item.get("text", ""))
        for flag, codes in (("bold", BOLD), ("italic", ITALIC), ("strike", STRIKE), ("code", CODE)):
            if marks.get(flag):
                piece = style.wrap(piece, codes)
        parts.append(piece)
    return "".join(parts)


def _rich_text(block: Mapping[str, Any], style: Style) -> list[str]:
    lines: list[str] = []
    for part in block.get("elements") or []:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "rich_text_preformatted":
            text = _rich_inline(part.get("elements"), style)
            lines += [style.wrap(GUTTER, DIM) + line for line in text.strip("\n").split("\n")]
        elif kind == "rich_text_quote":
            text = _rich_inline(part.get("elements"), style)
            lines += ["> " + line for line in text.split("\n")]
        elif kind == "rich_text_list":
            indent = "  " * int(part.get("indent") or 0)
            ordered = part.get("style") == "ordered"
            for number, item in enumerate(part.get("elements") or [], start=1):
                bullet = f"{number}." if ordered else "•"
                text = _rich_inline(
                    item.get("elements") if isinstance(item, Mapping) else [], style
                )
                lines.append(f"{indent}{bullet} {text}")
        else:
            lines += _rich_inline(part.get("elements"), style).split("\n")
    return lines


def _block(block: Any, style: Style) -> list[str]:
    if not isinstance(block, Mapping):
        return []
    kind = block.get("type")
    render = _BLOCKS.get(str(kind))
    if render is None:
        return [f"[{kind} block]"]
    return render(block, style)


def _header(block: Mapping[str, Any], style: Style) -> list[str]:
    title = _text(block.get("text"), style)
    if style.color:
        return [style.wrap(title, HEADER)]
    return [title, "═" * max(3, len(title))]


def _section(block: Mapping[str, Any], style: Style) -> list[str]:
    lines: list[str] = []
    if block.get("text") is not None:
        lines += _text(block.get("text"), style).split("\n")
    for item in block.get("fields") or []:
        lines += _text(item, style).split("\n")
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        lines.append(_element(accessory, style))
    return lines


def _context(block: Mapping[str, Any], style: Style) -> list[str]:
    parts = [_element(e, style) for e in block.get("elements") or []]
    joined = " · ".join(p for p in parts if p)
    return [style.wrap(line, DIM) for line in joined.split("\n")]


def _actions(block: Mapping[str, Any], style: Style) -> list[str]:
    parts = [_element(e, style) for e in block.get("elements") or []]
    return [" ".join(p for p in parts if p)]


def _divider(block: Mapping[str, Any], style: Style) -> list[str]:
    return [style.wrap(RULE, DIM)]


def _image(block: Mapping[str, Any], style: Style) -> list[str]:
    title = _text(block.get("title"), style) if block.get("title") else ""
    alt = str(block.get("alt_text") or "")
    url = str(block.get("image_url") or "")
    label = title or alt or "image"
    return [f"[image: {label}]" + (" " + style.wrap(f"({url})", DIM) if url else "")]


def _input(block: Mapping[str, Any], style: Style) -> list[str]:
    label = _text(block.get("label"), style)
    optional = " (optional)" if block.get("optional") else ""
    return [f"{label}{optional}: {_element(block.get('element'), style)}"]


def _file(block: Mapping[str, Any], style: Style) -> list[str]:
    return [f"[file {block.get('external_id', '')}]"]


_BLOCKS: dict[str, Callable[[Mapping[str, Any], Style], list[str]]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
    "image": _image,
    "input": _input,
    "rich_text": _rich_text,
    "file": _file,
}


def render_blocks(blocks: Sequence[Any], style: Style) -> str:
    """Blocks as terminal lines, one block after another."""
    lines: list[str] = []
    for block in blocks:
        lines += _block(block, style)
    return "\n".join(lines)


def render_message(
    text: str,
    blocks: Sequence[Any] | None,
    *,
    color: bool,
    users: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """A Slack message as terminal text: its blocks when it has any, else its mrkdwn text.

    `users` and `channels` map ids to names for `<@U…>` and `<#C…>` mentions.

    >>> render_message("*Hi* <@U1>", None, color=False, users={"U1": "ann"})
    'Hi @ann'
    """
    style = Style(color, users or {}, channels or {})
    if blocks:
        return render_blocks(blocks, style)
    return _mrkdwn(text, style)


def render_view(
    view: Mapping[str, Any],
    *,
    color: bool,
    users: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """A modal briefly: its title, then its blocks (inputs as `Label: [value]`), then buttons.

    >>> render_view({"type": "modal", "title": {"type": "plain_text", "text": "Re-run"},
    ...     "submit": {"type": "plain_text", "text": "Run"}, "blocks": []}, color=False)
    'Re-run\\n[Run]'
    """
    style = Style(color, users or {}, channels or {})
    lines = [style.wrap(_text(view.get("title"), style) or "(untitled)", BOLD)]
    body = render_blocks(view.get("blocks") or [], style)
    if body:
        lines.append(body)
    buttons = [
        f"[{_text(view[key], style)}]" for key in ("close", "submit") if view.get(key) is not None
    ]
    if buttons:
        lines.append(" ".join(buttons))
    return "\n".join(lines)
