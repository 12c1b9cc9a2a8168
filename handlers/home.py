"""The App Home tab: the viewer's recent runs and their schedules, with buttons.

Published with views.publish when the viewer opens the tab (`app_home_opened`) and again
after a button on it did something, with a line saying what happened. Within 100 blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt import Ack, App

from bot.errors import SlackError
from bot.schedules.rules import words
from bot.services import Services
from bot.slack.messages.schedules import alert_summary, edit_button, format_slot
from bot.slack.messages.status import is_finished, status_emoji
from bot.text.mrkdwn import code, escape, link, slack_date, truncate
from handlers import errors
from handlers.payloads import action_value, viewer
from handlers.schedule_commands import change_reply
from storage.records import RunRecord
from storage.schedules import ScheduleRecord
from storage.watches import WatchRecord, recent_statuses

log = logging.getLogger(__name__)

VIEW_BLOCKS = 100
MAX_RUNS = 15
MAX_SCHEDULES = 30
MAX_WATCHES = 10
LAST_RUNS = 5
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
    alert = alert_summary(schedule)
    if alert is not None:
        state += f"\n{alert}"
    return f"{head}\n{state}"


def last_runs(statuses: Sequence[str]) -> str:
    """A schedule's or watch's latest runs, newest first, as emoji and a count.

    >>> last_runs(["success", "error", "success"])
    'Last runs: ✅ ❌ ✅ (2 of 3 succeeded)'
    """
    if not statuses:
        return "Last runs: none yet"
    emoji = " ".join(status_emoji(s) for s in statuses)
    ok = sum(1 for s in statuses if s == "success")
    return f"Last runs: {emoji} ({ok} of {len(statuses)} succeeded)"


def watch_line(watch: WatchRecord, statuses: Sequence[str]) -> str:
    """One watch on the Home tab: id, notebook, channel, state and its last runs."""
    name = escape(truncate(watch.notebook_name or watch.notebook_id, 100))
    head = (
        f"{code(str(watch.id))} *{name}* · in <#{watch.channel_id}> · notify {code(watch.notify)}"
    )
    if watch.paused:
        why = f" ({escape(truncate(watch.paused_reason, 200))})" if watch.paused_reason else ""
        state = f"⏸️ Paused{why}"
    else:
        state = "👀 Watching"
    alert = alert_summary(watch)
    tail = f"\n{alert}" if alert is not None else ""
    return f"{head}\n{state} · {last_runs(statuses)}{tail}"


def _watch_blocks(
    watches: Sequence[WatchRecord], statuses: Mapping[tuple[str, int], Sequence[str]], room: int
) -> list[dict[str, Any]]:
    """The Home tab's watches section, in at most `room` blocks."""
    blocks = [{"type": "divider"}, _section("*Your watches*")]
    if not watches:
        blocks.append(_context("No watches. Watch a notebook in a channel with `/deepnote watch`."))
        return blocks[:room]
    shown = max(0, min(MAX_WATCHES, room - 3))
    for watch in watches[:shown]:
        blocks.append(_section(watch_line(watch, statuses.get(("watch", watch.id), ()))))
    if len(watches) > shown:
        blocks.append(_context(f"…and {len(watches) - shown} more: see `/deepnote watches`."))
    return blocks[:room]


def home_view(
    runs: Sequence[RunRecord],
    schedules: Sequence[tuple[ScheduleRecord, str]],
    *,
    notice: str | None = None,
    watches: Sequence[WatchRecord] = (),
    statuses: Mapping[tuple[str, int], Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The Home tab: `runs` newest first, `schedules` with their timing in words, `watches`;
    `statuses` are the latest runs' statuses of each schedule and watch (see `last_runs`)."""
    statuses = statuses or {}
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
    # Room kept for the watches section: a divider, a title, its watches and a "more" line.
    watch_room = 3 + min(MAX_WATCHES, len(watches))
    room = (VIEW_BLOCKS - len(blocks) - 1 - watch_room) // 2
    for schedule, when in schedules[: min(MAX_SCHEDULES, room)]:
        sid = str(schedule.id)
        line = schedule_line(schedule, when)
        if ("schedule", schedule.id) in statuses:
            line += f" · {last_runs(statuses[('schedule', schedule.id)])}"
        toggle = (
            _button("Resume", HOME_RESUME, sid)
            if schedule.paused
            else _button("Pause", HOME_PAUSE, sid)
        )
        blocks.append(_section(line))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"schedule:{sid}",
                "elements": [
                    _button("Run now", HOME_TRIGGER, sid, "primary"),
                    toggle,
                    edit_button(schedule),
                ],
            }
        )
    shown = min(MAX_SCHEDULES, room)
    if len(schedules) > shown:
        blocks.append(_context(f"…and {len(schedules) - shown} more: see `/deepnote schedules`."))
    blocks += _watch_blocks(watches, statuses, VIEW_BLOCKS - len(blocks))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def publish_home(
    services: Services, user_id: str, team_id: str, *, notice: str | None = None
) -> None:
    """Build and publish one person's Home tab."""
    runs = [r for r in services.store.recent_for_user(user_id, limit=MAX_RUNS * 2)]
    runs = [r for r in runs if not team_id or r.team_id == team_id][:MAX_RUNS]
    owned = services.schedules.store.owned_by(team_id, user_id, limit=MAX_SCHEDULES + 1)
    schedules = [(s, words(s)) for s in owned]
    watches = services.watches.store.owned_by(team_id, user_id, limit=MAX_WATCHES + 1)
    # From the bot's own records, in one query: opening the tab costs no Deepnote request.
    statuses = recent_statuses(
        services.db,
        schedule_ids=[s.id for s in owned],
        watch_ids=[w.id for w in watches],
        per_item=LAST_RUNS,
    )
    view = home_view(runs, schedules, notice=notice, watches=watches, statuses=statuses)
    services.slack.publish_view(user_id, view)


def is_home_click(body: Mapping[str, Any]) -> bool:
    """True when a block action came from the Home tab."""
    view = body.get("view")
    return isinstance(view, Mapping) and view.get("type") == "home"


# What a schedule button did, for the notice when nothing else says it.
_DONE = {HOME_TRIGGER: "Started", HOME_PAUSE: "Paused", HOME_RESUME: "Resumed"}


class HomeTab:
    """The Home tab's listeners: publish it when opened, and its schedule buttons."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def on_home_opened(self, ack: Ack, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Acknowledge, and queue publishing the viewer's Home tab."""
        ack()
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user") or "")
        team_id = str(body.get("team_id") or "")
        self.services.background.submit("home", self.publish, user_id, team_id)

    def publish(self, user_id: str, team_id: str, notice: str | None = None) -> None:
        """Publish the Home tab (best effort: Slack may refuse)."""
        try:
            publish_home(self.services, user_id, team_id, notice=notice)
        except SlackError:
            log.warning("could not publish the Home tab", extra={"event": "home_failed"})

    def on_schedule_button(self, ack: Ack, action: dict[str, Any], body: dict[str, Any]) -> None:
        """Acknowledge a schedule button, and queue what it asks."""
        ack()
        action_id = str(action.get("action_id") or "")
        self.services.background.submit(action_id, self.schedule_action, action_id, body)

    def schedule_action(self, action_id: str, body: dict[str, Any]) -> None:
        """Run now, pause or resume a schedule, then publish the tab saying what happened."""
        who = viewer(body)
        raw = action_value(body)
        act = {
            HOME_TRIGGER: self.services.schedules.trigger,
            HOME_PAUSE: self.services.schedules.pause,
            HOME_RESUME: self.services.schedules.resume,
        }[action_id]
        try:
            msg = change_reply(act(who, raw), who)
            done = f"{_DONE[action_id]} schedule {code(raw, limit=20)}."
            notice = f"✔️ {msg.text if msg is not None else done}"
        except Exception as exc:
            errors.report(exc, "home action failed", event="home_action_error")
            notice = errors.warning(exc)
        self.publish(who.user_id, who.team_id, notice)


def register(app: App, services: Services) -> None:
    """Attach the Home tab listener and its schedule buttons."""
    errors.install(app)
    tab = HomeTab(services)
    app.event("app_home_opened")(tab.on_home_opened)
    for action_id in _DONE:
        app.action(action_id)(tab.on_schedule_button)
