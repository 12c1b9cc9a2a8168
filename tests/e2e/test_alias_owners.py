"""Aliases have owners: only the owner or an admin may repoint or remove one (issue 12, item 10)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.slack_standin import SlackStandIn
from tests.conftest import Harness, start_bot

CHANNEL = "C0GENERAL"
TEAM = "T0TEST"
ALICE = "U0ALICE"
BOB = "U0BOB"
ADMIN = "U0ADMIN"


def reply(h: Harness, text: str, *, user: str) -> str:
    """Type a command as `user`; return the private answer."""
    before = len(h.slack.response_url_posts)
    resp = h.command(text, user_id=user, channel_id=CHANNEL)
    if resp.text.strip():
        return str(resp.text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    return json.dumps(h.slack.response_url_posts[-1].payload, ensure_ascii=False)


def audited(h: Harness) -> list[tuple[str, str]]:
    """(user, action) of the alias entries in the audit log, oldest first."""
    entries = h.bot.services.runs.audit.latest(100)
    return [(e.user_id, e.action) for e in reversed(entries) if "alias" in e.action]


def test_only_the_owner_or_an_admin_may_change_an_alias(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    h = start_bot(slack, deepnote, clock, tmp_path / "bot.db", ADMIN_USER_IDS=ADMIN)
    try:
        assert "now names" in reply(h, f"alias daily {SALES_NOTEBOOK_ID}", user=ALICE)
        refused = reply(h, f"alias daily {HELLO_NOTEBOOK_ID}", user=BOB)
        assert f"belongs to <@{ALICE}>" in refused
        assert "only they or a bot admin can change it" in refused
        refused = reply(h, "unalias daily", user=BOB)
        assert f"belongs to <@{ALICE}>" in refused
        assert "can remove it" in refused
        alias = h.bot.services.aliases.get(TEAM, "daily")
        assert alias is not None
        assert alias.notebook_id == SALES_NOTEBOOK_ID
        # Everyone may read the list, which shows whose each alias is.
        listing = reply(h, "aliases", user=BOB)
        assert "`daily`" in listing
        assert f"owner <@{ALICE}>" in listing
        # The owner may repoint it; an admin may too, and it stays the owner's.
        assert "now names" in reply(h, f"alias daily {HELLO_NOTEBOOK_ID} --replace", user=ALICE)
        assert "now names" in reply(h, f"alias daily {SALES_NOTEBOOK_ID} --replace", user=ADMIN)
        alias = h.bot.services.aliases.get(TEAM, "daily")
        assert alias is not None
        assert alias.owner_id == ALICE
        assert "Removed the alias" in reply(h, "unalias daily", user=ADMIN)
        assert audited(h) == [
            (ALICE, "alias"),
            (ALICE, "alias"),
            (ADMIN, "alias"),
            (ADMIN, "unalias"),
        ]
    finally:
        h.stop()


def test_aliases_made_before_owners_are_admins_only(
    tmp_path: Path, slack: SlackStandIn, deepnote: Simulator, clock: ManualClock
) -> None:
    path = tmp_path / "bot.db"
    h = start_bot(slack, deepnote, clock, path, ADMIN_USER_IDS=ADMIN)
    reply(h, f"alias daily {SALES_NOTEBOOK_ID}", user=ALICE)
    h.stop()
    # As the aliases table was before owners: the migration leaves such rows without one.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE aliases SET owner_id = NULL")
    h = start_bot(slack, deepnote, clock, path, ADMIN_USER_IDS=ADMIN)
    try:
        refused = reply(h, f"alias daily {HELLO_NOTEBOOK_ID}", user=ALICE)
        assert "Only a bot admin can change the alias `daily`" in refused
        assert "made before aliases had owners" in refused
        assert f"<@{ADMIN}>" in refused
        assert "owner unknown (admins only" in reply(h, "aliases", user=BOB)
        assert "Removed the alias" in reply(h, "unalias daily", user=ADMIN)
    finally:
        h.stop()


def test_the_migration_adds_owners_to_an_existing_database(tmp_path: Path) -> None:
    from storage.migrations import MIGRATIONS
    from storage.sqlite import SQLiteDatabase

    path = tmp_path / "old.db"
    db = SQLiteDatabase(path)
    with db.write() as tx:
        for migration in MIGRATIONS[:3]:
            migration(tx)
        tx.execute("PRAGMA user_version = 3")
        tx.execute(
            "INSERT INTO aliases VALUES (?, ?, ?, ?, ?, ?)",
            (TEAM, "old", SALES_NOTEBOOK_ID, "Sales report", ALICE, "2026-01-01T00:00:00+00:00"),
        )
    assert db.migrate() == len(MIGRATIONS)
    (row,) = db.query("SELECT name, owner_id, created_by FROM aliases")
    assert row == {"name": "old", "owner_id": None, "created_by": ALICE}
    db.close()
