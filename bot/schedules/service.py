"""Recurring runs: create and change schedules, fire them when due, follow up on their runs.

The schedules table is the source of truth; APScheduler only drives `BotApp.tick`, which
calls `ScheduleService.tick` under the poller lease. Firing a slot is:
claim it (compare-and-set on `next_fire_at`) → check the stored inputs against the notebook
→ `RunService.start` (quiet unless `--notify always`). When the run ends, `on_finish`
records the result, decides whether a quiet run is announced and queues notes (back to
normal, paused after failures) that are posted once the run's own messages are out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.conditions import QUIET, Evaluation, Facts, evaluate_text
from bot.deepnote.client import DeepnoteClient
from bot.deepnote.condition_names import check_condition
from bot.deepnote.inputs import validate_inputs
from bot.deepnote.models import InputValue, Notebook
from bot.deepnote.output_names import check_post_outputs
from bot.errors import DeepnoteError, DeepnoteNotFound, NotebookNotFound, SlackError, UserError
from bot.runs.service import Requester, RunService
from bot.schedules.describe import describe
from bot.schedules.edit import NOT_CHANGED as NOT_CHANGED  # the handlers' refusals say it too
from bot.schedules.edit import EditResult, ScheduleEdit, changes, checked_condition, edited, retimed
from bot.schedules.firing import next_time, next_times
from bot.schedules.recurrence import Recurrence
from bot.schedules.rules import (
    AlertDecision,
    alert_decision,
    local_today,
    parse_schedule_id,
    plan_slots,
    should_announce,
    who_may_change,
    words,
    zone_source,
)
from bot.schedules.when import parse_when
from bot.schedules.zones import resolve_timezone
from bot.slack.gateway import SlackGateway, advice
from bot.slack.messages.blocks import Message
from bot.slack.messages.schedules import (
    schedule_auto_paused,
    schedule_back_to_normal,
    schedule_created,
    schedule_deleted,
    schedule_edited,
    schedule_not_started,
    schedule_paused,
    schedule_resumed,
    schedule_skipped,
)
from bot.slack.messages.status import TRIGGER_NOW
from bot.text.mrkdwn import code, escape, user_mention
from storage.records import CREATE_FAILED, RunOptions, RunRecord
from storage.runs import RunStore
from storage.schedules import SUCCESS, Note, Outcome, ScheduleRecord, ScheduleStore

log = logging.getLogger(__name__)

PAUSE_AFTER_FAILURES = 3
"""A schedule pauses itself after this many failed runs in a row."""
NOTE_ATTEMPTS = 5
TRIGGER_SCHEDULE = "schedule"
NOT_CREATED = "No schedule was created."


# --- results ----------------------------------------------------------------------------------

PAUSE, RESUME, DELETE, TRIGGER = "pause", "resume", "delete", "trigger"


@dataclass(frozen=True)
class ScheduleChange:
    """What pausing, resuming, deleting or triggering a schedule did, for the reply."""

    action: str
    """`PAUSE`, `RESUME`, `DELETE` or `TRIGGER`."""
    schedule: ScheduleRecord
    """The schedule as it is now (as it was, when deleted)."""
    actor: str
    """The user who asked."""
    changed: bool = True
    """False when there was nothing to do (pausing a paused schedule, resuming a running one)."""
    announced: bool = True
    """False when the change could not be posted in the schedule's channel."""


def change_message(change: ScheduleChange) -> Message:
    """The channel's announcement of a pause, resume or delete."""
    schedule, actor = change.schedule, change.actor
    render = {
        PAUSE: schedule_paused,
        RESUME: schedule_resumed,
        DELETE: schedule_deleted,
    }[change.action]
    return render(schedule, actor=actor, words=words(schedule))


# --- the service ------------------------------------------------------------------------------


@dataclass(kw_only=True, eq=False)
class ScheduleService:
    """Creates, changes and fires schedules; the one place that knows their rules."""

    store: ScheduleStore
    runs: RunService
    deepnote: DeepnoteClient
    slack: SlackGateway
    clock: Clock
    grace_seconds: float
    admins: tuple[str, ...] = ()

    # -- creating ---------------------------------------------------------------------------

    def create(
        self,
        who: Requester,
        notebook: Notebook,
        *,
        when: str,
        inputs: Sequence[tuple[str, str]],
        tz: str | None,
        notify: str,
        post_outputs: str | None,
        notify_if: str | None = None,
    ) -> ScheduleRecord:
        """Check everything, store the schedule and announce it in the channel.

        Nothing is stored when the schedule, the zone or an input is wrong, or when the
        bot cannot post in the channel (its runs could not be posted either).
        """
        rec = parse_when(when)
        user_tz = None if tz is not None else self.slack.user_timezone(who.user_id)
        zone, zone_name = resolve_timezone(tz, user_tz=user_tz)
        source = zone_source(tz, user_tz, zone_name)
        now = self.clock.now()
        self.runs.access.check_notebook(who.channel_id, notebook.id, notebook.name)
        validate_inputs(notebook, inputs, today=local_today(now, zone_name), refused=NOT_CREATED)
        notify_if = self._check_outputs(notebook, post_outputs, notify_if)
        upcoming = next_times(rec, zone, now, 3)
        schedule = self.store.insert(
            ScheduleRecord(
                id=0,
                team_id=who.team_id,
                channel_id=who.channel_id,
                owner_id=who.user_id,
                notebook_id=notebook.id,
                notebook_name=notebook.name,
                inputs=dict(inputs),
                expression=rec.expression,
                tz=zone_name,
                notify=notify,
                post_outputs=post_outputs,
                notify_if=notify_if,
                next_fire_at=upcoming[0],
                created_at=now,
            )
        )
        msg = schedule_created(schedule, words=describe(rec), tz_source=source, next_runs=upcoming)
        try:
            self.runs.pacer.wait(who.channel_id)
            self.slack.post(who.channel_id, msg.text, msg.blocks)
        except SlackError as exc:
            self.store.delete(schedule.id)
            raise UserError(
                f"Nothing was scheduled: Slack refused the bot's post in this channel "
                f"({exc.message}), so it could not post the runs either.",
                hint=advice(exc),
            ) from None
        self._created(who, schedule)
        return schedule

    def _created(self, who: Requester, schedule: ScheduleRecord) -> None:
        """Log and audit a new schedule."""
        log.info(
            "schedule created",
            extra={"event": "schedule_created", "schedule": schedule.id, "channel": who.channel_id},
        )
        details: dict[str, Any] = {
            "when": schedule.expression,
            "tz": schedule.tz,
            "notify": schedule.notify,
        }
        if schedule.notify_if is not None:
            details["notify_if"] = schedule.notify_if
        self._audit(who, "schedule", schedule, **details)

    def _check_outputs(
        self, notebook: Notebook, post_outputs: str | None, notify_if: str | None
    ) -> str | None:
        """Refuse output names the notebook lacks; the condition in its canonical spelling."""
        read = self.deepnote.get_block
        check_post_outputs(notebook, post_outputs, read_block=read, refused=NOT_CREATED)
        if notify_if is None:
            return None
        return check_condition(notebook, notify_if, read_block=read, refused=NOT_CREATED)

    def _audit(self, who: Requester, action: str, schedule: ScheduleRecord, **details: Any) -> None:
        """Write a change of a schedule to the audit log (from a command or a Home button)."""
        self.runs.audit.record(
            at=self.clock.now(),
            user_id=who.user_id,
            action=action,
            target=f"schedule {schedule.id}: {schedule.notebook_name} ({schedule.notebook_id})",
            channel_id=who.channel_id,
            details={"schedule": schedule.id, "schedule_channel": schedule.channel_id, **details},
        )

    # -- looking up and changing ------------------------------------------------------------

    def listing(self, who: Requester) -> list[tuple[ScheduleRecord, str]]:
        """The channel's schedules, each with its timing in words."""
        return [(s, words(s)) for s in self.store.in_channel(who.team_id, who.channel_id)]

    def find(self, who: Requester, raw_id: str) -> ScheduleRecord:
        """The schedule a user named, or a UserError saying there is none."""
        id_ = parse_schedule_id(raw_id)
        schedule = self.store.get(id_) if id_ is not None else None
        if schedule is None or schedule.team_id != who.team_id:
            raise UserError(
                f"There is no schedule {code(raw_id, limit=40)}.",
                hint="`/deepnote schedules` lists the schedules of a channel with their ids.",
            )
        return schedule

    def editable(self, who: Requester, raw_id: str, action: str) -> ScheduleRecord:
        """The schedule, when `who` is its owner or a bot admin; else a refusal naming who is."""
        schedule = self.find(who, raw_id)
        if who.user_id == schedule.owner_id or who.user_id in self.admins:
            return schedule
        sid = code(str(schedule.id))
        who_can = who_may_change(schedule.owner_id, self.admins)
        raise UserError(
            f"You cannot {action} schedule {sid}: only {who_can} can.",
            hint="Ask them, or create your own schedule with `/deepnote schedule`.",
        )

    def pause(self, who: Requester, raw_id: str) -> ScheduleChange:
        """Pause a schedule: it does not fire until resumed."""
        schedule = self.editable(who, raw_id, "pause")
        if schedule.paused:
            return ScheduleChange(PAUSE, schedule, who.user_id, changed=False)
        reason = f"paused by {user_mention(who.user_id)}"
        updated = self.store.set_paused(schedule.id, paused=True, reason=reason, next_fire_at=None)
        assert updated is not None
        self._audit(who, "pause", schedule)
        return self._announce(ScheduleChange(PAUSE, updated, who.user_id))

    def resume(self, who: Requester, raw_id: str) -> ScheduleChange:
        """Resume a schedule from its next slot after now (missed slots are not made up)."""
        schedule = self.editable(who, raw_id, "resume")
        if not schedule.paused:
            return ScheduleChange(RESUME, schedule, who.user_id, changed=False)
        rec, zone = _timing(schedule)
        following = next_time(rec, zone, self.clock.now())
        updated = self.store.set_paused(
            schedule.id, paused=False, reason=None, next_fire_at=following
        )
        assert updated is not None
        self._audit(who, "resume", schedule)
        return self._announce(ScheduleChange(RESUME, updated, who.user_id))

    def delete(self, who: Requester, raw_id: str) -> ScheduleChange:
        """Delete a schedule; it stops at once (a run already started goes on)."""
        schedule = self.editable(who, raw_id, "delete")
        self.store.delete(schedule.id)
        log.info("schedule deleted", extra={"event": "schedule_deleted", "schedule": schedule.id})
        self._audit(who, "unschedule", schedule)
        return self._announce(ScheduleChange(DELETE, schedule, who.user_id))

    def trigger(self, who: Requester, raw_id: str) -> ScheduleChange:
        """Run the schedule's notebook once now, with its inputs, in its channel (where its
        card is the announcement)."""
        schedule = self.editable(who, raw_id, "trigger")
        notebook, inputs = self._prepare(schedule, self.clock.now())
        self.runs.start(
            Requester(
                user_id=who.user_id,
                team_id=schedule.team_id,
                channel_id=schedule.channel_id,
                trigger=TRIGGER_NOW,
                schedule_id=str(schedule.id),
                # Keyed by the command: after a restart its run is found, never started twice.
                intent_id=who.intent_id,
            ),
            notebook,
            inputs,
            RunOptions(post_outputs=schedule.post_outputs, notify_if=schedule.notify_if),
        )
        return ScheduleChange(TRIGGER, schedule, who.user_id)

    def edit(
        self, who: Requester, raw_id: str, notebook: Notebook, edit: ScheduleEdit
    ) -> EditResult:
        """Change the fields `edit` names, checked as `create` checks them, and announce the
        change with the next three runs. Nothing is stored when anything is wrong.

        A run already started keeps the settings it started with; the next slot uses the new
        ones (firing reads the stored schedule).
        """
        schedule = self.editable(who, raw_id, "edit")
        rec = parse_when(edit.when if edit.when is not None else schedule.expression)
        zone, zone_name = resolve_timezone(edit.tz or schedule.tz, user_tz=None)
        now = self.clock.now()
        self.runs.access.check_notebook(schedule.channel_id, notebook.id, notebook.name)
        after = edited(schedule, edit, expression=rec.expression, tz=zone_name)
        today = local_today(now, zone_name)
        validate_inputs(notebook, list(after.inputs.items()), today=today, refused=NOT_CHANGED)
        if after.post_outputs != schedule.post_outputs:
            check_post_outputs(
                notebook,
                after.post_outputs,
                read_block=self.deepnote.get_block,
                refused=NOT_CHANGED,
            )
        after = checked_condition(notebook, schedule, after, read_block=self.deepnote.get_block)
        found = changes(schedule, after)
        upcoming = tuple(next_times(rec, zone, now, 3))
        if not found:
            return EditResult(schedule, schedule, (), upcoming, who.user_id)
        stored = self.store.update(
            after, next_fire_at=upcoming[0] if retimed(schedule, after) else None, now=now
        )
        if stored is None:
            raise UserError(f"Schedule {code(str(schedule.id))} was deleted meanwhile.")
        before, after = stored
        log.info("schedule edited", extra={"event": "schedule_edited", "schedule": schedule.id})
        self._audit(who, "edit", after, changes=[[c.field, c.old, c.new] for c in found])
        result = EditResult(before, after, found, upcoming, who.user_id)
        msg = schedule_edited(
            after, actor=who.user_id, changes=found, words=words(after), next_runs=upcoming
        )
        try:
            self.runs.pacer.wait(after.channel_id)
            self.slack.post(after.channel_id, msg.text, msg.blocks)
        except SlackError:
            return replace(result, announced=False)
        return result

    def _announce(self, change: ScheduleChange) -> ScheduleChange:
        """Post a change in the schedule's channel; `announced` is False when that failed."""
        schedule = change.schedule
        msg = change_message(change)
        try:
            self.runs.pacer.wait(schedule.channel_id)
            self.slack.post(schedule.channel_id, msg.text, msg.blocks)
        except SlackError:
            return replace(change, announced=False)
        return change

    def _prepare(
        self, schedule: ScheduleRecord, now: datetime
    ) -> tuple[Notebook, dict[str, InputValue]]:
        """The notebook as it is now and the stored inputs checked against it."""
        try:
            notebook = self.deepnote.get_notebook(schedule.notebook_id)
        except DeepnoteNotFound:
            raise NotebookNotFound(schedule.notebook_id) from None
        # Checked here too, so a schedule refused by a newer rule counts as a failure.
        self.runs.access.check_notebook(schedule.channel_id, notebook.id, notebook.name)
        raw = list(schedule.inputs.items())
        return notebook, validate_inputs(notebook, raw, today=local_today(now, schedule.tz))

    # -- background work --------------------------------------------------------------------

    def tick(self) -> None:
        """Fire every due schedule, then post the notes that are ready."""
        now = self.clock.now()
        for schedule in self.store.due(now):
            try:
                self.fire(schedule, now)
            except Exception:
                # One broken schedule must not keep the others from firing.
                log.exception(
                    "schedule firing failed",
                    extra={"event": "schedule_error", "schedule": schedule.id},
                )
        self.deliver_notes()

    def fire(self, schedule: ScheduleRecord, now: datetime) -> bool:
        """Claim the schedule's due slot and start its run; False when nothing was started."""
        expected = schedule.next_fire_at
        if expected is None or schedule.paused or expected > now:
            return False
        rec, zone = _timing(schedule)
        plan = plan_slots(rec, zone, expected=expected, now=now, grace_seconds=self.grace_seconds)
        # The claim comes first: a crash after it loses the slot, never runs it twice.
        if not self.store.claim(schedule.id, expected=expected, next_fire_at=plan.next_fire_at):
            return False
        claimed = replace(schedule, next_fire_at=plan.next_fire_at)
        if plan.skipped:
            assert plan.skipped_first is not None
            assert plan.skipped_last is not None
            msg = schedule_skipped(
                claimed,
                first=plan.skipped_first,
                last=plan.skipped_last,
                count=plan.skipped,
                late_seconds=(now - plan.skipped_last).total_seconds(),
                grace_seconds=self.grace_seconds,
                running=plan.run,
            )
            self.store.add_note(_note(claimed, msg), now=now)
            self.deliver_notes()
            log.info(
                "missed slots skipped",
                extra={"event": "schedule_skipped", "schedule": schedule.id, "n": plan.skipped},
            )
        if plan.run is None:
            return False
        self._start(claimed, now)
        return True

    def _start(self, schedule: ScheduleRecord, now: datetime) -> None:
        try:
            notebook, inputs = self._prepare(schedule, now)
        except UserError as exc:
            self._not_started(schedule, exc.user_message, now)
            return
        except DeepnoteError as exc:
            # Deepnote's words are not ours: shown as text, never as markup.
            self._not_started(schedule, exc.render(escape), now)
            return
        who = Requester(
            user_id=schedule.owner_id,
            team_id=schedule.team_id,
            channel_id=schedule.channel_id,
            trigger=TRIGGER_SCHEDULE,
            schedule_id=str(schedule.id),
        )
        try:
            self.runs.start(
                who,
                notebook,
                inputs,
                RunOptions(post_outputs=schedule.post_outputs, notify_if=schedule.notify_if),
                # An alert's runs are posted by its condition, decided when each run ends.
                quiet=schedule.notify != "always" or schedule.notify_if is not None,
            )
        except UserError as exc:
            # The run is stored as create_failed; on_finish counts it and says so.
            log.info(
                "scheduled run not started",
                extra={"event": "schedule_start_failed", "schedule": schedule.id},
            )
            log.debug("reason: %s", exc.message)
            return
        log.info("schedule fired", extra={"event": "schedule_fired", "schedule": schedule.id})

    def _not_started(self, schedule: ScheduleRecord, reason: str, now: datetime) -> None:
        """The notebook or its inputs refused the stored inputs: a failure, said in the channel."""
        quiet = schedule.notify != "always"

        def notes(outcome: Outcome) -> list[Note]:
            found: list[Note] = []
            announce = not quiet or should_announce(
                schedule.notify, success=False, previous_status=outcome.previous_status
            )
            if announce:
                found.append(_note(schedule, schedule_not_started(schedule, reason=reason)))
            found += self._pause_notes(outcome, after_run_id=None)
            return found

        self.store.record_outcome(
            schedule.id,
            run_id=None,
            status=CREATE_FAILED,
            finished_at=now,
            pause_after=PAUSE_AFTER_FAILURES,
            pause_reason=_auto_pause_reason(),
            notes=notes,
        )
        self.deliver_notes()

    def _pause_notes(self, outcome: Outcome, *, after_run_id: str | None) -> list[Note]:
        if not outcome.auto_paused:
            return []
        schedule = outcome.schedule
        msg = schedule_auto_paused(schedule, failures=PAUSE_AFTER_FAILURES, words=words(schedule))
        log.info(
            "schedule paused itself",
            extra={"event": "schedule_auto_paused", "schedule": schedule.id},
        )
        return [_note(schedule, msg, after_run_id=after_run_id)]

    def on_finish(self, run: RunRecord) -> bool:
        """Record a scheduled run's result; True when a quiet run should be announced."""
        success = run.status == SUCCESS
        id_ = parse_schedule_id(run.schedule_id or "")
        if id_ is None or run.trigger not in (TRIGGER_SCHEDULE, TRIGGER_NOW):
            return True
        decision: dict[str, Any] = {"announce": not success}  # a deleted schedule: failures only
        evaluation = run_evaluation(self.runs.store, run)

        def notes(outcome: Outcome) -> list[Note]:
            schedule = outcome.schedule
            # A run started before an edit of `--notify` is announced by the setting it ran under.
            notify = schedule.notify_for(run.created_at)
            # A run is decided by the condition it started with, even if an edit changed it.
            if evaluation is not None:
                alert = alert_decision(notify, evaluation.result, outcome.previous_alert)
                decision["alert"] = alert
                announce = not run.quiet or alert.post
            else:
                announce = not run.quiet or should_announce(
                    notify, success=success, previous_status=outcome.previous_status
                )
            decision["announce"] = announce
            found: list[Note] = []
            if run.status == CREATE_FAILED and announce:
                reason = escape(run.error or "Deepnote did not start the run.")
                msg = schedule_not_started(schedule, reason=reason)
                found.append(_note(schedule, msg, after_run_id=run.id, in_thread=True))
                decision["announce"] = not run.quiet  # the note says it; no card for a quiet run
            previous = outcome.previous_status
            if success and announce and previous is not None and previous != SUCCESS:
                msg = schedule_back_to_normal(schedule, failures=max(1, outcome.previous_failures))
                found.append(_note(schedule, msg, after_run_id=run.id, in_thread=True))
            return found + self._pause_notes(outcome, after_run_id=run.id)

        outcome = self.store.record_outcome(
            id_,
            run_id=run.id,
            status=run.status,
            finished_at=run.completed_at or self.clock.now(),
            pause_after=PAUSE_AFTER_FAILURES,
            pause_reason=_auto_pause_reason(),
            notes=notes,
            alert=None if evaluation is None else evaluation.result,
            condition=None if evaluation is None else self.runs.store.notify_if(run.id),
        )
        alert = decision.get("alert")
        if evaluation is not None and isinstance(alert, AlertDecision):
            # The run's reply says which it is: alert started, still holding, back to normal.
            self.runs.store.set_alert(run.id, replace(evaluation, kind=alert.kind).to_json())
        if outcome is not None and outcome.duplicate:
            # Recorded in an earlier round that stopped before finishing: never hide a failure,
            # nor an alert run unless that round had decided it was a quiet one.
            if evaluation is not None:
                return not run.quiet or evaluation.kind != QUIET
            return not success
        return bool(decision["announce"])

    def deliver_notes(self) -> None:
        """Post every note that is ready; retry a few times when Slack may recover."""
        now = self.clock.now()
        for note, thread_ts in self.store.ready_notes(now):
            if not self.runs.pacer.allow(note.channel_id):
                continue  # the channel had a message this second: a later round posts it
            try:
                self.slack.post(note.channel_id, note.text, note.blocks, thread_ts=thread_ts)
            except SlackError as exc:
                if exc.retryable and note.attempts + 1 < NOTE_ATTEMPTS:
                    wait = exc.retry_after or 2.0 ** (note.attempts + 1)
                    self.store.note_retry(note.id, retry_at=now + timedelta(seconds=wait))
                    continue
                log.warning(
                    "giving up a schedule note",
                    extra={"event": "note_gave_up", "schedule": note.schedule_id, "code": exc.code},
                )
            self.store.note_done(note.id)


# --- helpers ----------------------------------------------------------------------------------


def run_evaluation(store: RunStore, run: RunRecord) -> Evaluation | None:
    """What the run's `--notify-if` condition said (a schedule's or a watch's); for a run that
    never reached Deepnote or was lost (no check stored), the condition checked on its status."""
    condition = store.notify_if(run.id)
    if condition is None:
        return None
    stored = store.alert(run.id)
    if stored is not None:
        return Evaluation.from_json(stored)
    return evaluate_text(condition, Facts(status=run.status))


def _timing(schedule: ScheduleRecord) -> tuple[Recurrence, ZoneInfo]:
    return parse_when(schedule.expression), ZoneInfo(schedule.tz)


def _auto_pause_reason() -> str:
    return f"paused itself after {PAUSE_AFTER_FAILURES} failed runs in a row"


def _note(
    schedule: ScheduleRecord,
    msg: Message,
    *,
    after_run_id: str | None = None,
    in_thread: bool = False,
) -> Note:
    return Note(
        schedule_id=schedule.id,
        channel_id=schedule.channel_id,
        text=msg.text,
        blocks=msg.blocks,
        after_run_id=after_run_id,
        in_thread=in_thread,
    )
