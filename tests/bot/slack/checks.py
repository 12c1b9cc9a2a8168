"""What every rendered message must be: valid Block Kit within Slack's limits, with no live
markup from untrusted text."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack.messages.blocks import Message
from bot.text.mrkdwn import (
    WORD_JOINER,
    ZERO_WIDTH_SPACE,
)
from storage import records
from tests.conftest import DATA

SNAPSHOTS = DATA / "deepnote" / "snapshots"
T0 = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
NOTEBOOK_URL = (
    "https://deepnote.com/workspace/acme-w1/project/-p1/notebook/0123456789abcdef0123456789abcdef"
)
SNAPSHOT_URL = "https://api.deepnote.com/v2/runs/x/snapshot?sig=a&exp=1"
HOSTILE = (
    "<!channel> <!here> <@U123> <https://evil.example|click> *bold* _it_ ~st~ `tick` "
    "@everyone &amp;"
)
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


# --- the validity checker -----------------------------------------------------------------


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn string in the blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def assert_valid_message(msg: Message) -> None:
    """Valid Block Kit (slack_sdk's own models) within every limit Slack documents."""
    assert isinstance(msg, Message)
    assert msg.text.strip(), "fallback text must not be empty"
    assert len(msg.text) <= 40_000
    assert 1 <= len(msg.blocks) <= 50
    json.dumps({"text": msg.text, "blocks": msg.blocks})
    for raw in msg.blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        kind = raw["type"]
        if kind == "section":
            assert "text" in raw or "fields" in raw
            if "text" in raw:
                assert 1 <= len(raw["text"]["text"]) <= 3000
            fields = raw.get("fields", [])
            assert len(fields) <= 10
            assert all(1 <= len(f["text"]) <= 2000 for f in fields)
        elif kind == "header":
            assert raw["text"]["type"] == "plain_text"
            assert 1 <= len(raw["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(raw["elements"]) <= 10
            assert all(1 <= len(e["text"]) <= 3000 for e in raw["elements"])
        elif kind == "actions":
            assert 1 <= len(raw["elements"]) <= 25
            action_ids = [e["action_id"] for e in raw["elements"]]
            assert len(action_ids) == len(set(action_ids))
            for button in raw["elements"]:
                assert button["text"]["type"] == "plain_text"
                assert 1 <= len(button["text"]["text"]) <= 75
                assert len(button.get("value", "")) <= 2000
                assert len(button.get("url", "")) <= 3000
        else:
            assert kind == "divider", kind
    for text in [*mrkdwn_texts(msg.blocks), msg.text]:
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<@U123>" not in text
        assert "<https://evil" not in text
        assert not ENTITY.search(_without_links_and_dates(text)), text


def _without_links_and_dates(text: str) -> str:
    # Our own `<url|…>` links carry `&amp;` already; `<!date^…>` carries no `&`.
    return re.sub(r"<(https?://[^|>]*)\|", "<|", text)


def all_text(msg: Message) -> str:
    return "\n".join([msg.text, *mrkdwn_texts(msg.blocks)])


def visible(text: str) -> str:
    """What a reader sees, roughly: entities decoded, invisible characters gone."""
    text = text.replace(WORD_JOINER, "").replace(ZERO_WIDTH_SPACE, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- records to render ----------------------------------------------------------------------

WJ = WORD_JOINER


def make_run(**changes: Any) -> records.RunRecord:
    """A running run of the Sales notebook, with `changes`."""
    base = records.RunRecord(
        id="run-7",
        notebook_id="0123456789abcdef0123456789abcdef",
        notebook_name="Sales performance",
        user_id="U0ALICE",
        team_id="T1",
        channel_id="C1",
        status="running",
        created_at=T0,
        inputs={"region": "Europe", "trailing_months": "6"},
        run_id="6f1c2d3e-0000-4000-8000-000000000001",
        notebook_url=NOTEBOOK_URL,
    )
    return replace(base, **changes)


def finished(status: str, **changes: Any) -> records.RunRecord:
    """The same run, ended with `status` after 125 seconds."""
    return make_run(
        status=status, started_at=T0, completed_at=T0 + timedelta(seconds=125), **changes
    )
