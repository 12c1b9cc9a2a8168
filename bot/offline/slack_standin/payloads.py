"""What Slack sends the bot, built the same way for HTTP (`SlackRequester`) and Socket Mode.

The fields of a slash command, the envelope of an Events API event, and the keys Slack always
adds to an interaction payload. Each takes the stand-in (for ids, names, fresh response URLs
and trigger ids) and the workspace's team id.
"""

from __future__ import annotations

from typing import Any, Protocol


class StandIn(Protocol):
    """What these payloads need of the stand-in: its ids and names, and fresh URLs and ids."""

    app_id: str
    team_id: str
    team_domain: str
    bot_user_id: str

    def channel_info(self, channel: str) -> dict[str, Any] | None:
        """The channel as conversations.info shows it."""

    def user_info(self, user_id: str) -> dict[str, Any] | None:
        """The user as users.info shows it."""

    def new_response_url(
        self, *, channel: str = ..., user: str = ..., message_ts: str | None = None
    ) -> str:
        """A fresh response_url."""

    def new_trigger_id(self, user: str = ...) -> str:
        """A fresh trigger_id."""

    def new_ts(self) -> str:
        """A fresh message timestamp."""


VERIFICATION_TOKEN = "verification-token-unused"  # noqa: S105 - Slack's deprecated token field


def slash_command_fields(
    standin: StandIn,
    team_id: str,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    command: str,
) -> list[tuple[str, str]]:
    """The form fields of a slash command, in Slack's order, with a fresh response_url."""
    channel = standin.channel_info(channel_id)
    user = standin.user_info(user_id)
    return [
        ("token", VERIFICATION_TOKEN),
        ("team_id", team_id),
        ("team_domain", standin.team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel["name"] if channel else channel_id.lower()),
        ("user_id", user_id),
        ("user_name", user["name"] if user else user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", standin.app_id),
        ("is_enterprise_install", "false"),
        ("response_url", standin.new_response_url(channel=channel_id, user=user_id)),
        ("trigger_id", standin.new_trigger_id(user_id)),
    ]


def event_callback(
    standin: StandIn, team_id: str, event: dict[str, Any], *, event_id: str, event_time: int
) -> dict[str, Any]:
    """The `event_callback` envelope of an Events API event (`event_ts` added if missing)."""
    inner = dict(event)
    inner.setdefault("event_ts", inner.get("ts") or standin.new_ts())
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": standin.app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": standin.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def fill_interaction(standin: StandIn, team_id: str, body: dict[str, Any]) -> None:
    """Add the keys Slack always sends with an interaction payload, where they are missing."""
    body.setdefault("token", VERIFICATION_TOKEN)
    body.setdefault("api_app_id", standin.app_id)
    body.setdefault("team", {"id": team_id, "domain": standin.team_domain})
    if "user" not in body:
        info = standin.user_info("U0ALICE") or {"name": "alice"}
        body["user"] = {"id": "U0ALICE", "username": info["name"], "team_id": team_id}
    user = body["user"]
    user_id = str(user.get("id", "U0ALICE")) if isinstance(user, dict) else "U0ALICE"
    kind = body.get("type")
    if kind not in ("view_closed", "block_suggestion"):
        body.setdefault("trigger_id", standin.new_trigger_id(user_id))
    if kind in ("block_actions", "message_action") and "response_url" not in body:
        channel = body.get("channel")
        container = body.get("container")
        message = body.get("message")
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if channel_id is None and isinstance(container, dict):
            channel_id = container.get("channel_id")
        message_ts = message.get("ts") if isinstance(message, dict) else None
        if message_ts is None and isinstance(container, dict):
            message_ts = container.get("message_ts")
        if isinstance(channel_id, str):
            body["response_url"] = standin.new_response_url(
                channel=channel_id,
                user=user_id,
                message_ts=message_ts if isinstance(message_ts, str) else None,
            )
