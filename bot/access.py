"""Who may do what, where: channel allowlist, per-notebook channel rules, admins.

Settings (see README):
- `ALLOWED_CHANNEL_IDS`: comma-separated channel ids; empty means every channel.
- `NOTEBOOK_ACCESS`: which channels may run which notebooks, either inline as
  `NOTEBOOK=CHANNEL,CHANNEL;NOTEBOOK=*` (notebook ids; `*` as a notebook is the rule for
  notebooks not listed) or the path of a YAML file mapping notebook ids to a list of
  channel ids or `"*"`. Notebooks without a rule (and no `*` rule) may run anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.errors import UserError
from bot.text.mrkdwn import fill

_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_NOTEBOOK = re.compile(r"^([0-9a-f]{32}|\*)$")


class AccessDenied(UserError):
    """The user, channel or notebook is not allowed; the message says why and who to ask."""


@dataclass(frozen=True)
class AccessPolicy:
    """The access rules, checked before anything starts or changes."""

    admins: tuple[str, ...] = ()
    allowed_channels: tuple[str, ...] = ()
    notebook_channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def is_admin(self, user_id: str) -> bool:
        """True for users listed in ADMIN_USER_IDS."""
        return user_id in self.admins

    def who_to_ask(self) -> str:
        """Whom a refused user should contact."""
        if self.admins:
            return "Ask a bot admin (" + ", ".join(f"<@{a}>" for a in self.admins[:5]) + ")."
        return "Ask the person who installed the bot."

    def check_channel(self, channel_id: str) -> None:
        """Refuse commands from channels outside ALLOWED_CHANNEL_IDS."""
        if self.allowed_channels and channel_id not in self.allowed_channels:
            raise AccessDenied(
                "The bot is not enabled in this channel.",
                hint=f"It works in {_channels(self.allowed_channels)}. {self.who_to_ask()}",
            )

    def check_notebook(
        self, channel_id: str, notebook_id: str, notebook_name: str, *, use: str = "be run from"
    ) -> None:
        """Refuse running a notebook (or, with `use`, showing its inputs or runs) from a
        channel its rule does not list; `use` is the bot's words, e.g. "be run from"."""
        self.check_channel(channel_id)
        allowed = self.notebook_channels.get(notebook_id, self.notebook_channels.get("*"))
        if allowed is None or "*" in allowed or channel_id in allowed:
            return
        where = _channels(allowed) if allowed else "no channel"
        raise AccessDenied(
            fill("*{name}* may not " + use + " this channel.", name=notebook_name),
            hint=f"It may be run from {where}. {self.who_to_ask()}",
        )


def _channels(ids: tuple[str, ...]) -> str:
    shown = ", ".join(f"<#{c}>" for c in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def parse_channels(raw: str | None, problems: list[str]) -> tuple[str, ...]:
    """`C1,C2` → ('C1', 'C2'), noting malformed ids."""
    ids = tuple(p.strip() for p in (raw or "").split(",") if p.strip())
    for channel in ids:
        if not _CHANNEL.match(channel):
            problems.append(f"ALLOWED_CHANNEL_IDS: {channel!r} is not a Slack channel id (C…).")
    return ids


def parse_notebook_access(raw: str | None, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """NOTEBOOK_ACCESS, inline or as a YAML file path, into notebook id → channel ids.

    >>> parse_notebook_access("0123456789abcdef0123456789abcdef=C01,C02;*=C09", [])
    {'0123456789abcdef0123456789abcdef': ('C01', 'C02'), '*': ('C09',)}
    """
    text = (raw or "").strip()
    if not text:
        return {}
    mapping: dict[str, object]
    if text.endswith((".yml", ".yaml")):
        path = Path(text)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            problems.append(f"NOTEBOOK_ACCESS: cannot read {path}: {exc.strerror}.")
            return {}
        except yaml.YAMLError:
            problems.append(f"NOTEBOOK_ACCESS: {path} is not valid YAML.")
            return {}
        if not isinstance(loaded, dict):
            problems.append(f"NOTEBOOK_ACCESS: {path} must map notebook ids to channel lists.")
            return {}
        mapping = {str(k): v for k, v in loaded.items()}
    else:
        mapping = {}
        for rule in filter(None, (r.strip() for r in text.split(";"))):
            notebook, sep, channels = rule.partition("=")
            if not sep:
                problems.append(
                    f"NOTEBOOK_ACCESS: {rule!r} should look like NOTEBOOK_ID=CHANNEL,CHANNEL."
                )
                continue
            mapping[notebook.strip()] = [c.strip() for c in channels.split(",") if c.strip()]
    rules: dict[str, tuple[str, ...]] = {}
    for notebook, spec in mapping.items():
        key = notebook.strip().lower().replace("-", "") if notebook != "*" else "*"
        if not _NOTEBOOK.match(key):
            problems.append(f"NOTEBOOK_ACCESS: {notebook!r} is not a notebook id (32 hex).")
            continue
        if spec == "*":
            rules[key] = ("*",)
            continue
        values = spec if isinstance(spec, list) else [spec]
        cleaned = tuple(str(c).strip() for c in values)
        bad = [c for c in cleaned if c != "*" and not _CHANNEL.match(c)]
        if bad:
            problems.append(f"NOTEBOOK_ACCESS: {', '.join(bad)} are not Slack channel ids (C…).")
            continue
        rules[key] = cleaned
    return rules
