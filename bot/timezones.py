"""Time zone names: the one resolver for `--tz` values and Slack profile zones (pure).

`lookup_zone` says what a piece of text names; callers decide what to do with it and say
so in their own words (`--tz` suggests a zone, a schedule falls back to UTC).

>>> lookup_zone(" europe/prague ").name
'Europe/Prague'
>>> lookup_zone("Prague").name, lookup_zone("Prague").suggestion()
(None, 'Europe/Prague')
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass

from bot.text.tokens import closest

MAX_NAME = 64
"""The longest zone name looked up (the longest in the tz database has 32 characters)."""

UTC_NAMES = frozenset({"utc", "gmt", "z", "zulu"})
"""Other names of UTC, which schedules store as plain "UTC"."""

NOT_PLACES = frozenset({"localtime", "posixrules", "factory"})
"""Entries of the tz database that are machinery, not places a schedule could run in."""

ABBREVIATIONS = {
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "est": "America/New_York",
    "edt": "America/New_York",
    "bst": "Europe/London",
    "cest": "Europe/Berlin",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "aest": "Australia/Sydney",
}
"""Abbreviations people type, and the zone to suggest for each (never accepted as zones)."""

_NAME_RE = re.compile(r"(?=.{1,64}$)[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")


@dataclass(frozen=True)
class ZoneLookup:
    """What some text names: `name` is the zone's canonical name, None when it names none.

    `listed` says the zone is in the tz database's list of zones (what `--tz` accepts); a
    zone that zoneinfo loads but does not list (`posix/...`, `right/...`) is not listed.
    """

    text: str
    name: str | None
    listed: bool = False

    @property
    def means_utc(self) -> bool:
        """True for UTC and its other names ("gmt", "z", "zulu"), in any case."""
        return self.text.lower() in UTC_NAMES

    @property
    def is_place(self) -> bool:
        """False for the tz database's machinery entries ("localtime", "Factory")."""
        return self.name is not None and self.name.lower() not in NOT_PLACES

    def suggestion(self) -> str | None:
        """A zone the text may have meant: an abbreviation's zone, a city's zone, a near name."""
        low = self.text.lower()
        guess = ABBREVIATIONS.get(low)
        if guess is None and low:
            guess = _cities().get(low.replace(" ", "_")) or closest(
                self.text, list(_zones().values())
            )
        return guess


def lookup_zone(text: str) -> ZoneLookup:
    """Look `text` (any case, surrounding spaces ignored) up in the tz database.

    >>> lookup_zone("GMT").name, lookup_zone("GMT").means_utc, lookup_zone("../etc/passwd").name
    ('GMT', True, None)
    """
    name = text.strip()
    if not name or len(name) > MAX_NAME:
        return ZoneLookup(name, None)
    zones = _zones()
    listed = zones.get(name.lower())
    if listed is not None:
        return ZoneLookup(name, listed, listed=True)
    # Unlisted names that zoneinfo loads, as typed or Capitalized; without a zone list
    # (no tzdata) these are all there is, so they count as listed.
    capitalized = re.sub(r"[A-Za-z]+", lambda m: m[0].capitalize(), name)
    loaded = next((n for n in (name, capitalized) if _NAME_RE.fullmatch(n) and _loads(n)), None)
    return ZoneLookup(name, loaded, listed=loaded is not None and not zones)


@functools.lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Every known time zone, by lowercase name."""
    return {z.lower(): z for z in zoneinfo.available_timezones()}


@functools.lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """Zones by their lowercase last part: "prague" -> "Europe/Prague"."""
    return {z.rsplit("/", 1)[-1].lower(): z for z in sorted(_zones().values()) if "/" in z}


def _loads(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
