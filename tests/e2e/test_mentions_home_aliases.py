"""@mentions (channels, threads, retries), aliases and notebook names, and the App Home tab."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID, Simulator
from bot.offline.simulator.notebooks import SAMPLES_DIR
from bot.offline.slack_standin import Message, SlackStandIn, validate_view
from handlers.home import home_view
from handlers.mentions import command_text
from storage.records import RunRecord
from storage.schedules import ScheduleRecord
from tests.conftest import DEEPNOTE_KEY, Harness, start_bot
from tests.e2e.test_interactions import (
    cards,
    click,
    creates,
    last_ephemeral_as_message,
    wait_cards,
)

CHANNEL = "C0GENERAL"
TEAM = "T0TEST"
TWIN_ID = "11111111222233334444555555555555"


def mention(
    h: Harness,
    text: str,
    *,
    user: str = "U0ALICE",
    thread_ts: str | None = None,
    event_id: str | None = None,
    retry_num: int | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Message, Any]:
    """Someone writes `@Deepnote <text>` in the channel (or a thread); Slack sends the event."""
    message = h.slack.user_message(CHANNEL, f"<@U0BOT> {text}", user=user, thread_ts=thread_ts)
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": message.text,
        "ts": message.ts,
        "channel": CHANNEL,
        "team": TEAM,
        **(extra or {}),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    delivery = h.requester.event(event, event_id=event_id, retry_num=retry_num)
    assert delivery.status_code == 200
    return message, delivery


def last_reply(h: Harness) -> str:
    """The last ephemeral shown (response_url or chat.postEphemeral), as JSON text."""
    h.slack.wait_for(lambda s: bool(s.ephemerals()))
    latest = h.slack.ephemerals()[-1]
    return json.dumps(latest.blocks or latest.text)


def command_reply(h: Harness, text: str, *, count: int) -> str:
    """Type a command and wait for its `count`-th response_url answer."""
    h.command(text)
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= count)
    return json.dumps(h.slack.response_url_posts[count - 1].payload)


# --- mentions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bot", "expected"),
    [
        ("<@U0BOT> run x a=1", "U0BOT", "run x a=1"),
        ("<@U0BOT|Deepnote>   help", "U0BOT", "help"),
        ("hey <@U0OTHER> and <@U0BOT> status 12", "U0BOT", "status 12"),
        ("<@U0BOT>", "U0BOT", ""),
        ("<@U0X> inputs y", None, "inputs y"),
    ],
)
def test_command_text_of_a_mention(text: str, bot: str | None, expected: str) -> None:
    assert command_text(text, bot) == expected


def test_mention_in_a_channel_runs_with_the_card_in_its_thread(harness: Harness) -> None:
    h = harness
    message, _ = mention(h, f"run {SALES_NOTEBOOK_ID} region=Europe top_n=3")
    card = wait_cards(h, 1)[0]
    assert card.thread_ts == message.ts
    assert creates(h)[0].body["inputs"] == {"region": "Europe", "top_n": "3"}
    h.run_until_finished()
    replies = h.slack.thread(CHANNEL, message.ts)
    assert next(m.ts for m in replies) == card.ts
    assert len(replies) == 2  # the card and the result, both in the thread
    run = h.bot.services.store.recent_for_user("U0ALICE")[0]
    assert run.trigger == "mention"
    assert h.slack.violations == []


def test_mention_inside_a_thread_posts_the_card_in_that_thread(harness: Harness) -> None:
    h = harness
    parent = h.slack.user_message(CHANNEL, "Numbers for Q3, anyone?", user="U0BOB")
    mention(h, f"run {HELLO_NOTEBOOK_ID}", thread_ts=parent.ts)
    card = wait_cards(h, 1)[0]
    assert card.thread_ts == parent.ts
    assert [m.ts for m in h.slack.messages(CHANNEL)] == [parent.ts]


def test_a_retried_event_does_not_run_twice(harness: Harness) -> None:
    h = harness
    _, first = mention(h, f"run {HELLO_NOTEBOOK_ID}")
    wait_cards(h, 1)
    event = {
        "type": "app_mention",
        "user": "U0ALICE",
        "text": f"<@U0BOT> run {HELLO_NOTEBOOK_ID}",
        "ts": h.slack.all_messages(CHANNEL)[0].ts,
        "channel": CHANNEL,
        "team": TEAM,
    }
    for retry in (1, 2, 3):
        again = h.requester.event(event, event_id=first.event_id, retry_num=retry)
        assert again.status_code == 200
    mention(h, "help")  # a later, different event is still handled
    last_reply(h)
    assert len(creates(h)) == 1
    assert len(cards(h)) == 1


def test_the_bots_own_messages_are_ignored(harness: Harness) -> None:
    h = harness
    mention(h, f"run {HELLO_NOTEBOOK_ID}", user="U0BOT")
    mention(h, f"run {HELLO_NOTEBOOK_ID}", extra={"bot_id": "B0OTHER"})
    mention(h, "help")
    last_reply(h)
    assert creates(h) == []


def test_mention_errors_and_answers_go_to_the_user_alone(harness: Harness) -> None:
    h = harness
    parent = h.slack.user_message(CHANNEL, "thread", user="U0BOB")
    mention(h, f"run {SALES_NOTEBOOK_ID} regoin=Europe", thread_ts=parent.ts)
    h.slack.wait_for(lambda s: bool(s.ephemerals()))
    reply = h.slack.ephemerals()[-1]
    assert reply.user == "U0ALICE"
    assert reply.thread_ts == parent.ts
    assert "regoin" in json.dumps(reply.blocks)
    mention(h, f"inputs {SALES_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.ephemerals()) == 2)
    assert "report_title" in last_reply(h)
    assert creates(h) == []


def test_mention_replies_in_the_thread_when_no_ephemeral_can_be_shown(harness: Harness) -> None:
    h = harness
    h.slack.inject("chat.postEphemeral", error="user_not_in_channel")
    message, _ = mention(h, "run nothing-like-this")
    h.slack.wait_for(lambda s: len(s.thread(CHANNEL, message.ts)) == 1)
    assert "is not an alias" in json.dumps(h.slack.thread(CHANNEL, message.ts)[0].blocks)


def test_mention_without_inputs_offers_the_form_then_runs_in_the_thread(harness: Harness) -> None:
    h = harness
    message, _ = mention(h, f"run {SALES_NOTEBOOK_ID}")
    assert "Fill in the form" in last_reply(h)
    assert creates(h) == []
    as_message = last_ephemeral_as_message(h)
    click(h, as_message, "open_run_form", ephemeral=True)
    h.slack.wait_for(lambda s: len(s.views) == 1)
    click(h, as_message, "run_now", ephemeral=True)
    card = wait_cards(h, 1)[0]
    assert card.thread_ts == message.ts
    assert h.slack.violations == []


# --- aliases and names ---------------------------------------------------------------------------


def test_alias_create_use_list_and_remove(harness: Harness) -> None:
    h = harness
    reply = command_reply(h, f"alias daily {SALES_NOTEBOOK_ID}", count=1)
    assert "`daily` now names *Sales report*" in reply
    h.command("run daily region=Europe")
    wait_cards(h, 1)
    assert creates(h)[0].body["notebookId"] == SALES_NOTEBOOK_ID
    reply = command_reply(h, "aliases", count=2)
    assert "`daily`" in reply
    assert SALES_NOTEBOOK_ID in reply
    reply = command_reply(h, "unalias daily", count=3)
    assert "Removed the alias `daily`" in reply
    reply = command_reply(h, "run daily region=Europe", count=4)
    assert "is not an alias" in reply
    assert "/deepnote aliases" in reply
    assert len(creates(h)) == 1
    reply = command_reply(h, "unalias daily", count=5)
    assert "There is no alias" in reply
    assert "/deepnote aliases" in reply


def test_alias_works_in_mentions_inputs_and_the_form(harness: Harness) -> None:
    h = harness
    command_reply(
        h, f"alias sales https://deepnote.com/project/x/notebook/{SALES_NOTEBOOK_ID}", count=1
    )
    assert "Sales report" in command_reply(h, "inputs sales", count=2)
    h.command("run SALES")  # alias names are not case-sensitive; no inputs opens the form
    h.slack.wait_for(lambda s: len(s.views) == 1)
    mention(h, "run sales region=Mars")
    wait_cards(h, 1)
    assert creates(h)[0].body["inputs"] == {"region": "Mars"}


def test_alias_of_an_unknown_notebook_is_refused(harness: Harness) -> None:
    h = harness
    reply = command_reply(h, f"alias ghost {'0' * 32}", count=1)
    assert "Deepnote has no notebook" in reply
    assert h.bot.services.aliases.for_team(TEAM) == []
    reply = command_reply(h, "aliases", count=2)
    assert "no notebook aliases yet" in reply


def test_aliases_belong_to_their_team(harness: Harness) -> None:
    h = harness
    command_reply(h, f"alias sales {SALES_NOTEBOOK_ID}", count=1)
    store = h.bot.services.aliases
    assert [a.name for a in store.for_team(TEAM)] == ["sales"]
    assert store.get("T0OTHER", "sales") is None


def test_a_notebook_name_works_before_the_bot_has_seen_it(harness: Harness) -> None:
    h = harness
    h.command('run "sales  REPORT" region=Europe')
    wait_cards(h, 1)
    assert creates(h)[0].body["notebookId"] == SALES_NOTEBOOK_ID


@pytest.fixture
def twin_harness(tmp_path: Path, slack: SlackStandIn, clock: ManualClock) -> Iterator[Harness]:
    """A bot whose Deepnote has two notebooks named "Hello world"."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    hello = (SAMPLES_DIR / "hello-world.deepnote").read_text()
    (folder / "hello-world.deepnote").write_text(hello)
    twin = hello.replace(HELLO_NOTEBOOK_ID, TWIN_ID)
    twin = twin.replace(
        "e957570d-07e3-45d8-a700-5e0c65e78e5d", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    )
    (folder / "hello-twin.deepnote").write_text(twin)
    with Simulator(api_key=DEEPNOTE_KEY, notebooks_dir=folder, clock=clock) as sim:
        h = start_bot(slack, sim, clock, tmp_path / "bot.db")
        yield h
        h.stop()


def test_an_ambiguous_name_lists_the_candidates(twin_harness: Harness) -> None:
    h = twin_harness
    command_reply(h, f"inputs {HELLO_NOTEBOOK_ID}", count=1)
    command_reply(h, f"inputs {TWIN_ID}", count=2)
    reply = command_reply(h, 'run "hello world"', count=3)
    assert "2 notebooks are named" in reply
    assert HELLO_NOTEBOOK_ID in reply
    assert TWIN_ID in reply
    assert creates(h) == []
    command_reply(h, f"alias hello {HELLO_NOTEBOOK_ID}", count=4)
    h.command("run hello")
    wait_cards(h, 1)
    assert creates(h)[0].body["notebookId"] == HELLO_NOTEBOOK_ID


# --- the App Home tab ----------------------------------------------------------------------------


def open_home(h: Harness, user: str = "U0ALICE") -> Any:
    """The person opens the bot's Home tab; return the view it published."""
    before = h.slack.home(user)
    previous = before.hash if before else None
    h.requester.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    h.slack.wait_for(lambda s: s.home(user) is not None and s.home(user).hash != previous)
    return h.slack.home(user)


def home_text(h: Harness, user: str = "U0ALICE") -> str:
    """Everything on the person's Home tab, as JSON text ("" before it is published)."""
    view = h.slack.home(user)
    return json.dumps(view.blocks, ensure_ascii=False) if view else ""


def home_click(h: Harness, action_id: str, value: str, user: str = "U0ALICE") -> Any:
    """Press a button on the Home tab (a block_actions payload from a view, no channel)."""
    view = h.slack.home(user)
    assert view is not None
    return h.requester.interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "team": {"id": TEAM, "domain": "test-workspace"},
            "container": {"type": "view", "view_id": view.id},
            "view": {**view.view, "id": view.id, "type": "home", "hash": view.hash},
            "actions": [
                {"type": "button", "action_id": action_id, "block_id": "b", "value": value}
            ],
        }
    )


def test_home_tab_shows_recent_runs_and_schedules_with_buttons(harness: Harness) -> None:
    h = harness
    empty = open_home(h)
    assert "No runs yet" in json.dumps(empty.blocks)
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    wait_cards(h, 1)
    h.run_until_finished()
    h.command(f"schedule {HELLO_NOTEBOOK_ID} every day at 9:00")
    h.slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 2)
    view = open_home(h)
    text = json.dumps(view.blocks, ensure_ascii=False)
    assert "Sales report" in text
    assert "✅" in text
    assert "Hello world" in text
    assert "every day" in text
    assert "Pause" in text
    assert "Run now" in text
    assert len(view.blocks) <= 100
    assert h.slack.violations == []
    schedule_id = str(h.bot.services.schedules.store.in_channel(TEAM, CHANNEL)[0].id)
    home_click(h, "home_schedule_pause", schedule_id)
    h.slack.wait_for(lambda s: "Paused schedule" in home_text(h))
    schedule = h.bot.services.schedules.store.get(int(schedule_id))
    assert schedule is not None
    assert schedule.paused
    assert "Resume" in home_text(h)
    home_click(h, "home_schedule_trigger", schedule_id)
    h.slack.wait_for(lambda s: len(creates(h)) == 2)
    home_click(h, "home_schedule_pause", "999", user="U0ALICE")
    h.slack.wait_for(lambda s: "There is no schedule" in home_text(h))


def test_home_rerun_and_other_peoples_runs(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe")
    card = wait_cards(h, 1)[0]
    open_home(h)
    run_id = json.dumps(card.blocks).split('"action_id": "rerun", "value": "')[1].split('"')[0]
    home_click(h, "rerun", run_id)
    wait_cards(h, 2)
    h.slack.wait_for(lambda s: "Started *Sales report* again" in home_text(h))
    open_home(h, user="U0BOB")
    home_click(h, "rerun", run_id, user="U0BOB")  # not Bob's run
    h.slack.wait_for(lambda s: "does not belong" in home_text(h, "U0BOB"))
    assert len(creates(h)) == 2


def test_home_view_stays_within_slacks_limits() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    runs = [
        RunRecord(
            id=f"r{i}",
            notebook_id="ab" * 16,
            notebook_name="N" * 300,
            user_id="U0ALICE",
            team_id=TEAM,
            channel_id=CHANNEL,
            status=status,
            created_at=now,
            notebook_url="https://deepnote.com/project/p/notebook/x",
            snapshot_url="https://example.com/s?a=1&b=<2>",
        )
        for i, status in enumerate(["success", "error", "running", "create_failed"] * 10)
    ]
    schedules = [
        (
            ScheduleRecord(
                id=i,
                team_id=TEAM,
                channel_id=CHANNEL,
                owner_id="U0ALICE",
                notebook_id="cd" * 16,
                notebook_name="*bold* <!channel>",
                expression="0 9 * * *",
                tz="Europe/Prague",
                notify="always",
                created_at=now,
                paused=i % 2 == 0,
                paused_reason="paused by <@U0ALICE>",
                next_fire_at=None if i % 2 == 0 else now,
                last_status="error",
            ),
            "every day at 09:00",
        )
        for i in range(60)
    ]
    view = home_view(runs, schedules, notice="✔️ done")
    assert len(view["blocks"]) <= 100
    assert validate_view(view, kind="home") == []
    text = json.dumps(view["blocks"])
    assert "<!channel>" not in text
    assert "more: see `/deepnote schedules`" in text
    empty = home_view([], [])
    assert validate_view(empty, kind="home") == []
