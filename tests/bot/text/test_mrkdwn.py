"""Escaping for mrkdwn, plain_text and links: untrusted text stays inert."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.mrkdwn import (
    ZERO_WIDTH_SPACE,
    code,
    code_block,
    escape,
    link,
    plain,
    slack_date,
    truncate,
    user_mention,
)
from tests.bot.slack.checks import (
    ENTITY,
    T0,
    WJ,
    visible,
)

# --- mrkdwn -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words", "plain words"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("<!subteam^S1|@team>", "&lt;!subteam^S1|@team&gt;"),
        ("<https://evil|click>", "&lt;https://evil|click&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp;", "&amp;amp;"),
        ("*bold*", f"{WJ}*{WJ}bold{WJ}*{WJ}"),
        ("_it_", f"{WJ}_{WJ}it{WJ}_{WJ}"),
        ("~gone~", f"{WJ}~{WJ}gone{WJ}~{WJ}"),
        ("`code`", f"{WJ}`{WJ}code{WJ}`{WJ}"),
        ("snake_case_name", f"snake{WJ}_{WJ}case{WJ}_{WJ}name"),
        ("@channel", f"@{ZERO_WIDTH_SPACE}channel"),
        ("hi @HERE and @everyone", f"hi @{ZERO_WIDTH_SPACE}HERE and @{ZERO_WIDTH_SPACE}everyone"),
        ("mail a@example.com", "mail a@example.com"),
        ("> quoted", f"{WJ}&gt; quoted"),
        ("a\n> b", f"a\n{WJ}&gt; b"),
        ("a > b", "a &gt; b"),
        ("nul\x00 bell\x07 rtl\u202eok", "nul bell rtlok"),
        ("crlf\r\nline", "crlf\nline"),
        ("", ""),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_is_inert_and_faithful(text: str) -> None:
    out = escape(text)
    assert "<" not in out
    assert ">" not in out
    assert not ENTITY.search(out)
    for match in re.finditer(r"[*_~`]", out):
        assert out[match.start() - 1] == WJ
        assert out[match.end()] == WJ
    assert re.search(r"@(?i:channel|here|everyone)", out) is None
    cleaned = re.sub(
        "[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", "", text.replace("\r\n", "\n")
    )
    assert visible(out) == cleaned.replace(WJ, "").replace(ZERO_WIDTH_SPACE, "")


@pytest.mark.parametrize(
    ("text", "limit", "marker", "expected"),
    [
        ("hello", 10, "…", "hello"),
        ("hello", 5, "…", "hello"),
        ("hello world", 6, "…", "hello…"),
        ("hello world", 7, "…", "hello…"),
        ("a &amp; b", 5, "…", "a…"),
        ("a &amp; b", 7, "…", "a…"),
        ("a &amp; b", 8, "…", "a &amp;…"),
        ("&lt;&lt;&lt;", 6, "…", "&lt;…"),
        ("&lt;&lt;&lt;", 9, "…", "&lt;&lt;…"),
        ("x & y z", 4, "…", "x &…"),
        ("abcdef", 4, "...", "a..."),
        ("abcdef", 2, "...", ".."),
        ("abcdef", 0, "…", ""),
    ],
)
def test_truncate(text: str, limit: int, marker: str, expected: str) -> None:
    assert truncate(text, limit, marker=marker) == expected


def test_truncate_rejects_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("x", -1)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=60))
def test_truncate_keeps_entities_whole(text: str, limit: int) -> None:
    out = truncate(escape(text), limit)
    assert len(out) <= limit
    assert not re.search(r"&[a-z]{0,3}…?$", out.removesuffix("…")) or out.endswith(";")
    assert not ENTITY.search(out)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("run_id", None, "`run_id`"),
        ("a`b", None, "`aˋb`"),
        ("```", None, "`ˋˋˋ`"),
        ("<!here> & <@U1>", None, "`&lt;!here&gt; &amp; &lt;@U1&gt;`"),
        ("line1\nline2\tx", None, "`line1 line2 x`"),
        ("@channel", None, f"`@{ZERO_WIDTH_SPACE}channel`"),
        ("", None, "`\u00a0`"),
        ("abcdefghij", 6, "`abc…`"),
        ("&&&&", 9, "`&amp;…`"),
    ],
)
def test_code(text: str, limit: int | None, expected: str) -> None:
    assert code(text, limit=limit) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(), st.one_of(st.none(), st.integers(min_value=3, max_value=50)))
def test_code_cannot_be_broken_out_of(text: str, limit: int | None) -> None:
    out = code(text, limit=limit)
    assert out.count("`") == 2
    assert out.startswith("`")
    assert out.endswith("`")
    assert "\n" not in out
    assert "<" not in out
    if limit is not None:
        assert len(out) <= limit


@settings(max_examples=200, deadline=None)
@given(st.text(), st.one_of(st.none(), st.integers(min_value=9, max_value=80)))
def test_code_block_cannot_be_closed_early(text: str, limit: int | None) -> None:
    out = code_block(text, limit=limit)
    assert out.startswith("```")
    assert out.endswith("```")
    inner = out[3:-3]
    assert "``" not in inner
    assert not inner.startswith("`")
    assert not inner.endswith("`")
    assert "<" not in inner
    if limit is not None:
        assert len(out) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Run it", None, "Run it"),
        ("  padded  ", None, "padded"),
        ("", None, "-"),
        ("\x00\x01", None, "-"),
        ("@here now", None, f"@{ZERO_WIDTH_SPACE}here now"),
        ("<b>not html</b>", None, "<b>not html</b>"),
        ("x" * 100, 75, "x" * 74 + "…"),
    ],
)
def test_plain(text: str, limit: int | None, expected: str) -> None:
    assert plain(text, limit=limit) == expected


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://deepnote.com/x", "Sales", "<https://deepnote.com/x|Sales>"),
        ("https://a.b/?x=1&y=2", "q", "<https://a.b/?x=1&amp;y=2|q>"),
        ("https://a.b/", "<!channel> *x*", f"<https://a.b/|&lt;!channel&gt; {WJ}*{WJ}x{WJ}*{WJ}>"),
        ("https://a.b/", "", "<https://a.b/|https://a.b/>"),
        ("javascript:alert(1)", "Sales", "Sales"),
        ("https://a.b/|evil", "Sales", "Sales"),
        ("https://a.b/>x", "Sales", "Sales"),
        ("https://a b", "Sales", "Sales"),
        (None, "Sales", "Sales"),
        ("https://a.b/" + "x" * 3000, "Long", "Long"),
    ],
)
def test_link(url: str | None, label: str, expected: str) -> None:
    assert link(url, label) == expected


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("U123ABC", "<@U123ABC>"),
        ("W0AB12", "<@W0AB12>"),
        ("<!channel>", "`&lt;!channel&gt;`"),
        ("u123", "`u123`"),
        ("", "`\u00a0`"),
    ],
)
def test_user_mention(user_id: str, expected: str) -> None:
    assert user_mention(user_id) == expected


def test_slack_date() -> None:
    assert slack_date(T0) == "<!date^1774947600^{date_short_pretty} {time}|2026-03-31 09:00 UTC>"
    assert slack_date(T0.replace(tzinfo=None)) == slack_date(T0)
