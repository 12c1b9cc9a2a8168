"""The App Home tab: the viewer's recent runs and their schedules, with buttons.

Published with views.publish when the viewer opens the tab (`app_home_opened`) and again
after a button on it did something, with a line saying what happened. Within 100 blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt import Ack, App

from bot.errors import SlackError, UpstreamError, UserError
from bot.runs.service import Requester
from bot.schedules.service import words
from bot.services import Services
from bot.slack.messages.schedules import format_slot
from bot.slack.messages.status import is_finished, status_emoji
from bot.text.mrkdwn import code, escape, link, slack_date, truncate
from storage.records import RunRecord
from storage.schedules import ScheduleRecord

log = logging.getLogger(__name__)

VIEW_BLOCKS = 100
MAX_RUNS = 15
MAX_SCHEDULES = 30
SECTION_CHARS = 3000

HOME_TRIGGER = "home_schedule_trigger"
HOME_PAUSE = "home_schedule_pause"
HOME_RESUME = "home_schedule_resume"
HOME_RERUN = "rerun"  # the card's own Re-run button, handled in `handlers.interactions`


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_CHARS)},
    }
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def run_line(run: RunRecord) -> str:
    """One run on the Home tab: status, notebook (linked), when, where, snapshot."""
    name = truncate(run.notebook_name or run.notebook_id, 100)
    parts = [
        f"{status_emoji(run.status)} *{link(run.notebook_url, name)}*",
        escape(run.status.replace("_", " ")),
        slack_date(run.created_at),
    ]
    if run.channel_id[:1] in ("C", "G"):
        parts.append(f"in <#{run.channel_id}>")
    if is_finished(run) and run.snapshot_url:
        parts.append(link(run.snapshot_url, "snapshot"))
    return " · ".join(parts)


def schedule_line(schedule: ScheduleRecord, when: str) -> str:
    """One schedule on the Home tab: id, notebook, timing, channel, state."""
    name = escape(truncate(schedule.notebook_name or schedule.notebook_id, 100))
    head = f"{code(str(schedule.id))} *{name}*: {when} · in <#{schedule.channel_id}>"
    if schedule.paused:
        state = "⏸️ Paused" + (
            f" ({escape(truncate(schedule.paused_reason, 200))})" if schedule.paused_reason else ""
        )
    elif schedule.next_fire_at is not None:
        state = f"🔁 Next: {format_slot(schedule.next_fire_at, schedule.tz)}"
    else:
        state = "🔁 Next: none"
    if schedule.last_status is not None:
        state += f" · Last: {status_emoji(schedule.last_status)} {escape(schedule.last_status)}"
    return f"{head}\n{state}"


def home_view(
    runs: Sequence[RunRecord],
    schedules: Sequence[tuple[ScheduleRecord, str]],
    *,
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab: `runs` newest first, `schedules` with their timing in words."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deepnote"}},
    ]
    if notice:
        blocks.append(_section(notice))
    blocks.append(_section("*Your recent runs*"))
    if not runs:
        blocks.append(
            _context("No runs yet. Start one in a channel with `/deepnote run <notebook>`.")
        )
    for run in runs[:MAX_RUNS]:
        blocks.append(_section(run_line(run), _button("Re-run", HOME_RERUN, run.id)))
    blocks.append({"type": "divider"})
    blocks.append(_section("*Your schedules*"))
    if not schedules:
        blocks.append(_context("No schedules. Create one in a channel with `/deepnote schedule`."))
    room = (VIEW_BLOCKS - len(blocks) - 1) // 2
    for schedule, when in schedules[: min(MAX_SCHEDULES, room)]:
        sid = str(schedule.id)
        toggle = (
            _button("Resume", HOME_RESUME, sid)
            if schedule.paused
            else _button("Pause", HOME_PAUSE, sid)
        )
        blocks.append(_section(schedule_line(schedule, when)))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"schedule:{sid}",
                "elements": [_button("Run now", HOME_TRIGGER, sid, "primary"), toggle],
            }
        )
    shown = min(MAX_SCHEDULES, room)
    if len(schedules) > shown:
        blocks.append(_context(f"…and {len(schedules) - shown} more: see `/deepnote schedules`."))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def _owned_schedules(services: Services, team_id: str, user_id: str) -> list[ScheduleRecord]:
    # The schedule store lists by channel only; its rows are looked up by id from here.
    rows = services.db.conn().query(
        "SELECT id FROM schedules WHERE team_id = ? AND owner_id = ? ORDER BY id LIMIT ?",
        (team_id, user_id, MAX_SCHEDULES + 1),
    )
    found = (services.schedules.store.get(int(r["id"])) for r in rows)
    return [s for s in found if s is not None]


def publish_home(
    services: Services, user_id: str, team_id: str, *, notice: str | None = None
) -> None:
    """Build and publish one person's Home tab."""
    runs = [r for r in services.store.recent_for_user(user_id, limit=MAX_RUNS * 2)]
    runs = [r for r in runs if not team_id or r.team_id == team_id][:MAX_RUNS]
    schedules = [(s, words(s)) for s in _owned_schedules(services, team_id, user_id)]
    services.slack.publish_view(user_id, home_view(runs, schedules, notice=notice))


def _viewer(body: Mapping[str, Any]) -> Requester:
    user = body.get("user")
    user_id = str(user.get("id") or "") if isinstance(user, Mapping) else ""
    team = user.get("team_id") if isinstance(user, Mapping) else None
    if not team:
        team_obj = body.get("team")
        team = team_obj.get("id") if isinstance(team_obj, Mapping) else None
    return Requester(user_id=user_id, team_id=str(team or ""), channel_id="", trigger="home")


def warning(exc: Exception) -> str:
    """The notice at the top of the Home tab when a button there failed."""
    if isinstance(exc, UserError | UpstreamError):
        return f":warning: {exc.user_message}"
    return ":warning: Something went wrong inside the bot; nothing was changed."


def is_home_click(body: Mapping[str, Any]) -> bool:
    """True when a block action came from the Home tab."""
    view = body.get("view")
    return isinstance(view, Mapping) and view.get("type") == "home"


def register(app: App, services: Services) -> None:
    """Attach the Home tab listener and its schedule buttons."""

    def publish(user_id: str, team_id: str) -> None:
        try:
            publish_home(services, user_id, team_id)
        except SlackError:
            log.warning("could not publish the Home tab", extra={"event": "home_failed"})

    def on_home_opened(ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        ack()
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user") or "")
        team_id = str(body.get("team_id") or "")
        services.background.submit("home", publish, user_id, team_id)

    app.event("app_home_opened")(on_home_opened)

    def schedule_action(action_id: str) -> Any:
        def work(body: dict[str, Any]) -> None:
            who = _viewer(body)
            actions = body.get("actions")
            first = actions[0] if isinstance(actions, list) and actions else {}
            raw = str(first.get("value") or "") if isinstance(first, Mapping) else ""
            done = {HOME_TRIGGER: "Started", HOME_PAUSE: "Paused", HOME_RESUME: "Resumed"}
            act = {
                HOME_TRIGGER: services.schedules.trigger,
                HOME_PAUSE: services.schedules.pause,
                HOME_RESUME: services.schedules.resume,
            }[action_id]
            try:
                msg = act(who, raw)
                notice = (
                    f"✔️ {msg.text}"
                    if msg is not None
                    else (f"✔️ {done[action_id]} schedule {code(raw, limit=20)}.")
                )
            except Exception as exc:
                if not isinstance(exc, UserError | UpstreamError):
                    log.exception("home action failed", extra={"event": "home_action_error"})
                notice = warning(exc)
            try:
                publish_home(services, who.user_id, who.team_id, notice=notice)
            except SlackError:
                log.warning("could not publish the Home tab", extra={"event": "home_failed"})

        def listener(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            services.background.submit(action_id, work, body)

        return listener

    for action_id in (HOME_TRIGGER, HOME_PAUSE, HOME_RESUME):
        app.action(action_id)(schedule_action(action_id))
