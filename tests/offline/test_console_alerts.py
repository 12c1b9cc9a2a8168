"""Alerts in the console: a person can set the KPI monitor's numbers with `/kpi` and see what
an alert schedule's condition says of a run (in a subprocess, as people run it)."""

from __future__ import annotations

from bot.offline.simulator import KPI_NOTEBOOK_ID
from tests.offline.test_console_interaction import FAST, console


def test_kpi_sets_the_numbers_and_a_triggered_alert_says_what_held() -> None:
    script = (
        f"schedule {KPI_NOTEBOOK_ID} every day --notify changes --notify-if churn_rate > 5%\n"
        "/kpi churn_rate=0.052 late_orders=2\n"
        "trigger 1\n"
        "/kpi bogus=1\n"
    )
    ran = console(*FAST, stdin=script)
    assert ran.returncode == 0, ran.explain()
    ran.shows(
        "Notify if: churn_rate > 5%",
        "KPI monitor, for the next runs: churn_rate=0.052",
        "late_orders=2",
        "Alert: churn_rate > 5% holds: churn_rate is 5.2%",
        "Churn rate",
        "/kpi: Unknown KPI values ['bogus']",
    )
