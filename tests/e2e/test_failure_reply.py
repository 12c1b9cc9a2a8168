"""A failed run's thread reply names the block that failed, so "What next" can be acted on."""

from __future__ import annotations

import json

from bot.offline.simulator import QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from tests.bot.slack.checks import visible
from tests.conftest import Harness

CHANNEL = "C0GENERAL"


def failure_reply(h: Harness, text: str) -> str:
    """Type the command, follow the run to its end, and return its thread reply as read."""
    h.command(text)
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    (card,) = h.slack.messages(CHANNEL)
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    return visible(json.dumps(reply.blocks, ensure_ascii=False)).replace('\\"', '"')


def test_data_quality_failure_names_the_failing_block(harness: Harness) -> None:
    # Deepnote reports this failure's reason itself; the block is only in the snapshot.
    reply = failure_reply(harness, f"run {QUALITY_NOTEBOOK_ID} dataset=orders_with_gaps")
    assert "*Why it failed:* AssertionError: 3 of 120 rows in orders_with_gaps" in reply
    assert (
        '*Failing block:* “missing = int(df["customer_id"].isna().sum())” '
        "(code block 748cbc13f6b95ac7e306b16cac383de4 in Data quality check)"
    ) in reply
    assert "---> " in reply  # the traceback's marked line
    assert "*What next:* Fix the failing block (above) in Deepnote" in reply


def test_sales_failure_names_its_block_too(harness: Harness) -> None:
    # Here Deepnote leaves the run's error empty: reason and block both come from the snapshot.
    reply = failure_reply(harness, f"run {SALES_NOTEBOOK_ID} region=Mars")
    assert "*Why it failed:* ZeroDivisionError: float division by zero" in reply
    assert "*Failing block:* “units = {p: sum(daily_units(region, c, p)" in reply
    assert "(code block 4794c9154c170c4282779cf54ce8bd1a in Sales report)" in reply
