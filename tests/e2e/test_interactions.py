"""Card buttons and the run form end to end: signed interactive payloads into the real bot,
the Slack stand-in recording what people would see, the Deepnote simulator running."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.offline.simulator import HELLO_NOTEBOOK_ID, SALES_NOTEBOOK_ID
from bot.offline.slack_standin import Message, View
from bot.slack.run_form import form_key, read_request, sign_request
from tests.conftest import Bots, Harness

CHANNEL = "C0GENERAL"
TEAM = "T0TEST"


# --- helpers: what Slack sends ------------------------------------------------------------------


def creates(h: Harness) -> list[Any]:
    """Every POST /v2/runs the simulator received."""
    return [r for r in h.deepnote.requests if r.method == "POST" and r.path == "/v2/runs"]


def cards(h: Harness, channel: str = CHANNEL) -> list[Message]:
    """Every run card the bot posted in the channel (threads included), oldest first."""
    return [
        m
        for m in h.slack.all_messages(channel)
        if m.metadata and m.metadata.get("event_payload", {}).get("kind") == "card"
    ]


def wait_cards(h: Harness, count: int, channel: str = CHANNEL) -> list[Message]:
    """Wait until `count` cards are posted and started (their create call answered)."""
    h.slack.wait_for(lambda s: len(cards(h, channel)) >= count)
    h.slack.wait_for(lambda s: len(creates(h)) >= count)
    h.slack.wait_for(lambda s: all(c.edits for c in cards(h, channel)))
    return cards(h, channel)


def last_ephemeral_as_message(h: Harness) -> Message:
    """The last ephemeral the bot showed, as a message whose buttons `click` can press."""
    offer = h.slack.ephemerals()[-1]
    return Message(
        channel=CHANNEL,
        ts=offer.message_ts,
        text=offer.text,
        blocks=offer.blocks,
        user="U0BOT",
        posted_at=offer.at,
    )


def button(message: Message, action_id: str) -> dict[str, Any]:
    """A button of a message's actions blocks."""
    for block in message.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button on {message.text}")


def click(
    h: Harness,
    message: Message,
    action_id: str,
    *,
    value: str | None = None,
    user: str = "U0ALICE",
    team: str = TEAM,
    ephemeral: bool = False,
) -> Any:
    """Press a button on a message, as Slack sends it (signed block_actions payload)."""
    pressed = button(message, action_id)
    message_json: dict[str, Any] = {"ts": message.ts, "text": message.text}
    if message.thread_ts:
        message_json["thread_ts"] = message.thread_ts
    container = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": ephemeral,
    }
    if message.thread_ts:
        container["thread_ts"] = message.thread_ts
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": "actions",
        "text": pressed["text"],
        "action_ts": h.slack.new_ts(),
    }
    if "value" in pressed or value is not None:
        action["value"] = pressed.get("value") if value is None else value
    return h.requester.interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "team": {"id": team, "domain": "test-workspace"},
            "channel": {"id": message.channel, "name": "general"},
            "container": container,
            "message": message_json,
            "actions": [action],
        }
    )


def submit(
    h: Harness,
    view: View,
    values: dict[str, Any],
    *,
    metadata: str | None = None,
    user: str = "U0ALICE",
) -> Any:
    """Submit a modal with these `state.values` (signed view_submission payload)."""
    return h.requester.interaction(
        {
            "type": "view_submission",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "team": {"id": TEAM, "domain": "test-workspace"},
            "view": {
                **view.view,
                "id": view.id,
                "team_id": TEAM,
                "private_metadata": view.private_metadata if metadata is None else metadata,
                "state": {"values": values},
                "hash": view.hash,
            },
        }
    )


def unchanged_state(view: View) -> dict[str, Any]:
    """The state Slack sends when the person changes nothing in the form."""
    values: dict[str, Any] = {}
    for block in view.blocks:
        if block["type"] != "input":
            continue
        el = block["element"]
        state: dict[str, Any] = {"type": el["type"]}
        if el["type"] in ("plain_text_input", "number_input"):
            state["value"] = el.get("initial_value")
        elif el["type"] == "static_select":
            state["selected_option"] = el.get("initial_option")
        elif el["type"] in ("multi_static_select", "checkboxes"):
            state["selected_options"] = el.get("initial_options", [])
        elif el["type"] == "datepicker":
            state["selected_date"] = el.get("initial_date")
        values[block["block_id"]] = {el["action_id"]: state}
    return values


def initial(view: View, bid: str) -> Any:
    """The prefilled value of one input block."""
    block = next(b for b in view.blocks if b.get("block_id") == bid)
    el = block["element"]
    for key in ("initial_value", "initial_date", "initial_option", "initial_options"):
        if key in el:
            return el[key]
    return None


def opened_form(h: Harness) -> View:
    """The run form, once the bot has opened it."""
    h.slack.wait_for(lambda s: len(s.views) == 1)
    return h.slack.views[0]


def ephemeral_texts(h: Harness) -> list[str]:
    """Every ephemeral shown (through response_urls or chat.postEphemeral), as JSON text."""
    via_url = [json.dumps(p.payload) for p in h.slack.response_url_posts]
    return via_url + [json.dumps(e.blocks or e.text) for e in h.slack.ephemerals()]


def start_sales_run(h: Harness, inputs: str = "region=Europe top_n=7") -> Message:
    """Run the sales notebook from the slash command and return its card."""
    h.command(f"run {SALES_NOTEBOOK_ID} {inputs}")
    return wait_cards(h, 1)[0]


# --- buttons on the card ------------------------------------------------------------------------


def test_rerun_starts_the_same_run_as_the_person_who_clicked(harness: Harness) -> None:
    h = harness
    card = start_sales_run(h)
    resp = click(h, card, "rerun", user="U0BOB")
    assert resp.status_code == 200
    assert resp.elapsed < 2.5
    second = wait_cards(h, 2)[1]
    assert creates(h)[1].body == creates(h)[0].body
    assert second.thread_ts is None
    newest = h.bot.services.store.recent_for_user("U0BOB")
    assert len(newest) == 1
    assert newest[0].inputs == {"region": "Europe", "top_n": "7"}
    assert newest[0].trigger == "button"
    assert "U0BOB" in second.text or "U0BOB" in json.dumps(second.blocks)
    assert h.slack.violations == []


def test_rerun_of_a_card_in_a_thread_posts_in_that_thread(harness: Harness) -> None:
    h = harness
    parent = h.slack.user_message(CHANNEL, "<@U0BOT> run it", user="U0ALICE")
    h.requester.event(
        {
            "type": "app_mention",
            "user": "U0ALICE",
            "text": f"<@U0BOT> run {SALES_NOTEBOOK_ID} region=Europe",
            "ts": parent.ts,
            "channel": CHANNEL,
            "team": TEAM,
        }
    )
    card = wait_cards(h, 1)[0]
    assert card.thread_ts == parent.ts
    click(h, card, "rerun")
    second = wait_cards(h, 2)[1]
    assert second.thread_ts == parent.ts
    assert [m.ts for m in h.slack.messages(CHANNEL)] == [parent.ts]


def test_tampered_rerun_values_are_rejected_and_start_nothing(harness: Harness) -> None:
    h = harness
    card = start_sales_run(h)
    run_id = button(card, "rerun")["value"]
    deepnote_run = h.bot.services.store.get(run_id)
    assert deepnote_run is not None
    assert deepnote_run.run_id
    attempts = [
        {"value": "0" * 32},  # not a run the bot knows
        {"value": deepnote_run.run_id},  # Deepnote's id, not the card's
        {"value": run_id, "team": "T0OTHER"},  # another workspace
        {"value": "x" * 500},
    ]
    for attempt in attempts:
        assert click(h, card, "rerun", **attempt).status_code == 200
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= len(attempts))
    for post in h.slack.response_url_posts:
        assert "does not belong to a run" in json.dumps(post.payload)
        assert post.payload.get("response_type") == "ephemeral"
    assert len(creates(h)) == 1
    assert len(cards(h)) == 1


def test_a_card_button_in_another_channel_is_rejected(harness: Harness) -> None:
    h = harness
    card = start_sales_run(h)
    other = Message(
        channel="C0OTHER",
        ts=card.ts,
        text=card.text,
        blocks=card.blocks,
        user=card.user,
        posted_at=card.posted_at,
    )
    click(h, other, "rerun")
    h.slack.wait_for(lambda s: len(s.response_url_posts) >= 1)
    assert "does not belong" in json.dumps(h.slack.response_url_posts[0].payload)
    assert len(creates(h)) == 1


def test_url_buttons_are_acknowledged_and_do_nothing(harness: Harness) -> None:
    h = harness
    # Too large to inline: Deepnote links the snapshot, and the card has a Snapshot button.
    h.deepnote.inline_snapshot_limit = 0
    card = start_sales_run(h)
    h.run_until_finished()
    card = cards(h)[0]
    before = len(h.slack.calls())
    for action in ("open_notebook", "open_snapshot"):
        resp = click(h, card, action)
        assert resp.status_code == 200
        assert resp.text == ""
    h.advance(0)
    assert len(creates(h)) == 1
    assert len(h.slack.calls()) == before
    assert h.slack.response_url_posts == []


def test_rerun_with_changes_opens_the_form_prefilled_with_the_runs_inputs(
    harness: Harness,
) -> None:
    h = harness
    card = start_sales_run(h, 'region="North America" top_n=3')
    click(h, card, "rerun_form", user="U0BOB")
    view = opened_form(h)
    assert view.user == "U0BOB"
    assert initial(view, "input:region")["value"] == "North America"
    assert initial(view, "input:top_n") == "3"
    assert initial(view, "input:report_title") == "Weekly sales report"
    state = unchanged_state(view)
    state["input:top_n"]["value"]["value"] = "4"
    resp = submit(h, view, state, user="U0BOB")
    assert resp.status_code == 200
    assert resp.text == ""  # the modal closes
    second = wait_cards(h, 2)[1]
    body = creates(h)[1].body
    assert body["inputs"]["region"] == "North America"
    assert body["inputs"]["top_n"] == "4"
    assert "U0BOB" in json.dumps(second.blocks)
    assert h.slack.violations == []


# --- the run form from the slash command ------------------------------------------------------


def test_run_without_inputs_opens_the_form_and_submitting_runs_it(harness: Harness) -> None:
    h = harness
    resp = h.command(f"run {SALES_NOTEBOOK_ID}")
    assert resp.status_code == 200
    view = opened_form(h)
    assert view.trigger_id == resp.trigger_id
    assert view.callback_id == "run_form"
    assert creates(h) == []
    request = read_request(view.private_metadata, _key(h))
    assert (request.channel_id, request.user_id, request.team_id) == (CHANNEL, "U0ALICE", TEAM)
    state = unchanged_state(view)
    state["input:region"]["value"]["selected_option"] = {"value": "Asia Pacific"}
    state["input:channels"]["value"]["selected_options"] = [{"value": "Partners"}]
    state["input:include_returns"]["value"]["selected_options"] = [{"value": "true"}]
    state["input:period:preset"]["value"]["selected_option"] = {"value": "past14days"}
    resp = submit(h, view, state)
    assert resp.status_code == 200
    card = wait_cards(h, 1)[0]
    assert card.channel == CHANNEL
    inputs = creates(h)[0].body["inputs"]
    assert inputs["region"] == "Asia Pacific"
    assert inputs["channels"] == ["Partners"]
    assert inputs["include_returns"] is True
    assert inputs["period"] == "past14days"
    assert inputs["top_n"] == "5"
    run = h.bot.services.store.recent_for_user("U0ALICE")[0]
    assert run.trigger == "form"
    h.run_until_finished()
    assert h.slack.violations == []


def test_form_flag_opens_the_form_prefilled_with_the_given_inputs(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID} region=Mars top_n=2 --form --readonly")
    view = opened_form(h)
    assert initial(view, "input:region")["value"] == "Mars"
    assert initial(view, "input:top_n") == "2"
    assert read_request(view.private_metadata, _key(h)).options.readonly is True
    submit(h, view, unchanged_state(view))
    wait_cards(h, 1)
    body = creates(h)[0].body
    assert body["detachedRunStorageMode"] == "readonly"
    assert body["inputs"]["region"] == "Mars"


def test_notebook_without_inputs_still_runs_directly(harness: Harness) -> None:
    h = harness
    h.command(f"run {HELLO_NOTEBOOK_ID}")
    wait_cards(h, 1)
    assert h.slack.views == []


def test_invalid_form_values_come_back_as_field_errors(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID}")
    view = opened_form(h)
    state = unchanged_state(view)
    state["input:top_n"]["value"]["value"] = "70"
    state["input:as_of"]["value"]["selected_date"] = "2026-02-31"
    state["input:period:end"]["value"]["selected_date"] = None
    resp = submit(h, view, state)
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"input:top_n", "input:as_of", "input:period:end"}
    assert "10" in answer["errors"]["input:top_n"]
    h.advance(1)
    assert creates(h) == []
    assert cards(h) == []


def test_tampered_private_metadata_is_rejected(harness: Harness) -> None:
    h = harness
    h.command(f"run {SALES_NOTEBOOK_ID}")
    view = opened_form(h)
    mac, _, body = view.private_metadata.partition(".")
    other_channel = f"{mac}.{body.replace(CHANNEL, 'C0SECRET')}"
    forged_key = sign_request(read_request(view.private_metadata, _key(h)), b"guess")
    someone_else = view.private_metadata  # valid, but submitted by another user
    for metadata, user in ((other_channel, "U0ALICE"), (forged_key, "U0ALICE"), ("{}", "U0ALICE")):
        answer = submit(h, view, unchanged_state(view), metadata=metadata, user=user).json()
        assert answer["response_action"] == "update"
        assert "could not be checked" in json.dumps(answer["view"])
    answer = submit(h, view, unchanged_state(view), metadata=someone_else, user="U0BOB").json()
    assert answer["response_action"] == "update"
    h.advance(1)
    assert creates(h) == []
    assert h.slack.all_messages("C0SECRET") == []


def test_expired_trigger_falls_back_to_an_ephemeral_with_buttons(harness: Harness) -> None:
    h = harness
    h.slack.inject("views.open", error="expired_trigger_id")
    h.command(f"run {SALES_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.response_url_posts) == 1)
    post = h.slack.response_url_posts[0]
    text = json.dumps(post.payload)
    assert "within 3 seconds" in text
    assert f"/deepnote run {SALES_NOTEBOOK_ID} report_title=" in text
    assert creates(h) == []
    as_message = last_ephemeral_as_message(h)
    click(h, as_message, "open_run_form", ephemeral=True)
    view = opened_form(h)
    submit(h, view, unchanged_state(view))
    wait_cards(h, 1)
    click(h, as_message, "run_now", ephemeral=True)
    wait_cards(h, 2)
    assert "inputs" not in creates(h)[1].body
    assert h.slack.violations == []


def _key(h: Harness) -> bytes:
    config = h.bot.services.config
    return form_key(config.slack_signing_secret or config.slack_bot_token)


def test_the_form_is_not_offered_where_the_notebook_may_not_run(bots: Bots) -> None:
    h = bots.start(NOTEBOOK_ACCESS=f"{SALES_NOTEBOOK_ID}=C0FINANCE")
    h.command(f"run {SALES_NOTEBOOK_ID}")
    h.slack.wait_for(lambda s: len(s.response_url_posts) == 1)
    refusal = json.dumps(h.slack.response_url_posts[0].payload)
    assert "may not be run from this channel" in refusal
    assert h.slack.views == []
    h.command(f"run {SALES_NOTEBOOK_ID}", channel_id="C0FINANCE")
    view = opened_form(h)
    forged = sign_request(
        replace(read_request(view.private_metadata, _key(h)), channel_id=CHANNEL), _key(h)
    )
    answer = submit(h, view, unchanged_state(view), metadata=forged).json()
    assert answer["response_action"] == "update"
    assert "may not be run" in json.dumps(answer["view"])
    submit(h, view, unchanged_state(view))
    wait_cards(h, 1, channel="C0FINANCE")
    assert cards(h) == []
