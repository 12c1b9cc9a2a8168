"""Settings: one message naming every problem; secrets never shown."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import SETTINGS, load_config
from bot.errors import ConfigError

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-123-secret-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "DEEPNOTE_API_KEY": "deepnote-secret-key",
}


def test_defaults() -> None:
    config = load_config(GOOD)
    assert config.port == 3000
    assert not config.socket_mode
    assert config.deepnote_api_url == "https://api.deepnote.com"
    assert config.slack_api_url == "https://slack.com/api/"
    assert str(config.database_path) == "deepnote-bot.db"


def test_watch_poll_seconds_defaults_to_30_and_can_be_set() -> None:
    assert load_config(GOOD).watch_poll_seconds == 30.0
    assert load_config({**GOOD, "WATCH_POLL_SECONDS": "120"}).watch_poll_seconds == 120.0


def test_deepnote_token_is_accepted_as_the_key() -> None:
    env = {k: v for k, v in GOOD.items() if k != "DEEPNOTE_API_KEY"}
    env["DEEPNOTE_TOKEN"] = "token-from-deepnote-tools"
    assert load_config(env).deepnote_api_key == "token-from-deepnote-tools"


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {k: v for k, v in GOOD.items() if k != "SLACK_SIGNING_SECRET"}
    env["SLACK_APP_TOKEN"] = "xapp-1-abc"
    assert load_config(env).socket_mode


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["SLACK_BOT_TOKEN is missing", "DEEPNOTE_API_KEY", "SLACK_SIGNING_SECRET is missing"]),
        ({**GOOD, "SLACK_BOT_TOKEN": "xoxp-user"}, ["must be a bot token"]),
        ({**GOOD, "SLACK_APP_TOKEN": "xoxb-wrong"}, ["SLACK_APP_TOKEN must be an app-level"]),
        ({**GOOD, "PORT": "http"}, ["PORT must be a number"]),
        ({**GOOD, "PORT": "70000"}, ["PORT must be from 0 to 65535"]),
        ({**GOOD, "POLL_INTERVAL_SECONDS": "0"}, ["POLL_INTERVAL_SECONDS must be from"]),
        ({**GOOD, "DEEPNOTE_API_URL": "api.deepnote.com"}, ["DEEPNOTE_API_URL must be an http"]),
        ({**GOOD, "LOG_LEVEL": "LOUD"}, ["LOG_LEVEL must be one of"]),
        ({**GOOD, "WATCH_POLL_SECONDS": "1"}, ["WATCH_POLL_SECONDS must be from 2 to 3600"]),
    ],
)
def test_every_problem_is_named(env: dict[str, str], expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    for fragment in expected:
        assert fragment in str(info.value)


def test_all_problems_in_one_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"PORT": "x", "LOG_LEVEL": "nope"})
    assert len(info.value.problems) >= 4


def test_repr_hides_secrets() -> None:
    config = load_config(GOOD)
    for secret in GOOD.values():
        assert secret not in repr(config)


def test_serve_with_bad_settings_exits_with_one_clear_message(tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-secret-abc123", "PORT": "x"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "PORT must be a number" in proc.stderr
    assert "DEEPNOTE_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "xoxb-secret-abc123" not in proc.stderr + proc.stdout


def test_every_setting_has_a_doc() -> None:
    for setting in SETTINGS:
        assert setting.doc.strip(), setting.name


def test_database_url_chooses_postgres_and_its_password_is_a_secret() -> None:
    url = "postgres://bot:pg-pass-9f8e@db.example:5432/bot"
    config = load_config({**GOOD, "DATABASE_URL": url})
    assert config.database_url == url
    assert "pg-pass-9f8e" in config.secrets()
    assert url not in repr(config)
    assert "pg-pass-9f8e" not in repr(config)


def test_a_database_url_of_another_kind_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({**GOOD, "DATABASE_URL": "mysql://root:pw-77@db/bot"})
    assert "must be a PostgreSQL URL starting with postgres:// or postgresql://" in str(info.value)
    assert "pw-77" not in str(info.value)


def test_heroku_without_a_database_needs_an_explicit_opt_in() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({**GOOD, "DYNO": "web.1"})
    (problem,) = info.value.problems
    assert "Heroku" in problem
    assert "DATABASE_URL" in problem
    assert load_config({**GOOD, "DYNO": "web.1", "ALLOW_EPHEMERAL_STORAGE": "1"})
    assert load_config({**GOOD, "DYNO": "web.1", "DATABASE_URL": "postgresql://h/db"})
    assert load_config({**GOOD, "ALLOW_EPHEMERAL_STORAGE": "0"})  # elsewhere nothing changes
