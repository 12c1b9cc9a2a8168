"""What an alert says, as Slack shows it: the condition and the values in bold above the result,
untrusted text escaped; the schedules listing and Home tab show the alert's state; a run form
keeps the condition of the command that opened it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.conditions import Evaluation
from bot.slack.messages.alerts import alert_lines
from bot.slack.messages.results import run_result_reply
from bot.slack.run_form.request import FormRequest, read_request, sign_request
from handlers.home import schedule_line
from storage.records import RunOptions, TextResult
from storage.schedules import ScheduleRecord
from tests.conftest import run_record


def test_the_alert_comes_first_in_the_reply_with_the_values_in_bold() -> None:
    said = Evaluation("churn_rate > 5%", "holds", (("churn_rate", "5.2%"),), kind="started")
    reply = run_result_reply(
        run_record(status="success"), results=[TextResult("b", "Notes", "ok")], alert=said
    )
    first = reply.blocks[0]["text"]["text"]
    assert first.startswith(
        "🚨 *Alert:* `churn_rate &gt; 5%` holds: churn\u2060_\u2060rate is *5.2%*"
    )
    assert reply.text.startswith("Alert: churn\u2060_\u2060rate &gt; 5% · ")


def test_untrusted_names_and_values_are_escaped() -> None:
    said = Evaluation(
        '"<!channel>" == "x"',
        "unknown",
        (('"<!channel>"', "*<@U1>* <https://evil|click>"),),
        notes=("this run has no output named “<!here>”",),
        kind="unchecked",
    )
    text, short = alert_lines(said)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<@U1>" not in text
    assert "<https://evil" not in text
    assert "&lt;!here&gt;" in text
    assert short == "Could not check the condition"


def test_listing_and_home_show_the_alert_state() -> None:
    schedule = ScheduleRecord(
        1,
        "T",
        "C",
        "U",
        "nb",
        "KPI",
        "0 9 * * *",
        "UTC",
        "changes",
        datetime(2026, 1, 1, tzinfo=UTC),
        notify_if="churn_rate > 5%",
        alert_state="holds",
        alert_last="unknown",
    )
    line = schedule_line(schedule, "every day at 09:00")
    assert "🚨 *Alert* `churn_rate &gt; 5%`: holds (the last run could not be checked)" in line


def test_a_run_form_keeps_the_condition() -> None:
    request = FormRequest("nb", "T", "U", "C", options=RunOptions(notify_if="churn_rate > 5%"))
    assert read_request(sign_request(request, b"k" * 32), b"k" * 32) == request
