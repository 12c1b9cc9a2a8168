"""The one time zone resolver: what text names, for `--tz` and for schedules."""

from __future__ import annotations

import pytest

from bot.commands.values import parse_tz
from bot.errors import UserError
from bot.schedules.zones import schedule_zone
from bot.timezones import lookup_zone

# text, the zone --tz accepts (None: refused), the zone a schedule runs in (None: unknown)
CASES = [
    ("Europe/Prague", "Europe/Prague", "Europe/Prague"),
    ("  europe/prague ", "Europe/Prague", "Europe/Prague"),
    ("AMERICA/NEW_YORK", "America/New_York", "America/New_York"),
    ("america/port-au-prince", "America/Port-au-Prince", "America/Port-au-Prince"),
    ("us/eastern", "US/Eastern", "US/Eastern"),
    ("Etc/GMT+5", "Etc/GMT+5", "Etc/GMT+5"),
    ("EST", "EST", "EST"),
    ("UTC", "UTC", "UTC"),
    ("utc", "UTC", "UTC"),
    # UTC's other names: --tz keeps the name, a schedule stores UTC
    ("gmt", "GMT", "UTC"),
    ("Zulu", "Zulu", "UTC"),
    ("z", None, "UTC"),
    # tz database machinery: never a place to run a schedule
    ("posixrules", None, None),
    # not zones at all
    ("", None, None),
    ("   ", None, None),
    ("Prague", None, None),
    ("PST", None, None),
    ("Europe", None, None),
    ("Mars/Olympus_Mons", None, None),
    ("../../etc/passwd", None, None),
    ("/etc/localtime", None, None),
    ("a\0b", None, None),
    ("Europe/Prague" + "x" * 60, None, None),
]


@pytest.mark.parametrize(("text", "tz", "scheduled"), CASES)
def test_zone_names(text: str, tz: str | None, scheduled: str | None) -> None:
    if tz is None:
        with pytest.raises(UserError, match="is not a time zone I know"):
            parse_tz(text)
    else:
        assert parse_tz(text) == tz
    assert schedule_zone(text) == scheduled


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Prague", "Europe/Prague"),
        ("new york", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("cest", "Europe/Berlin"),
        ("Europe/Pargue", "Europe/Prague"),
        ("", None),
        ("qqqqqqqqqqqq", None),
    ],
)
def test_suggestions(text: str, suggestion: str | None) -> None:
    assert lookup_zone(text).name is None
    assert lookup_zone(text).suggestion() == suggestion


@pytest.mark.parametrize("text", ["localtime", "Factory"])
def test_machinery_entries_are_listed_but_not_places(text: str) -> None:
    found = lookup_zone(text)
    if found.name is None:  # not every tz database ships them
        pytest.skip(f"{text} is not in this tz database")
    assert found.listed
    assert not found.is_place
    assert schedule_zone(text) is None


def test_unlisted_zone_files_load_for_schedules_only() -> None:
    found = lookup_zone("posix/Europe/Prague")
    if found.name is None:
        pytest.skip("no posix/ zones on this machine")
    assert (found.name, found.listed) == ("posix/Europe/Prague", False)
    assert schedule_zone("posix/Europe/Prague") == "posix/Europe/Prague"
    with pytest.raises(UserError):
        parse_tz("posix/Europe/Prague")
