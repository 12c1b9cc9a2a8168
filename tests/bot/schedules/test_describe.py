"""Schedules in words."""

from __future__ import annotations

import pytest

from bot.schedules.describe import describe
from bot.schedules.when import parse_when


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0 9 * * 1-5", "every weekday (Mon–Fri) at 09:00"),
        ("*/15 * * * *", "every 15 minutes"),
        ("15 * * * *", "at minute 15 of every hour"),
        ("0 6 1 * *", "on the 1st of every month at 06:00"),
        ("30 8 * * mon", "every Monday at 08:30"),
        ("0 9 1 * 1", "at 09:00 on day 1 of the month or on Mondays"),
        ("0 9 1,15 * 1,3", "at 09:00 on days 1 and 15 of the month or on Mondays and Wednesdays"),
        ("0 9 1 * 0-7", "every day at 09:00"),
        ("0 0 * * *", "every day at 00:00"),
        ("* * * * *", "every minute"),
        ("0 * * * *", "every hour"),
        ("0,30 * * * *", "every 30 minutes"),
        ("15,45 * * * *", "at minutes 15 and 45 of every hour"),
        ("0 */2 * * *", "every 2 hours"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00"),
        ("*/30 9-17 * * 1-5", "every 30 minutes from 09:00 to 17:30 on weekdays (Mon–Fri)"),
        ("0 9-17 * * 1-5", "every hour from 09:00 to 17:00 on weekdays (Mon–Fri)"),
        ("* 9 * * *", "every minute from 09:00 to 09:59"),
        ("0 12 * jan,jul *", "every day in January and July at 12:00"),
        ("0 0 1 1 *", "on the 1st of January at 00:00"),
        ("0 0 29 2 *", "on the 29th of February at 00:00 (the 29th only in leap years)"),
        ("0 0 30 * *", "on the 30th of every month at 00:00 (skipped in months without a 30th)"),
        ("0 0 31 1,3 *", "on the 31st of January and March at 00:00"),
        ("0 8 * * 6,0", "every Saturday and Sunday at 08:00"),
        ("0 8 * 6-8 1-5", "every weekday (Mon–Fri) in June, July and August at 08:00"),
        ("0 9 */2 * *", "cron `0 9 */2 * *`"),
        ("*/7 * * * *", "cron `*/7 * * * *`"),
        ("0 9 */2 * 5", "cron `0 9 */2 * 5`"),
        ("1,2,3,4,5,6,7 1,2 * * *", "cron `1-7 1,2 * * *`"),
    ],
)
def test_describe(text: str, words: str) -> None:
    assert describe(parse_when(text)) == words
