"""The README, `/deepnote help`, the app manifest and the code agree."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.commands.docs import COMMANDS
from bot.commands.parse import parse_command
from bot.config import SETTINGS, Setting
from bot.errors import UserError
from handlers.dispatch import help_reply, supported_commands, supported_names
from tests.bot.slack.checks import mrkdwn_texts, visible
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MANIFEST = yaml.safe_load((ROOT / "app_manifest.yml").read_text(encoding="utf-8"))


def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads((DATA / "slack" / "manifest.schema.1.0.0.json").read_text())
    assert MANIFEST["_metadata"]["major_version"] == 1
    jsonschema.validate(MANIFEST, schema)


def test_manifest_cross_field_rules() -> None:
    settings = MANIFEST["settings"]
    socket = settings.get("socket_mode_enabled", False)
    interactivity = settings.get("interactivity", {})
    if interactivity.get("is_enabled"):
        assert socket or interactivity.get("request_url"), "interactivity needs a way in"
    for command in MANIFEST["features"]["slash_commands"]:
        assert socket or command.get("url"), "a slash command needs Socket Mode or a URL"
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_manifest_declares_the_command_and_needed_scopes() -> None:
    commands = MANIFEST["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/deepnote"]
    hint = commands[0]["usage_hint"]
    for name in ("run", "inputs", "status", "help"):
        assert name in hint
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write"} <= scopes


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_readme_documents_every_setting(setting: Setting) -> None:
    name = setting.name
    assert re.search(rf"`{name}`", README), f"{name} is not documented in README.md"


@pytest.mark.parametrize("name", supported_names())
def test_readme_documents_every_command_with_its_usage(name: str) -> None:
    doc = next(d for d in supported_commands() if d.name == name)
    assert f"/deepnote {doc.usage}" in README, f"usage of `{name}` missing from README.md"


def _commands_section() -> str:
    match = re.search(r"<!-- commands:start -->\n(.*?)<!-- commands:end -->", README, re.S)
    assert match, "README must mark its commands section with <!-- commands:start/end -->"
    return match.group(1)


@pytest.mark.parametrize("doc", COMMANDS, ids=lambda d: d.name)
def test_readme_commands_section_says_what_help_says(doc: object) -> None:
    """README's entry of each command has help's summary, every option line and example."""
    assert doc in COMMANDS
    section = _commands_section()
    entry = section.split(f"### `{doc.name}`\n", 1)[1].split("\n### ", 1)[0]
    assert f"`/deepnote {doc.usage}`" in entry
    assert doc.summary in entry
    for line in doc.details:
        assert f"- {line}" in entry
    for example in doc.examples:
        assert f"/deepnote {example}\n" in entry


def _help_lines(topic: str | None = None) -> list[str]:
    return visible("\n".join(mrkdwn_texts(help_reply(topic).blocks))).splitlines()


def test_help_is_a_compact_overview_one_line_per_command() -> None:
    lines = _help_lines()
    for doc in supported_commands():
        mine = [line for line in lines if line.startswith(f"`{doc.brief}`")]
        assert mine == [f"`{doc.brief}`  {doc.summary}"], doc.name
    # Only group names, one line per command and the pointer to `help <command>`.
    assert len(lines) == len(supported_commands()) + len({d.group for d in COMMANDS}) + 1
    assert "/deepnote help <command>" in lines[-1]
    examples = [e for d in COMMANDS if d.name in ("run", "schedule", "alias") for e in d.examples]
    assert not any(example in "\n".join(lines) for example in examples)


@pytest.mark.parametrize("name", supported_names())
def test_help_command_gives_usage_options_and_examples(name: str) -> None:
    doc = next(d for d in supported_commands() if d.name == name)
    text = "\n".join(_help_lines(name))
    assert f"Usage: `/deepnote {doc.usage}`" in text
    for line in doc.details:
        assert f"• {line}" in text
    for example in doc.examples:
        assert f"• `/deepnote {example}`" in text


def _readme_commands() -> list[str]:
    """Every `/deepnote …` line of README's code blocks."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith("/deepnote")
    ]


def test_readme_commands_are_commands_the_bot_takes() -> None:
    """Every command README shows in a code block parses, and every inline `/deepnote x`
    names a command this version serves."""
    shown = _readme_commands()
    assert len(shown) > 20
    for line in shown:
        try:
            parse_command(line)
        except UserError as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"README shows {line!r}, which the bot refuses: {exc}") from exc
    # Slack's own error text ("/deepnote failed with the error …") is quoted, not a command.
    for name in re.findall(r"`/deepnote ([a-z]+)\b(?! with the error)", README):
        assert name in supported_names(), f"README names `/deepnote {name}`, which is no command"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"```sh\n# Run the tests\n(.*?)\n```", README, re.S)
    assert match, "README must give the test command in a block starting '# Run the tests'"
    for line in match.group(1).splitlines():
        if line.strip() and not line.startswith("#"):
            assert line.strip() in ci, f"CI does not run `{line}`"


def test_entry_point_and_procfile() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["deepnote-bot"] == "bot.cli:main"
    assert (ROOT / "Procfile").read_text().strip() == "web: deepnote-bot serve"


def _layout_section() -> str:
    match = re.search(r"### Layout\n(.*?)(?=\n#{2,3} |\Z)", README, re.S)
    assert match, "README must have a '### Layout' section"
    return match.group(1)


def _named_in_layout() -> list[str]:
    """Every package, and every module of the runtime, that the layout must name."""
    names: list[str] = []
    for top in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "offline" in rel.parts[1:-1] and len(rel.parts) > 3:
                continue  # inside an offline tool's package: the package is named
            if path.name == "__init__.py":
                if len(rel.parts) > 2:
                    names.append(f"{rel.parts[-2]}/")
            elif path.name != "__main__.py" or top != "bot":
                names.append(path.name)
    return names


@pytest.mark.parametrize("name", _named_in_layout())
def test_readme_layout_names_every_package_and_module(name: str) -> None:
    layout = _layout_section()
    # Top-level modules of bot/ are spelled with their folder (`bot/app.py`).
    assert f"`{name}`" in layout or f"`bot/{name}`" in layout, (
        f"README's layout section does not say where {name} lives"
    )


def test_readme_layout_answers_where_things_are_decided() -> None:
    layout = _layout_section()
    for question in (
        "parsing a command",
        "checking inputs",
        "starting a run",
        "polling",
        "paces Slack messages",
        "renders a run card",
        "fire a schedule",
        "chat.update",
    ):
        assert question in layout, f"the layout section does not say where {question} lives"
