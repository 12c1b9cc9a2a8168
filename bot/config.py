"""Settings: read from the environment once, into a frozen typed value.

Every setting is declared once, as data, in `SETTINGS`; the README documents each one
(a test keeps them in step). A missing or invalid setting stops start-up with one message
that names every problem. Secret values are never part of any message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.access import AccessPolicy, parse_channels, parse_notebook_access
from bot.errors import ConfigError
from storage.engine import is_postgres_url
from storage.redact import url_password


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, whether it is secret, its default and its meaning."""

    name: str
    doc: str
    default: str | None = None
    required: bool = False
    secret: bool = False
    aliases: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SLACK_BOT_TOKEN",
        "Bot User OAuth Token (`xoxb-...`), from the app's OAuth & Permissions page.",
        required=True,
        secret=True,
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "Signing Secret from the app's Basic Information page. Required in HTTP mode; "
        "in Socket Mode it is optional.",
        secret=True,
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "App-level token (`xapp-...`, scope `connections:write`). When set the bot uses "
        "Socket Mode; when unset it serves HTTP on `PORT`.",
        secret=True,
    ),
    Setting(
        "PORT",
        "HTTP port in HTTP mode (request URL path `/slack/events`); 0 picks a free port.",
        default="3000",
    ),
    Setting(
        "SLACK_API_URL",
        "Base URL of Slack's Web API (change it for GovSlack or a local stand-in).",
        default="https://slack.com/api/",
    ),
    Setting(
        "DEEPNOTE_API_KEY",
        "Deepnote API key (Settings & members > Security > API keys). "
        "`DEEPNOTE_TOKEN` is accepted too.",
        required=True,
        secret=True,
        aliases=("DEEPNOTE_TOKEN",),
    ),
    Setting(
        "DEEPNOTE_API_URL",
        "Base URL of Deepnote's API.",
        default="https://api.deepnote.com",
    ),
    Setting(
        "DEEPNOTE_APP_URL",
        "Base URL of the Deepnote web app, used for links to notebooks.",
        default="https://deepnote.com",
    ),
    Setting(
        "DATABASE_URL",
        "PostgreSQL database holding the bot's state (`postgres://user:password@host:5432/db`"
        " or `postgresql://…`, as Heroku, Render and Fly set it). Set it to run several "
        "replicas or on a platform without a persistent disk. Empty: the SQLite file at "
        "`DATABASE_PATH`.",
        secret=True,
    ),
    Setting(
        "DATABASE_PATH",
        "SQLite file holding runs and schedules when `DATABASE_URL` is empty. Put it on a "
        "persistent disk.",
        default="./deepnote-bot.db",
    ),
    Setting(
        "ALLOW_EPHEMERAL_STORAGE",
        "Set to `1` to start anyway with SQLite on a platform known to wipe its disk "
        "(Heroku: `DYNO` set) and no `DATABASE_URL`, accepting that every restart loses "
        "schedules, aliases, the audit log and runs in flight.",
        default="0",
    ),
    Setting(
        "POLL_INTERVAL_SECONDS",
        "How often unfinished runs are checked, in seconds (0.2 to 300).",
        default="1",
    ),
    Setting(
        "LOST_AFTER_SECONDS",
        "A run whose status cannot be read for this long is reported as lost (60 to 604800).",
        default="3600",
    ),
    Setting(
        "ADMIN_USER_IDS",
        "Comma-separated Slack user ids (`U...` or `W...`) of bot admins: they may pause, "
        "resume, trigger and delete anyone's schedule and read `/deepnote audit`. Empty: only "
        "each schedule's owner may change it, and nobody reads the audit log from Slack.",
        default="",
    ),
    Setting(
        "ALLOWED_CHANNEL_IDS",
        "Comma-separated channel ids where the bot answers commands. Empty: every channel.",
        default="",
    ),
    Setting(
        "NOTEBOOK_ACCESS",
        "Which channels may run which notebooks: `NOTEBOOK_ID=CHANNEL,CHANNEL;*=CHANNEL` "
        "(`*` is the rule for notebooks not listed), or the path of a YAML file with the same "
        "mapping. Empty: any notebook from any allowed channel.",
        default="",
    ),
    Setting(
        "SCHEDULE_GRACE_SECONDS",
        "A scheduled run missed while the bot was down still runs, once, when the bot comes "
        "back less than this many seconds late; older misses are skipped and noted in the "
        "channel (0 to 86400).",
        default="600",
    ),
    Setting(
        "WATCH_POLL_SECONDS",
        "How often each watched notebook's run list is read, in seconds (2 to 3600): N "
        "watches cost N requests per this many seconds, spread evenly over it.",
        default="30",
    ),
    Setting(
        "DEEPNOTE_REQUESTS_PER_SECOND",
        "The bot's budget of Deepnote API requests per second, shared by commands and the "
        "poller (0.5 to 1000). People's commands come first; run statuses are read with "
        "what is left.",
        default="10",
    ),
    Setting(
        "SLACK_CHANNEL_PACE_SECONDS",
        "Unset (the default): the bot follows Slack's limits, about one message a second per "
        "channel with short bursts, card edits on their own workspace-wide budget, slowing "
        "down when Slack says 429. Set: at most one message per channel per this many "
        "seconds, new messages and card edits alike, no bursts; 0 turns pacing off (0 to 10).",
    ),
    Setting(
        "LOG_LEVEL",
        "Logging level: DEBUG, INFO, WARNING or ERROR.",
        default="INFO",
    ),
)

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Config:
    """The bot's settings, validated. Build it with `load_config`."""

    slack_bot_token: str
    deepnote_api_key: str
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    port: int = 3000
    slack_api_url: str = "https://slack.com/api/"
    deepnote_api_url: str = "https://api.deepnote.com"
    deepnote_app_url: str = "https://deepnote.com"
    database_path: Path = Path("./deepnote-bot.db")
    database_url: str | None = None
    allow_ephemeral_storage: bool = False
    poll_interval_seconds: float = 1.0
    lost_after_seconds: float = 3600.0
    log_level: str = "INFO"
    admin_user_ids: tuple[str, ...] = ()
    schedule_grace_seconds: float = 600.0
    watch_poll_seconds: float = 30.0
    allowed_channel_ids: tuple[str, ...] = ()
    deepnote_requests_per_second: float = 10.0
    slack_channel_pace_seconds: float | None = None
    notebook_access: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: the bot connects out through Socket Mode."""
        return bool(self.slack_app_token)

    def access(self) -> AccessPolicy:
        """The access rules these settings describe."""
        return AccessPolicy(
            admins=self.admin_user_ids,
            allowed_channels=self.allowed_channel_ids,
            notebook_channels=dict(self.notebook_access),
        )

    def secrets(self) -> tuple[str, ...]:
        """Every secret value configured, so logs and messages can be checked for them."""
        values = (
            self.slack_bot_token,
            self.deepnote_api_key,
            self.slack_signing_secret,
            self.slack_app_token,
            self.database_url,
            url_password(self.database_url or ""),
        )
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        return (
            f"Config(socket_mode={self.socket_mode}, port={self.port}, "
            f"slack_api_url={self.slack_api_url!r}, deepnote_api_url={self.deepnote_api_url!r}, "
            f"database_path={str(self.database_path)!r}, "
            f"postgres={bool(self.database_url)}, secrets=<hidden>)"
        )


def _get(env: Mapping[str, str], setting: Setting) -> str | None:
    for name in (setting.name, *setting.aliases):
        value = env.get(name, "").strip()
        if value:
            return value
    return setting.default


def _number(
    raw: str | None,
    name: str,
    low: float,
    high: float,
    problems: list[str],
    cast: Callable[[str], float],
) -> float:
    try:
        value = cast(raw or "")
    except ValueError:
        problems.append(f"{name} must be a number from {low:g} to {high:g} (got {raw!r}).")
        return low
    if not low <= value <= high:
        problems.append(f"{name} must be from {low:g} to {high:g} (got {raw}).")
    return value


def _url(raw: str | None, name: str, problems: list[str]) -> str:
    value = raw or ""
    if not re.match(r"^https?://[^\s/]+", value):
        problems.append(f"{name} must be an http(s) URL (got {value!r}).")
    return value


_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def _user_ids(raw: str | None, name: str, problems: list[str]) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(p.strip() for p in (raw or "").split(",") if p.strip()))
    bad = [i for i in ids if not _SLACK_USER_ID.fullmatch(i)]
    if bad:
        problems.append(
            f"{name} must be Slack user ids such as U012AB3CD, separated by commas "
            f"(not {', '.join(repr(b) for b in bad[:5])})."
        )
    return ids


_Parse = Callable[[str | None, str, list[str]], Any]
"""Reads one setting: (raw value, setting name, problems found so far) -> the value."""


def _in_range(low: float, high: float) -> _Parse:
    """A parser of a number of seconds (or per second) from `low` to `high`."""
    return lambda raw, name, problems: _number(raw, name, low, high, problems, float)


def _optional(parse: _Parse) -> _Parse:
    """A parser that leaves an unset value unset (None)."""
    return lambda raw, name, problems: None if raw is None else parse(raw, name, problems)


def _port(raw: str | None, name: str, problems: list[str]) -> int:
    return int(_number(raw, name, 0, 65535, problems, int))


def _slack_url(raw: str | None, name: str, problems: list[str]) -> str:
    """Slack's API URL, ending in `/` (method names are appended to it)."""
    value = _url(raw, name, problems)
    return value if value.endswith("/") else value + "/"


def _base_url(raw: str | None, name: str, problems: list[str]) -> str:
    """A base URL without its trailing `/` (paths starting with `/` are appended)."""
    return _url(raw, name, problems).rstrip("/")


def _log_level(raw: str | None, name: str, problems: list[str]) -> str:
    level = (raw or "").upper()
    if level not in _LOG_LEVELS:
        problems.append(f"{name} must be one of {', '.join(_LOG_LEVELS)} (got {level!r}).")
    return level


def _database_url(raw: str | None, name: str, problems: list[str]) -> str | None:
    """A PostgreSQL URL, or None for SQLite; the value is secret, so only its scheme is shown."""
    if not raw:
        return None
    if not is_postgres_url(raw):
        scheme = raw.split("://", 1)[0] + "://" if "://" in raw else "no scheme"
        problems.append(
            f"{name} must be a PostgreSQL URL starting with postgres:// or postgresql:// "
            f"(got {scheme!r}); leave it empty to use the SQLite file at DATABASE_PATH."
        )
    return raw


def _flag(raw: str | None, name: str, problems: list[str]) -> bool:
    value = (raw or "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        problems.append(f"{name} must be 1 or 0 (got {value!r}).")
    return value in ("1", "true", "yes")


# The checked settings, in the order their problems are reported: (setting, Config field,
# parser). A parser returns the value and appends what is wrong with it to `problems`.
_CHECKED: tuple[tuple[str, str, _Parse], ...] = (
    ("PORT", "port", _port),
    ("POLL_INTERVAL_SECONDS", "poll_interval_seconds", _in_range(0.2, 300)),
    ("LOST_AFTER_SECONDS", "lost_after_seconds", _in_range(60, 604800)),
    ("SLACK_API_URL", "slack_api_url", _slack_url),
    ("DEEPNOTE_API_URL", "deepnote_api_url", _base_url),
    ("DEEPNOTE_APP_URL", "deepnote_app_url", _base_url),
    ("ADMIN_USER_IDS", "admin_user_ids", _user_ids),
    ("SCHEDULE_GRACE_SECONDS", "schedule_grace_seconds", _in_range(0, 86400)),
    ("WATCH_POLL_SECONDS", "watch_poll_seconds", _in_range(2, 3600)),
    ("ALLOWED_CHANNEL_IDS", "allowed_channel_ids", lambda raw, _, p: parse_channels(raw, p)),
    ("NOTEBOOK_ACCESS", "notebook_access", lambda raw, _, p: parse_notebook_access(raw, p)),
    ("DEEPNOTE_REQUESTS_PER_SECOND", "deepnote_requests_per_second", _in_range(0.5, 1000)),
    ("SLACK_CHANNEL_PACE_SECONDS", "slack_channel_pace_seconds", _optional(_in_range(0, 10))),
    ("LOG_LEVEL", "log_level", _log_level),
    ("DATABASE_URL", "database_url", _database_url),
    ("ALLOW_EPHEMERAL_STORAGE", "allow_ephemeral_storage", _flag),
)


def _check_secrets(values: Mapping[str, str | None], problems: list[str]) -> None:
    """The tokens, the signing secret and the API key: present where needed, well-formed."""
    by_name = {s.name: s for s in SETTINGS}
    bot_token = values["SLACK_BOT_TOKEN"]
    if not bot_token:
        problems.append("SLACK_BOT_TOKEN is missing: " + by_name["SLACK_BOT_TOKEN"].doc)
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with `xoxb-`.")
    app_token = values["SLACK_APP_TOKEN"]
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with `xapp-`.")
    if not app_token and not values["SLACK_SIGNING_SECRET"]:
        problems.append(
            "SLACK_SIGNING_SECRET is missing: HTTP mode (no SLACK_APP_TOKEN) needs it to "
            "check that requests come from Slack."
        )
    if not values["DEEPNOTE_API_KEY"]:
        problems.append(
            "DEEPNOTE_API_KEY (or DEEPNOTE_TOKEN) is missing: " + by_name["DEEPNOTE_API_KEY"].doc
        )


# Environment variables that only platforms which wipe the local disk set, with their name.
EPHEMERAL_PLATFORMS = (("DYNO", "Heroku"),)


def ephemeral_platform(env: Mapping[str, str]) -> str | None:
    """The platform the bot runs on when it is known to wipe the local disk.

    >>> ephemeral_platform({"DYNO": "web.1"}), ephemeral_platform({})
    ('Heroku', None)
    """
    return next((name for var, name in EPHEMERAL_PLATFORMS if env.get(var)), None)


def _check_storage(env: Mapping[str, str], checked: Mapping[str, Any], problems: list[str]) -> None:
    """Refuse SQLite on a disk that is wiped at every restart, unless the admin opts in."""
    platform = ephemeral_platform(env)
    if platform and not checked["database_url"] and not checked["allow_ephemeral_storage"]:
        problems.append(
            f"DATABASE_URL is not set, and this is {platform}, whose local disk is wiped at "
            "every deploy and restart (at least daily): the SQLite file would lose every "
            "schedule, alias, audit entry and run in flight. Add a PostgreSQL database and set "
            "DATABASE_URL to it (on Heroku: `heroku addons:create heroku-postgresql`, which "
            "sets it), or set ALLOW_EPHEMERAL_STORAGE=1 to accept losing that state."
        )


def load_config(env: Mapping[str, str]) -> Config:
    """Read and check every setting; raise ConfigError naming every problem at once."""
    values = {s.name: _get(env, s) for s in SETTINGS}
    problems: list[str] = []
    _check_secrets(values, problems)
    checked = {field: parse(values[name], name, problems) for name, field, parse in _CHECKED}
    _check_storage(env, checked, problems)
    if problems:
        raise ConfigError(problems)
    return Config(
        slack_bot_token=values["SLACK_BOT_TOKEN"] or "",
        deepnote_api_key=values["DEEPNOTE_API_KEY"] or "",
        slack_signing_secret=values["SLACK_SIGNING_SECRET"],
        slack_app_token=values["SLACK_APP_TOKEN"],
        database_path=Path(values["DATABASE_PATH"] or "./deepnote-bot.db"),
        **checked,
    )
