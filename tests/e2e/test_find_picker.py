"""`/deepnote find`, the run form's notebook picker and the shortcuts (issue 17, part 1), end to
end: signed requests into the real bot, the Slack stand-in recording what people see, the
Deepnote simulator listing (and running) the notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bot.commands.parse import parse_command
from bot.commands.types import ScheduleCommand
from bot.offline.simulator import HELLO_NOTEBOOK_ID, QUALITY_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.simulator.notebooks import SAMPLES_DIR
from bot.offline.slack_standin import Message, SlackStandIn, View
from bot.offline.slack_standin.interactions import state_values
from bot.offline.slack_standin.shortcuts import message_shortcut, options_problems
from storage.intents import SHORTCUT, Intent, IntentStore
from tests.conftest import Bots, Harness
from tests.e2e.test_interactions import button, click, creates, submit, wait_cards

CHANNEL = "C0GENERAL"
FINANCE = "C0FINANCE"


def listing_reads(h: Harness) -> int:
    """How many GET /v2/projects the simulator answered."""
    return sum(1 for r in h.deepnote.requests if r.path == "/v2/projects")


def find(h: Harness, text: str, *, channel: str = CHANNEL) -> Message:
    """Type `/deepnote find <text>`; the private answer, as a message whose buttons work."""
    before = len(h.slack.response_url_posts)
    resp = h.command(f"find {text}", channel_id=channel)
    assert resp.status_code == 200
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    return answer_of(h, channel)


def answer_of(h: Harness, channel: str = CHANNEL) -> Message:
    """The last answer through a response_url, as a message (for `click`)."""
    post = h.slack.response_url_posts[-1]
    assert post.http_status == 200, post
    return Message(
        channel=channel,
        ts="1700000000.000100",
        text=post.payload["text"],
        blocks=post.payload.get("blocks") or [],
        user="U0BOT",
        posted_at=post.at,
    )


def shown(message: Message) -> str:
    """What a person reads in a message."""
    return json.dumps(message.blocks, ensure_ascii=False)


def result_ids(message: Message) -> list[str]:
    """The notebook ids of the results, in order (the value of each *Run* button)."""
    return [
        e["value"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "find_run"
    ]


def press(h: Harness, message: Message, action_id: str, notebook_id: str) -> Any:
    """Press one result's button (the buttons of every result share their action ids)."""
    return click(h, message, action_id, value=notebook_id, ephemeral=True)


def hello_copy(tmp_path: Path, name: str, notebook_id: str) -> Path:
    """A copy of the hello-world sample with this name (its project's too) and id."""
    text = (SAMPLES_DIR / "hello-world.deepnote").read_text(encoding="utf-8")
    text = text.replace(HELLO_NOTEBOOK_ID, notebook_id)
    text = text.replace("name: Hello world", f"name: {json.dumps(name)}")
    path = tmp_path / f"{notebook_id}.deepnote"
    path.write_text(text, encoding="utf-8")
    return path


# --- find ---------------------------------------------------------------------------------------


def test_find_matches_notebook_and_project_names_with_buttons_and_escapes_them(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    h.deepnote.add_generated_notebooks(12, per_project=3)
    h.deepnote.add_notebooks(hello_copy(tmp_path, "Zebra <!channel> *loud* & co", "ab" * 16))
    # "growth" is only in project names (Growth team 00001: notebooks 3 to 5).
    answer = find(h, "growth")
    names = [json.dumps(b) for b in answer.blocks if b["type"] == "section"][1:]
    assert len(result_ids(answer)) == 3
    assert all("Growth team 00001" in n for n in names)
    # A notebook's own name; whole-name and start-of-name matches first.
    answer = find(h, "sales report")
    assert result_ids(answer)[0] == SALES_NOTEBOOK_ID
    assert "Sales report" in shown(answer)
    buttons = [e["text"]["text"] for e in answer.blocks[2]["elements"]]
    assert buttons == ["Run", "Inputs", "Schedule…", "Alias…"]
    # Names from Deepnote are text, never markup: no broadcast, no bold.
    answer = find(h, "zebra")
    assert result_ids(answer) == ["ab" * 16]
    assert "<!channel>" not in shown(answer)
    assert "&lt;!channel&gt;" in shown(answer) or "&lt;\\u200b!channel&gt;" in shown(answer)
    # Nothing found: said plainly.
    answer = find(h, "no such thing")
    assert "No notebook or project name contains" in answer.text or "no notebooks" in answer.text
    assert result_ids(answer) == []
    assert h.slack.violations == []


def test_find_reads_every_page_once_then_answers_from_the_cache_until_refresh(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    h.deepnote.add_generated_notebooks(250)  # 253 projects: three pages of 100
    answer = find(h, "forecast")
    assert listing_reads(h) == 3
    assert "(1–10 of 31)" in shown(answer)
    assert len(result_ids(answer)) == 10
    # More: the next page replaces the answer; no new read of Deepnote.
    click(h, answer, "find_more", ephemeral=True)
    h.slack.wait_for(
        lambda s: "11–20 of 31" in json.dumps(s.response_url_posts[-1].payload, ensure_ascii=False)
    )
    second = answer_of(h)
    assert set(result_ids(second)).isdisjoint(result_ids(answer))
    assert h.slack.response_url_posts[-1].payload.get("replace_original") is True
    find(h, "churn")
    assert listing_reads(h) == 3
    # A notebook made now is found after Refresh (once the listing is 30 s old) ...
    h.deepnote.add_notebooks(hello_copy(tmp_path, "Forecast made just now", "cd" * 16))
    before = len(h.slack.response_url_posts)
    click(h, second, "find_refresh", ephemeral=True)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    assert listing_reads(h) == 3  # pressed at once: the listing is fresh, not read again
    h.clock.advance(seconds=31)
    click(h, second, "find_refresh", ephemeral=True)
    h.slack.wait_for(
        lambda s: "(1–10 of 32)" in json.dumps(s.response_url_posts[-1].payload, ensure_ascii=False)
    )
    assert listing_reads(h) == 6
    # ... and after the cache's 5 minutes, by any search.
    h.clock.advance(seconds=301)
    find(h, "sales")
    assert listing_reads(h) == 9
    assert h.slack.violations == []


def test_find_follows_the_channel_and_notebook_rules(bots: Bots) -> None:
    h = bots.start(
        NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}", ALLOWED_CHANNEL_IDS=f"{CHANNEL},{FINANCE}"
    )
    answer = find(h, "report")
    assert SALES_NOTEBOOK_ID not in result_ids(answer)
    assert "1 more may not be run in this channel" in shown(answer)
    assert SALES_NOTEBOOK_ID in result_ids(find(h, "report", channel=FINANCE))
    before = len(h.slack.response_url_posts)
    h.command("find report", channel_id="C0RANDOM")
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    assert "not enabled in this channel" in json.dumps(h.slack.response_url_posts[-1].payload)
    assert listing_reads(h) == 1


def test_find_buttons_run_list_inputs_offer_a_schedule_and_name_an_alias(
    harness: Harness,
) -> None:
    h = harness
    answer = find(h, "sales report")
    # Run: the run form of that notebook.
    press(h, answer, "find_run", SALES_NOTEBOOK_ID)
    h.slack.wait_for(lambda s: len(s.views) == 1)
    assert h.slack.views[0].callback_id == "run_form"
    assert "Sales report" in json.dumps(h.slack.views[0].blocks)
    # Inputs: the listing `inputs` gives.
    before = len(h.slack.response_url_posts)
    press(h, answer, "find_inputs", SALES_NOTEBOOK_ID)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before)
    assert "region" in json.dumps(h.slack.response_url_posts[-1].payload)
    # Schedule…: the command filled in with the notebook and its current inputs.
    press(h, answer, "find_schedule", SALES_NOTEBOOK_ID)
    h.slack.wait_for(lambda s: len(s.response_url_posts) > before + 1)
    offer = json.dumps(h.slack.response_url_posts[-1].payload)
    command = offer.split("```")[1]
    assert command.startswith(f"/deepnote schedule {SALES_NOTEBOOK_ID} every weekday at 9am ")
    assert "region=Europe" in command
    assert isinstance(parse_command(command), ScheduleCommand)  # works as it is written
    # Alias…: a modal; a bad name comes back next to the field, a good one is made.
    press(h, answer, "find_alias", SALES_NOTEBOOK_ID)
    h.slack.wait_for(lambda s: len(s.views) == 2)
    modal = h.slack.views[1]
    assert modal.callback_id == "find_alias_form"
    bad = submit(h, modal, {"alias_name": {"name": {"type": "plain_text_input", "value": "No!"}}})
    assert "alias_name" in bad.json()["errors"]
    assert h.bot.services.aliases.get("T0TEST", "no!") is None
    good = {"alias_name": {"name": {"type": "plain_text_input", "value": "sales-report"}}}
    assert submit(h, modal, good).text == ""
    h.slack.wait_for(lambda s: any("sales-report" in e.text for e in s.ephemerals(CHANNEL)))
    alias = h.bot.services.aliases.get("T0TEST", "sales-report")
    assert alias is not None
    assert alias.notebook_id == SALES_NOTEBOOK_ID
    assert alias.owner_id == "U0ALICE"
    (entry,) = h.bot.services.audit.latest(5)
    assert entry.action == "alias"
    assert h.slack.violations == []


# --- the picker ---------------------------------------------------------------------------------


def picker_of(h: Harness, count: int = 1) -> View:
    """The modal with the picker, once opened."""
    h.slack.wait_for(lambda s: len(s.views) == count)
    view = h.slack.views[count - 1]
    assert any(b.get("block_id") == "pick" for b in view.blocks)
    return view


def suggestions(h: Harness, view: View, typed: str) -> list[dict[str, Any]]:
    """The options the bot offers for `typed` (checked as Slack checks them)."""
    resp = h.requester.suggest(view, "pick_notebook", typed, block_id="pick")
    assert resp.status_code == 200
    answer = resp.json()
    assert options_problems(answer) == []
    return list(answer["options"])


def choose(h: Harness, view: View, option: dict[str, Any]) -> View:
    """Choose a notebook; the modal, once the bot has replaced it in place."""
    assert h.requester.choose(view, "pick_notebook", option, block_id="pick").status_code == 200
    h.slack.wait_for(lambda s: s.views[-1].hash != view.hash)
    return h.slack.views[-1]


def test_bare_run_opens_the_picker_and_choosing_fills_the_form_in_place(harness: Harness) -> None:
    h = harness
    h.deepnote.add_generated_notebooks(300)
    resp = h.command("run")
    view = picker_of(h)
    assert view.trigger_id == resp.trigger_id
    assert "submit" not in view.view  # nothing to run until a notebook is chosen
    many = suggestions(h, view, "e")
    assert len(many) == 100
    options = suggestions(h, view, "SALES rep")
    # The same text typed again within the second: the same bytes, answered again (an options
    # request is not refused as a replay).
    assert suggestions(h, view, "SALES rep") == options
    assert options[0]["value"] == SALES_NOTEBOOK_ID
    assert options[0]["text"]["text"] == "Sales report · Sales report"
    form = choose(h, view, options[0])
    assert form.id == view.id  # the same modal, updated (views.update with its hash)
    assert len(form.versions) == 1
    assert any(b.get("block_id") == "input:region" for b in form.blocks)
    picker = next(b for b in form.blocks if b.get("block_id") == "pick")
    assert picker["elements"][0]["initial_option"]["value"] == SALES_NOTEBOOK_ID
    # Another choice replaces the form again.
    form = choose(h, form, suggestions(h, form, "data quality")[0])
    assert any(b.get("block_id") == "input:dataset" for b in form.blocks)
    values = state_values(form.blocks, {})
    assert submit(h, form, values).status_code == 200
    card = wait_cards(h, 1)[0]
    assert card.channel == CHANNEL
    assert creates(h)[0].body["notebookId"] == QUALITY_NOTEBOOK_ID
    assert "Data quality check" in card.text
    assert h.slack.violations == []


def test_picker_leaves_out_notebooks_the_channel_may_not_run(bots: Bots) -> None:
    h = bots.start(NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}")
    h.command("run")
    view = picker_of(h)
    assert [o["value"] for o in suggestions(h, view, "sales")] == []
    # Chosen all the same (a forged choice): the picker says why, and no form comes.
    forged = {"text": {"type": "plain_text", "text": "Sales report"}, "value": SALES_NOTEBOOK_ID}
    refused = choose(h, view, forged)
    assert "may not be run from this channel" in json.dumps(refused.blocks)
    assert not any(b["type"] == "input" for b in refused.blocks)
    h.command("run", channel_id=FINANCE)
    view = picker_of(h, 2)  # a second modal (the first stays open for the stand-in)
    assert [o["value"] for o in suggestions(h, view, "sales")] == [SALES_NOTEBOOK_ID]


def test_global_shortcut_opens_the_picker_and_the_form_asks_where_to_post(bots: Bots) -> None:
    h = bots.start(NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}={FINANCE}")
    resp = h.requester.shortcut("run_notebook")
    assert resp.status_code == 200
    view = picker_of(h)
    # Without a channel, every notebook is offered; the channel's rule is checked on submit.
    form = choose(h, view, suggestions(h, view, "sales")[0])
    assert any(b.get("block_id") == "post_in" for b in form.blocks)
    values = state_values(form.blocks, {})
    refused = submit(h, form, values).json()
    assert refused["errors"] == {"post_in": "Choose the channel to post the run in."}
    values["post_in"]["channel"]["selected_conversation"] = CHANNEL
    refused = submit(h, form, values).json()
    assert "may not be run from this channel" in json.dumps(refused)
    values["post_in"]["channel"]["selected_conversation"] = FINANCE
    assert submit(h, form, values).text == ""
    card = wait_cards(h, 1, channel=FINANCE)[0]
    assert "Sales report" in card.text
    (entry,) = h.bot.services.audit.latest(5)
    assert entry.action == "run"
    assert entry.user_id == "U0ALICE"
    assert h.slack.violations == []


def test_run_from_a_mention_cannot_open_the_picker_and_says_what_to_type(
    harness: Harness,
) -> None:
    h = harness
    said = h.slack.user_message(CHANNEL, "<@U0BOT> run")
    h.requester.event(
        {"type": "app_mention", "user": "U0ALICE", "text": said.text, "ts": said.ts}
        | {"channel": CHANNEL, "team": "T0TEST"}
    )
    h.slack.wait_for(lambda s: len(s.ephemerals(CHANNEL, "U0ALICE")) == 1)
    assert "/deepnote find" in h.slack.ephemerals(CHANNEL, "U0ALICE")[0].text
    assert h.slack.views == []


def test_a_form_slack_does_not_let_open_in_time_says_what_to_type(harness: Harness) -> None:
    h = harness
    h.slack.inject("views.open", error="expired_trigger_id")
    h.command("run")
    h.slack.wait_for(lambda s: said_privately(s, "did not let the bot open the form in time"))
    assert said_privately(h.slack, "/deepnote find")
    h.slack.inject("views.open", error="expired_trigger_id")
    answer = find(h, "hello")
    press(h, answer, "find_alias", HELLO_NOTEBOOK_ID)
    h.slack.wait_for(
        lambda s: said_privately(s, f"/deepnote alias &lt;name&gt; {HELLO_NOTEBOOK_ID}")
    )
    assert h.slack.views == []


# --- Re-run this --------------------------------------------------------------------------------


def said_privately(slack: SlackStandIn, words: str) -> bool:
    """Whether some answer through a response_url says `words`."""
    return any(words in json.dumps(p.payload, ensure_ascii=False) for p in slack.response_url_posts)


def card_json(card: Message) -> dict[str, Any]:
    """The message as a message shortcut's payload carries it."""
    return {"type": "message", "ts": card.ts, "text": card.text, "blocks": card.blocks}


def test_rerun_this_restarts_a_cards_run_and_refuses_other_messages(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Europe top_n=7")
    card = wait_cards(h, 1)[0]
    h.run_until_finished()
    card = h.slack.message(CHANNEL, card.ts) or card
    resp = h.requester.message_shortcut("rerun_message", card_json(card), user_id="U0BOB")
    assert resp.status_code == 200
    again = wait_cards(h, 2)[1]
    assert creates(h)[1].body.get("inputs") == creates(h)[0].body.get("inputs")
    newest = h.bot.services.store.recent_for_user("U0BOB")[0]
    assert newest.user_id == "U0BOB"
    assert again.channel == CHANNEL
    # Not one of the bot's cards: said so, nothing started.
    said = h.slack.user_message(CHANNEL, "lunch?")
    other = {"type": "message", "ts": said.ts, "text": said.text, "user": "U0ALICE"}
    h.requester.message_shortcut("rerun_message", other)
    h.slack.wait_for(lambda s: said_privately(s, "run cards"))
    assert len(creates(h)) == 2
    # A card of another channel (pasted elsewhere, or forged) starts nothing either.
    h.requester.message_shortcut("rerun_message", card_json(card), channel_id=FINANCE)
    h.slack.wait_for(lambda s: said_privately(s, "does not belong"))
    assert len(creates(h)) == 2
    assert button(card, "rerun")["value"]
    assert h.slack.violations == []


def test_a_rerun_this_acknowledged_before_a_hard_kill_is_carried_out_once(bots: Bots) -> None:
    """Stored before its acknowledgement; a process that died with it open leaves it to the
    next, which starts the run once (keyed by the shortcut) and marks it done."""
    h = bots.start()
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    card = wait_cards(h, 1)[0]
    h.run_until_finished()
    card = h.slack.message(CHANNEL, card.ts) or card
    payload = message_shortcut(
        "rerun_message",
        message=card_json(card),
        channel=(CHANNEL, "general"),
        user=("U0BOB", "bob"),
        team_id="T0TEST",
    )
    intent = Intent(
        id="shortcut-before-the-kill",
        team_id="T0TEST",
        user_id="U0BOB",
        channel_id=CHANNEL,
        thread_ts=None,
        text="rerun_message",
        response_url=None,
        holder="a-process-that-died",
        received_at=h.clock.now(),
        kind=SHORTCUT,
        payload=json.dumps(payload),
    )
    assert IntentStore(h.bot.services.db).add(intent)
    h.bot.tick()
    wait_cards(h, 2)
    h.bot.tick()
    h.slack.wait_for(lambda s: IntentStore(h.bot.services.db).unfinished() == [])
    assert len(creates(h)) == 2
    assert h.bot.services.store.recent_for_user("U0BOB")[0].notebook_id == HELLO_NOTEBOOK_ID


def test_every_shortcut_of_the_manifest_is_answered(harness: Harness) -> None:
    root = Path(__file__).resolve().parents[2]
    manifest = yaml.safe_load((root / "app_manifest.yml").read_text(encoding="utf-8"))
    shortcuts = manifest["features"]["shortcuts"]
    assert {(s["type"], s["callback_id"]) for s in shortcuts} == {
        ("global", "run_notebook"),
        ("message", "rerun_message"),
    }
    said = harness.slack.user_message(CHANNEL, "hello")
    for shortcut in shortcuts:
        if shortcut["type"] == "global":
            resp = harness.requester.shortcut(shortcut["callback_id"])
        else:
            message = {"type": "message", "ts": said.ts, "text": said.text, "user": "U0ALICE"}
            resp = harness.requester.message_shortcut(shortcut["callback_id"], message)
        assert resp.status_code == 200, shortcut  # Bolt answers 404 to what nobody listens to
