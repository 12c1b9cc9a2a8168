"""The Slack stand-in, driven by the real slack_sdk WebClient and a real Bolt app over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.clock import ManualClock
from bot.offline.slack_standin import (
    SLACK_LIMITS,
    UPLOAD_URL,
    Event,
    Limit,
    SlackStandIn,
    validate_blocks,
)

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def clocked(clock: ManualClock) -> Iterator[SlackStandIn]:
    with SlackStandIn(clock=clock) as standin:
        yield standin


def web(standin: SlackStandIn, token: str | None = None) -> WebClient:
    return WebClient(token=token or standin.bot_token, base_url=standin.api_url)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> tuple[str, int]:
    return str(excinfo.value.response["error"]), excinfo.value.response.status_code


# --------------------------------------------------------------------------- messages


def test_post_returns_increasing_ts_and_records_the_message(slack: SlackStandIn) -> None:
    client = web(slack)
    first = client.chat_postMessage(channel="C0GENERAL", text="one", blocks=[section("one")])
    second = client.chat_postMessage(channel="C0GENERAL", text="two")

    assert first["channel"] == "C0GENERAL"
    assert first["message"]["blocks"] == [section("one")]
    assert float(first["ts"]) < float(second["ts"])
    assert [m.text for m in slack.messages("C0GENERAL")] == ["one", "two"]
    [call, _] = slack.calls("chat.postMessage")
    assert (call.token, call.ok, call.http_status, call.channel) == (
        "xoxb-test",
        True,
        200,
        "C0GENERAL",
    )
    assert call.args["blocks"] == [section("one")]
    assert slack.violations == []


def test_update_edits_in_place_and_keeps_previous_versions(slack: SlackStandIn) -> None:
    client = web(slack)
    ts = client.chat_postMessage(channel="C1", text="Running", blocks=[section("Running")])["ts"]
    client.chat_update(channel="C1", ts=ts, text="Done", blocks=[section("Done")])
    client.chat_update(channel="C1", ts=ts, text="Done!")  # no blocks: the blocks stay

    [message] = slack.messages("C1")
    assert (message.ts, message.text, message.blocks) == (ts, "Done!", [section("Done")])
    assert [v.text for v in message.edits] == ["Running", "Done"]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert api_error(excinfo) == ("message_not_found", 200)


def test_thread_replies_and_broadcasts(slack: SlackStandIn) -> None:
    client = web(slack)
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)["ts"]
    client.chat_postMessage(channel="C1", text="reply to reply", thread_ts=reply)
    client.chat_postMessage(channel="C1", text="loud", thread_ts=parent, reply_broadcast=True)

    assert [m.text for m in slack.thread("C1", parent)] == ["reply", "reply to reply", "loud"]
    assert [m.text for m in slack.messages("C1")] == ["parent", "loud"]
    assert len(slack.all_messages("C1")) == 4


def test_ephemerals_need_a_user_and_are_kept_apart(slack: SlackStandIn) -> None:
    client = web(slack)
    answer = client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    assert answer["message_ts"]
    assert [e.text for e in slack.ephemerals("C1", user="U0ALICE")] == ["only you"]
    assert slack.ephemerals(user="U0BOB") == []
    assert slack.messages("C1") == []
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postEphemeral", json={"channel": "C1", "text": "x"})
    assert api_error(excinfo) == ("invalid_arguments", 200)


def test_a_user_id_as_channel_is_the_bots_dm(slack: SlackStandIn) -> None:
    answer = web(slack).chat_postMessage(channel="U0ALICE", text="psst")
    assert answer["channel"] == "D0ALICE"
    assert [m.text for m in slack.messages("U0ALICE")] == ["psst"]


def test_form_encoded_blocks_and_a_token_field_are_understood(slack: SlackStandIn) -> None:
    blocks = [section("from a form")]
    web(slack).api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)},
    )
    assert slack.messages("C1")[0].blocks == blocks
    answer = httpx.post(slack.api_url + "auth.test", data={"token": "xoxb-test"}).json()
    assert answer["user_id"] == "U0BOT"


def test_users_info_reports_time_zones_by_the_clock(
    clocked: SlackStandIn, clock: ManualClock
) -> None:
    clocked.set_user("U0CAROL", tz="Europe/Prague", name="Carol")
    client = web(clocked)
    user = client.users_info(user="U0CAROL")["user"]
    assert (user["tz"], user["tz_offset"], user["real_name"]) == ("Europe/Prague", 3600, "Carol")
    clock.set(datetime(2026, 7, 1, tzinfo=UTC))
    assert client.users_info(user="U0CAROL")["user"]["tz_offset"] == 7200
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U0NOBODY")
    assert api_error(excinfo) == ("user_not_found", 200)
    with pytest.raises(ValueError, match="Mars"):
        clocked.set_user("U0X", tz="Mars/Olympus")


def test_conversations_info_and_permalinks(slack: SlackStandIn) -> None:
    client = web(slack)
    slack.archive("C0OLD")
    assert client.conversations_info(channel="C0GENERAL")["channel"]["name"] == "general"
    assert client.conversations_info(channel="C0OLD")["channel"]["is_archived"] is True
    parent = client.chat_postMessage(channel="C1", text="p")["ts"]
    reply = client.chat_postMessage(channel="C1", text="r", thread_ts=parent)["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=reply)["permalink"]
    assert link.endswith(f"/archives/C1/p{reply.replace('.', '')}?thread_ts={parent}&cid=C1")


def test_unknown_method(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        web(slack).api_call("reactions.add", params={"name": "tada"})
    assert api_error(excinfo) == ("unknown_method", 200)


# --------------------------------------------------------------------------- views


MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Run"}, "blocks": [section("x")]}


def test_views_open_update_push_and_trigger_rules(
    clocked: SlackStandIn, clock: ManualClock
) -> None:
    client = web(clocked)
    trigger = clocked.new_trigger_id("U0ALICE")
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"]
    assert opened["root_view_id"] == opened["id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert api_error(excinfo) == ("exchanged_trigger_id", 200)

    changed = {**MODAL, "blocks": [section("y")]}
    client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert api_error(excinfo) == ("hash_conflict", 200)

    pushed = client.views_push(trigger_id=clocked.new_trigger_id("U0ALICE"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == opened["id"]
    [first, second] = clocked.views
    assert (first.user, first.blocks, len(first.versions)) == ("U0ALICE", [section("y")], 1)
    assert second.id == pushed["id"]

    late = clocked.new_trigger_id("U0ALICE")
    clock.advance(seconds=4)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=late, view=MODAL)
    assert api_error(excinfo) == ("expired_trigger_id", 200)


def test_views_publish_keeps_one_home_per_user(slack: SlackStandIn) -> None:
    client = web(slack)
    home = {"type": "home", "blocks": [section("v1")]}
    first = client.views_publish(user_id="U0ALICE", view=home)["view"]
    second = client.views_publish(user_id="U0ALICE", view={**home, "blocks": [section("v2")]})
    assert second["view"]["id"] == first["id"]
    current = slack.home("U0ALICE")
    assert current is not None
    assert current.blocks == [section("v2")]
    assert slack.home("U0BOB") is None
    assert slack.views == []  # Home tabs are not modals


def test_views_are_checked(slack: SlackStandIn) -> None:
    client = web(slack)
    too_many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    untitled = {"type": "modal", "blocks": []}
    for view in (too_many, untitled):
        with pytest.raises(SlackApiError) as excinfo:
            client.views_open(trigger_id="hand.made", view=view)
        assert api_error(excinfo) == ("invalid_blocks", 200)
    assert [v.method for v in slack.violations] == ["views.open", "views.open"]
    assert "no more than 100 items" in slack.violations[0].errors[0]


# --------------------------------------------------------------------------- files


def test_files_upload_v2_lands_in_the_thread(slack: SlackStandIn) -> None:
    client = web(slack)
    parent = client.chat_postMessage(channel="C0GENERAL", text="run finished")["ts"]
    answer = client.files_upload_v2(
        channel="C0GENERAL",
        thread_ts=parent,
        content=b"a,b\n1,2\n",
        filename="out.csv",
        title="Output",
        initial_comment="Here is the output",
    )
    [share] = slack.files("C0GENERAL")
    assert answer["file"]["id"] == share.file_id
    assert (share.content, share.title, share.thread_ts) == (b"a,b\n1,2\n", "Output", parent)
    assert share.initial_comment == "Here is the output"
    assert [c.method for c in slack.calls()][-3:] == [
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]


def test_uploads_accept_multipart_and_need_the_bytes_first(slack: SlackStandIn) -> None:
    client = web(slack)
    ticket = client.files_getUploadURLExternal(filename="a.txt", length=5)
    with pytest.raises(SlackApiError) as excinfo:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    assert api_error(excinfo) == ("file_not_found", 200)

    posted = httpx.post(ticket["upload_url"], files={"file": ("a.txt", b"hello")})
    assert posted.status_code == 200
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "A"}])
    [share] = slack.files()
    assert (share.content, share.channel) == (b"hello", None)
    assert httpx.post(slack.url + "/upload/F404", content=b"x").status_code == 404


# --------------------------------------------------------------------------- Block Kit


@pytest.mark.filterwarnings("ignore::UserWarning")  # slack_sdk warns about a missing text too
@pytest.mark.parametrize(
    ("text", "blocks", "error", "problem"),
    [
        ("t", [{"type": "no_such_block"}], "invalid_blocks", 'unknown block type "no_such_block"'),
        ("t", [section("x" * 3001)], "invalid_blocks", "/blocks/0/text"),
        ("t", [section("x")] * 51, "invalid_blocks", "no more than 50 items"),
        (None, [section("x")], "invalid_blocks", "non-empty text fallback"),
        ("t", [{"type": "actions", "elements": [button("b" * 76)]}], "invalid_blocks", "76"),
        ("t", [{**section("x"), "accessory": {"type": "widget"}}], "invalid_blocks", "widget"),
        ("t", [{"type": "section", "text": "bare string"}], "invalid_blocks", "text object"),
        (
            "t",
            [{**section("x"), "block_id": "a"}, {**section("y"), "block_id": "a"}],
            "invalid_blocks",
            "duplicate block_id",
        ),
        ("x" * 40_001, None, "msg_too_long", "40000"),
    ],
)
def test_block_kit_violations_are_rejected_and_recorded(
    slack: SlackStandIn,
    text: str | None,
    blocks: list[dict[str, Any]] | None,
    error: str,
    problem: str,
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        web(slack).chat_postMessage(channel="C1", text=text, blocks=blocks)
    assert api_error(excinfo) == (error, 200)
    assert any(problem in e for e in excinfo.value.response["errors"])
    [violation] = slack.violations
    assert violation.method == "chat.postMessage"
    assert violation.channel == "C1"
    assert any(problem in e for e in violation.errors)
    assert slack.messages("C1") == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([{"type": "divider"}], []),
        ([section("ok"), {"type": "actions", "elements": [button("Run")]}], []),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], ["/blocks/0"]),
        ([{"type": "actions", "elements": [button("a"), button("b")]}], ["duplicate action_id"]),
        ([{"type": "rich_text", "elements": []}], ["/blocks/0/elements"]),
        ("not a list", ["must be an array"]),
    ],
)
def test_validate_blocks_table(blocks: object, expected: list[str]) -> None:
    problems = validate_blocks(blocks)
    assert all(any(part in p for p in problems) for part in expected)
    assert bool(problems) == bool(expected)


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("arrange", "error", "status"),
    [
        (
            lambda s: s.inject("chat.postMessage", error="channel_not_found"),
            "channel_not_found",
            200,
        ),
        (lambda s: s.delete_channel("C1"), "channel_not_found", 200),
        (lambda s: s.kick("C1"), "not_in_channel", 200),
        (lambda s: s.archive("C1"), "is_archived", 200),
        (lambda s: s.revoke(), "token_revoked", 200),
        (lambda s: s.inject("chat.postMessage", status=500), "internal_error", 500),
        (lambda s: s.inject("*", status=503), "service_unavailable", 503),
    ],
)
def test_faults_reach_the_client(
    slack: SlackStandIn, arrange: Any, error: str, status: int
) -> None:
    arrange(slack)
    with pytest.raises(SlackApiError) as excinfo:
        web(slack).chat_postMessage(channel="C1", text="hi")
    assert api_error(excinfo) == (error, status)
    [call] = slack.calls()
    assert (call.ok, call.error, call.http_status) == (False, error, status)


def test_a_wrong_token_is_invalid_auth(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        web(slack, token="xoxb-wrong").auth_test()
    assert api_error(excinfo) == ("invalid_auth", 200)
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=slack.api_url).auth_test()
    assert api_error(excinfo) == ("invalid_auth", 200)


def test_429_carries_retry_after_and_the_sdk_handler_retries(slack: SlackStandIn) -> None:
    slack.inject("chat.postMessage", status=429, retry_after=1.5)
    with pytest.raises(SlackApiError) as excinfo:
        web(slack).chat_postMessage(channel="C1", text="hi")
    assert api_error(excinfo) == ("ratelimited", 429)
    assert excinfo.value.response.headers["Retry-After"] in ("2", ["2"])

    slack.inject("chat.postMessage", status=429, retry_after=0)  # keeps the sdk's sleep short
    client = web(slack)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert client.chat_postMessage(channel="C1", text="again")["ok"]
    assert [c.http_status for c in slack.calls("chat.postMessage")] == [429, 429, 200]


def test_faults_can_target_a_channel_repeat_and_delay(slack: SlackStandIn) -> None:
    client = web(slack)
    slack.inject("chat.postMessage", error="is_archived", channel="C2", times=2)
    slack.inject("auth.test", delay=0.05)
    client.chat_postMessage(channel="C1", text="unaffected")
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C2", text="x")
    client.chat_postMessage(channel="C2", text="third time")
    started = time.perf_counter()
    assert client.auth_test()["ok"]
    assert time.perf_counter() - started >= 0.05

    slack.inject("chat.update", error="cant_update_message", times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            client.chat_update(channel="C1", ts="1.1", text="x")
    slack.clear_faults()
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert api_error(excinfo) == ("message_not_found", 200)


def test_channel_rate_is_enforced_and_measured(clocked: SlackStandIn, clock: ManualClock) -> None:
    client = web(clocked)
    clocked.enforce_channel_rate(1.0)
    client.chat_postMessage(channel="C1", text="1")
    client.chat_postMessage(channel="C1", text="2 (burst)")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="3")
    assert api_error(excinfo) == ("ratelimited", 429)
    client.chat_postMessage(channel="C2", text="another channel")
    clock.advance(seconds=1)
    client.chat_postMessage(channel="C1", text="4")

    assert [m.text for m in clocked.messages("C1")] == ["1", "2 (burst)", "4"]
    assert clocked.max_calls_per_channel_per_second() == 3
    assert clocked.max_calls_per_channel_per_second("C2") == 1


def test_slack_limits_bound_posts_per_channel_with_a_burst(
    clocked: SlackStandIn, clock: ManualClock
) -> None:
    client = web(clocked)
    clocked.enforce_limits(SLACK_LIMITS)
    burst = SLACK_LIMITS["chat.postMessage"].burst
    for i in range(burst):
        client.chat_postMessage(channel="C1", text=f"burst {i}")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="one too many")
    assert api_error(excinfo) == ("ratelimited", 429)
    assert excinfo.value.response.headers["Retry-After"] == "1"
    client.chat_postMessage(channel="C2", text="another channel has its own bucket")
    clock.advance(seconds=1)
    client.chat_postMessage(channel="C1", text="a second later")
    assert [m.text for m in clocked.messages("C1")][-1] == "a second later"
    assert len(clocked.messages("C1")) == burst + 1
    assert [c.args["text"] for c in clocked.rate_limited_calls()] == ["one too many"]


def test_slack_limits_bound_edits_across_the_workspace(
    clocked: SlackStandIn, clock: ManualClock
) -> None:
    client = web(clocked)
    clocked.enforce_limits({"chat.update": Limit(1.0, 2)})  # a small tier, for a short test
    a = client.chat_postMessage(channel="C1", text="a")["ts"]
    b = client.chat_postMessage(channel="C2", text="b")["ts"]
    client.chat_update(channel="C1", ts=a, text="a1")
    client.chat_update(channel="C2", ts=b, text="b1")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts=a, text="a2")  # another channel, the same tier
    assert api_error(excinfo) == ("ratelimited", 429)
    clock.advance(seconds=1)
    client.chat_update(channel="C1", ts=a, text="a3")
    assert [m.text for m in clocked.messages("C1")] == ["a3"]
    clocked.enforce_limits(None)
    for i in range(5):
        client.chat_update(channel="C2", ts=b, text=f"b{i}")
    assert clocked.rate_limited_calls("chat.postMessage") == []


# --------------------------------------------------------------------------- response_url


def test_response_url_posts_become_ephemerals_and_messages(slack: SlackStandIn) -> None:
    url = slack.new_response_url(channel="C1", user="U0ALICE")
    hook = WebhookClient(url)
    assert hook.send(text="just you").status_code == 200
    assert hook.send(text="everyone", response_type="in_channel").status_code == 200
    assert [e.text for e in slack.ephemerals("C1", "U0ALICE")] == ["just you"]
    assert [m.text for m in slack.messages("C1")] == ["everyone"]
    assert [p.http_status for p in slack.response_url_posts] == [200, 200]


def test_response_url_replaces_and_deletes_the_original(slack: SlackStandIn) -> None:
    ts = web(slack).chat_postMessage(channel="C1", text="Run?")["ts"]
    hook = WebhookClient(slack.new_response_url(channel="C1", message_ts=ts))
    hook.send(text="Running", replace_original=True)
    message = slack.message("C1", ts)
    assert message is not None
    assert message.text == "Running"
    assert message.edits[0].text == "Run?"
    hook.send_dict({"delete_original": True})
    assert slack.messages("C1") == []


def test_response_url_works_five_times_within_thirty_minutes(
    clocked: SlackStandIn, clock: ManualClock
) -> None:
    hook = WebhookClient(clocked.new_response_url())
    assert [hook.send(text=str(i)).status_code for i in range(5)] == [200] * 5
    sixth = hook.send(text="6")
    assert (sixth.status_code, json.loads(sixth.body)["error"]) == (404, "used_url")

    late = WebhookClient(clocked.new_response_url())
    clock.advance(minutes=31)
    answer = late.send(text="too late")
    assert (answer.status_code, json.loads(answer.body)["error"]) == (404, "expired_url")
    assert len(clocked.ephemerals()) == 5


# --------------------------------------------------------------------------- waiting and events


def test_wait_for_wakes_on_background_calls(slack: SlackStandIn) -> None:
    client = web(slack)
    worker = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="bg"))
    worker.start()
    slack.wait_for(lambda s: len(s.messages("C1")) == 1, timeout=5)
    worker.join()


def test_concurrent_posts_get_unique_increasing_ts(slack: SlackStandIn) -> None:
    client = web(slack)

    def post_ten(n: int) -> None:
        for i in range(10):
            client.chat_postMessage(channel="C1", text=f"{n}-{i}")

    workers = [threading.Thread(target=post_ten, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stamps = [m.ts for m in slack.messages("C1")]
    assert len(set(stamps)) == 80
    assert stamps == sorted(stamps, key=lambda ts: tuple(map(int, ts.split("."))))
    assert len(slack.calls("chat.postMessage")) == 80


def test_wait_for_timeout_says_what_it_waited_for_and_what_happened(slack: SlackStandIn) -> None:
    web(slack).chat_postMessage(channel="C1", text="something else")
    with pytest.raises(AssertionError) as excinfo:
        slack.wait_for(lambda s: bool(s.messages("C0NEVER")), timeout=0.05)
    report = str(excinfo.value)
    assert "C0NEVER" in report
    assert "chat.postMessage C1 -> ok" in report
    assert "something else" in report


def test_subscribers_see_every_change_in_order(slack: SlackStandIn) -> None:
    seen: list[Event] = []
    unsubscribe = slack.subscribe(seen.append)
    client = web(slack)
    ts = client.chat_postMessage(channel="C1", text="a")["ts"]
    client.chat_update(channel="C1", ts=ts, text="b")
    client.chat_postEphemeral(channel="C1", user="U0ALICE", text="c")
    client.files_upload_v2(channel="C1", content="d", filename="d.txt")
    client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
    WebhookClient(slack.new_response_url(channel="C1")).send(text="e")
    unsubscribe()
    client.chat_postMessage(channel="C1", text="unseen")

    assert [(e.kind, e.text) for e in seen] == [
        ("message", "a"),
        ("message_changed", "b"),
        ("ephemeral", "c"),
        ("file", "d.txt"),
        ("view", "home"),
        ("response", "e"),
        ("ephemeral", "e"),
    ]
