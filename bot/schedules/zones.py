"""Which time zone a schedule runs in: `--tz`, else the Slack profile's zone, else UTC."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.timezones import lookup_zone


def resolve_timezone(name: str | None, *, user_tz: str | None) -> tuple[ZoneInfo, str]:
    """The zone for a schedule and the name to show: `--tz` wins, then the Slack zone, then UTC.

    >>> resolve_timezone(None, user_tz="Europe/Prague")[1]
    'Europe/Prague'
    >>> resolve_timezone("zulu", user_tz=None)[1]
    'UTC'
    """
    if name is not None:
        key = schedule_zone(name)
        if key is None:
            raise UserError(
                f'Unknown time zone "{name.strip()}".',
                hint="Use an IANA zone name such as `Europe/Prague`, `America/New_York` or `UTC`.",
            )
        return ZoneInfo(key), key
    if user_tz:
        key = schedule_zone(user_tz)
        if key is not None:
            return ZoneInfo(key), key
    return ZoneInfo("UTC"), "UTC"


def schedule_zone(text: str) -> str | None:
    """The zone name a schedule stores for `text`: UTC's other names are "UTC"; None if unknown.

    >>> schedule_zone("GMT"), schedule_zone("america/new_york"), schedule_zone("localtime")
    ('UTC', 'America/New_York', None)
    """
    found = lookup_zone(text)
    if found.means_utc:
        return "UTC"
    return found.name if found.is_place else None
