"""What a run's `--notify-if` condition said, as the first lines of its thread reply."""

from __future__ import annotations

from bot.conditions import (
    BACK_TO_NORMAL,
    CLEAR,
    HOLDS,
    STARTED,
    STILL,
    UNCHECKED,
    Evaluation,
)
from bot.text.mrkdwn import code, escape, truncate

MAX_VALUES = 8


def _values(evaluation: Evaluation) -> str:
    """`churn_rate is *5.2%*, rows("Late orders") is *3 rows*`: names and values escaped,
    the values in bold (asterisks inside them would end the bold, so they are dropped)."""
    shown = [
        f"{escape(truncate(name, 80))} is *{escape(truncate(value, 80)).replace('*', '')}*"
        for name, value in evaluation.values[:MAX_VALUES]
    ]
    return ", ".join(shown)


def alert_lines(evaluation: Evaluation) -> tuple[str, str]:
    """The mrkdwn that heads the reply, and a short plain line for the message's fallback.

    >>> text, short = alert_lines(Evaluation("churn_rate > 5%", "holds", (("churn_rate", "5.2%"),),
    ...                                      kind="started"))
    >>> text, short
    ('🚨 *Alert:* `churn_rate &gt; 5%` holds: churn\u2060_\u2060rate is *5.2%*', 'Alert')
    """
    condition = code(evaluation.condition, limit=200)
    values = _values(evaluation)
    said = f": {values}" if values else ""
    if evaluation.result not in (HOLDS, CLEAR) or evaluation.kind == UNCHECKED:
        why = "; ".join(escape(truncate(n, 200)) for n in evaluation.notes[:5]) or "unknown"
        text = (
            f"⚠️ *Could not check* {condition} *for this run:* {why}. The run is posted "
            "so that it is not missed."
        )
        if values:
            text += f"\nRead: {values}"
        return text, "Could not check the condition"
    if evaluation.kind == STARTED:
        return f"🚨 *Alert:* {condition} holds{said}", "Alert"
    if evaluation.kind == STILL:
        return f"🚨 *Alert, still:* {condition} holds{said}", "Alert still holds"
    if evaluation.kind == BACK_TO_NORMAL:
        return f"✅ *Back to normal:* {condition} no longer holds{said}", "Back to normal"
    if evaluation.result == HOLDS:
        return f"🔔 *Condition held:* {condition}{said}", "Condition held"
    return f"*Condition did not hold:* {condition}{said}", "Condition did not hold"
