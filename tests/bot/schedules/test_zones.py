"""Which zone a schedule runs in: --tz, the Slack profile, UTC."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.schedules.zones import resolve_timezone


@pytest.mark.parametrize(
    ("name", "user_tz", "shown"),
    [
        (None, None, "UTC"),
        (None, "Europe/Prague", "Europe/Prague"),
        ("America/New_York", "Europe/Prague", "America/New_York"),
        ("  Europe/Prague ", None, "Europe/Prague"),
        ("europe/prague", None, "Europe/Prague"),
        ("america/new_york", None, "America/New_York"),
        ("utc", "Europe/Prague", "UTC"),
        ("UTC", None, "UTC"),
        (None, "Not/AZone", "UTC"),  # a bad Slack value is not the user's typo
        (None, "", "UTC"),
    ],
)
def test_resolve_timezone(name: str | None, user_tz: str | None, shown: str) -> None:
    zone, label = resolve_timezone(name, user_tz=user_tz)
    assert (zone.key, label) == (shown, shown)


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "",
        "  ",
        "../../etc/passwd",
        "/etc/localtime",
        "localtime",
        "Europe",
        "a\0b",
    ],
)
def test_resolve_timezone_rejects_unknown_names(name: str) -> None:
    with pytest.raises(UserError) as caught:
        resolve_timezone(name, user_tz="Europe/Prague")
    assert "Unknown time zone" in caught.value.message
    assert "Europe/Prague" in (caught.value.hint or "")
