"""Numbers in a run's thread reply follow one rule: thousands separators, at most 2 decimals,
one number of decimals per table column, money with 2 decimals."""

from __future__ import annotations

import re

from bot.offline.simulator import SALES_NOTEBOOK_ID
from tests.bot.slack.checks import mrkdwn_texts, visible
from tests.conftest import Harness

CHANNEL = "C0GENERAL"


def test_sales_sample_reply_formats_every_number_alike(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe top_n=5")
    h.slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls()))
    h.run_until_finished()
    (card,) = h.slack.messages(CHANNEL)
    (reply,) = h.slack.thread(CHANNEL, card.ts)
    texts = [visible(t) for t in mrkdwn_texts(reply.blocks)]
    everything = "\n".join(texts)
    # The big number is money (its block's format is currency), like the printed text beside it.
    assert "*Revenue · Europe*\n$296,815.70" in everything
    assert "Revenue per store: $7,067.04" in everything
    assert "296815.7" not in everything
    (table,) = [t for t in texts if t.startswith("*top*")]
    rows = table.split("```")[1].splitlines()[2:]
    assert rows[0].split() == ["Contraption", "961", "115,320.0"]
    assert rows[1].split() == ["Thingamajig", "1,674", "92,070.0"]
    # Every number in the table: separators, and one number of decimals per column.
    for row in rows:
        _, units, revenue = row.split()
        assert re.fullmatch(r"\d{1,3}(,\d{3})*", units)
        assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", revenue)
