"""What the console prints: the channel as a person would see it, event by event.

The transcript also remembers what it printed, so that the console can tell when a command
has been answered and how its run ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.offline.slack_standin import (
    Ephemeral,
    Event,
    FileShare,
    Message,
    ResponseUrlPost,
    View,
)
from bot.offline.terminal import BOLD, BUTTON_NUMBER, DIM, Style, render_message, render_view

ERROR_MARKER = ":warning:"
QUIET_SECONDS = 0.4
SETTLE_LIMIT = 3.0


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024 / 1024:.1f} MB"


def run_metadata(message: Message) -> tuple[str | None, str | None]:
    """The bot run id and kind ("card" or "result") a message's metadata names, if any."""
    payload = (message.metadata or {}).get("event_payload")
    if not isinstance(payload, Mapping):
        return None, None
    run, kind = payload.get("run"), payload.get("kind")
    return (str(run) if run else None), (str(kind) if kind else None)


def is_error(text: str) -> bool:
    """Whether the bot's reply is an error (every one starts with :warning:)."""
    return text.lstrip().startswith(ERROR_MARKER)


def answers_person(event: Event) -> bool:
    """An event that answers a button or a form: a modal, a note only the person sees, a
    direct message, or a refused reply."""
    record = event.record
    if isinstance(record, View):
        return True
    if isinstance(record, Ephemeral):
        return event.kind == "ephemeral"
    if isinstance(record, ResponseUrlPost):
        return record.error is not None
    return isinstance(record, Message) and event.kind == "message" and _is_dm(record)


def is_refusal(event: Event) -> bool:
    """An error shown to the person alone, or a reply Slack refused."""
    record = event.record
    if isinstance(record, ResponseUrlPost):
        return record.error is not None
    private = (isinstance(record, Ephemeral) and event.kind == "ephemeral") or (
        isinstance(record, Message) and event.kind == "message" and _is_dm(record)
    )
    return private and is_error(getattr(record, "text", ""))


def _is_dm(message: Message) -> bool:
    return message.channel.startswith(("D", "U", "W"))


@dataclass
class Button:
    """A button the person can press, on the message (or ephemeral) that shows it now."""

    number: int
    label: str
    element: dict[str, Any]
    block_id: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    ephemeral: bool = False
    gone: bool = False


def _label(element: Mapping[str, Any]) -> str:
    text = element.get("text")
    return str(text.get("text", "")) if isinstance(text, Mapping) else ""


@dataclass
class Turn:
    """One thing the person did (a command, a button, a form) and what has come back for it."""

    start: int
    refused: bool = False
    replies: int = 0
    kind: str = "command"
    text: str = ""
    runs_before: frozenset[str] = frozenset()
    # True once the bot's answer needs nothing more to arrive (e.g. it was in the response).
    answered: bool = False


@dataclass
class Transcript:
    """Prints what the channel shows as it happens, and remembers it to judge outcomes."""

    out: TextIO
    style: Style
    channel_name: str
    events: list[Event] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    last_activity: float = 0.0
    prompt: str | None = None
    broken: bool = False
    line_buffer: Callable[[], str] | None = None
    buttons: dict[int, Button] = field(default_factory=dict)
    _button_keys: dict[tuple[str, str, str], int] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _write: threading.Lock = field(default_factory=threading.Lock)

    # -- output -----------------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Print lines, keeping an interactive prompt at the bottom."""
        with self._write:
            if self.broken:
                return
            try:
                if self.prompt is not None:
                    self.out.write("\r\033[K")
                self.out.write(text.rstrip("\n") + "\n")
                if self.prompt is not None:
                    typed = self.line_buffer() if self.line_buffer else ""
                    self.out.write(self.prompt + typed)
                self.out.flush()
            except BrokenPipeError:
                # Whoever read the output has gone (e.g. `| head`); stop writing and waiting.
                self.broken = True
        if self.broken:
            with self.changed:
                self.changed.notify_all()

    def header(self, text: str, indent: str = "") -> str:
        """An event's first line, with the local time."""
        stamp = time.strftime("%H:%M:%S")
        return f"{indent}{self.style.wrap('──', DIM)} {text} {self.style.wrap(stamp, DIM)}"

    @staticmethod
    def body(text: str, indent: str = "   ") -> str:
        """Rendered lines, indented under their header."""
        return "\n".join(indent + line if line else indent.rstrip() for line in text.split("\n"))

    def numbered(
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]],
        *,
        thread_ts: str | None = None,
        ephemeral: bool = False,
    ) -> list[dict[str, Any]]:
        """Number the message's buttons (a button keeps its number across edits); the blocks
        to render, each button a copy carrying its number (the recorded blocks stay as Slack
        got them)."""

        def number(bid: str, element: Any) -> Any:
            """The element, numbered when it is a button."""
            if not isinstance(element, dict) or element.get("type") != "button":
                return element
            key = (ts, bid, str(element.get("action_id") or _label(element)))
            n = self._button_keys.setdefault(key, len(self._button_keys) + 1)
            self.buttons[n] = Button(
                n, _label(element), element, bid, channel, ts, text, blocks,
                thread_ts=thread_ts, ephemeral=ephemeral,
            )  # fmt: skip
            return {**element, BUTTON_NUMBER: n}

        shown: list[dict[str, Any]] = []
        for index, block in enumerate(blocks):
            if not isinstance(block, dict):
                shown.append(block)
                continue
            bid = str(block.get("block_id") or f"#{index}")
            copy = dict(block)
            if block.get("type") == "actions" and isinstance(block.get("elements"), list):
                copy["elements"] = [number(bid, e) for e in block["elements"]]
            if block.get("type") == "section" and "accessory" in block:
                copy["accessory"] = number(bid, block["accessory"])
            shown.append(copy)
        return shown

    def remove_buttons(self, ts: str) -> None:
        """The message at `ts` is gone: its buttons can no longer be pressed."""
        for button in self.buttons.values():
            if button.ts == ts:
                button.gone = True

    def render(self, text: str, blocks: list[dict[str, Any]] | None) -> str:
        """A message's text and blocks as terminal lines."""
        return render_message(
            text,
            blocks,
            color=self.style.color,
            users=self.style.users,
            channels=self.style.channels,
        )

    # -- events -----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The stand-in's subscriber: print the event, then record it."""
        text = self.describe(event)
        if text:
            self.write(text)
        with self.changed:
            self.events.append(event)
            self.last_activity = time.monotonic()
            self.changed.notify_all()

    def where(self, channel: str | None) -> str:
        """How a channel id reads: `#name`, or "direct message" for a user's DM."""
        if channel is None:
            return "(no channel)"
        if channel in self.style.channels:
            return f"#{self.style.channels[channel]}"
        if channel.startswith(("D", "U", "W")):
            return "direct message"
        return f"#{channel}"

    def number(self, ts: str) -> int:
        """The message's number in this conversation (1 for the first one shown)."""
        return self.numbers.setdefault(ts, len(self.numbers) + 1)

    def describe(self, event: Event) -> str | None:
        """What a person would notice about the event, as terminal text (None: nothing)."""
        record = event.record
        where = self.where(event.channel)
        if isinstance(record, Message):
            return self._message(event.kind, record, where)
        if isinstance(record, Ephemeral):
            return self._ephemeral(event.kind, record, where)
        if isinstance(record, ResponseUrlPost):
            if record.error is None:
                return None  # shown as the ephemeral or message it became
            return self.header(f"✗ the bot's reply was refused by Slack: {record.error}")
        if isinstance(record, FileShare):
            place = (
                f"in the thread of message {self.number(record.thread_ts)}"
                if record.thread_ts
                else (where if record.channel else "(not shared)")
            )
            line = f"📎 file {place}: {record.filename} ({_size(record.size)})"
            comment = record.initial_comment
            return self.header(line) + ("\n" + self.body(comment) if comment else "")
        if isinstance(record, View):
            rendered = render_view(
                record.view,
                color=self.style.color,
                users=self.style.users,
                channels=self.style.channels,
            )
            done = "updated" if record.versions else "opened"  # views.update keeps the id
            return self.header(f"▣ {record.kind} {done}") + "\n" + self.body(rendered, "   ┃ ")
        return None

    def _message(self, kind: str, record: Message, where: str) -> str | None:
        """A message posted, edited or deleted."""
        bot = self.style.wrap("Deepnote", BOLD)
        if kind == "message_deleted":
            self.remove_buttons(record.ts)
            return self.header(f"{where} · ✗ message {self.number(record.ts)} was deleted")
        blocks = self.numbered(
            record.channel, record.ts, record.text, record.blocks, thread_ts=record.thread_ts
        )
        rendered = self.render(record.text, blocks)
        if kind == "message_changed":
            if self.shown.get(record.ts) == rendered:
                return None
            self.shown[record.ts] = rendered
            what = "card" if run_metadata(record)[1] == "card" else "message"
            mark = self.style.wrap(f"✎ {what} updated", BOLD)
            top = self.header(f"{where} · {mark} (message {self.number(record.ts)})")
            return top + "\n" + self.body(rendered)
        if kind != "message":
            return None
        self.shown[record.ts] = rendered
        if record.is_reply:
            parent = self.number(record.thread_ts or "")
            top = self.header(f"↳ {bot} replied in the thread of message {parent}", "   ")
            return top + "\n" + self.body(rendered, "     │ ")
        top = self.header(f"{where} · {bot} · message {self.number(record.ts)}")
        return top + "\n" + self.body(rendered)

    def _ephemeral(self, kind: str, record: Ephemeral, where: str) -> str:
        """A message only the person sees, shown or dismissed."""
        if kind == "ephemeral_deleted":
            self.remove_buttons(record.message_ts)
            return self.header("✗ a message only visible to you was dismissed")
        if record.replaces:
            self.remove_buttons(record.replaces)
        blocks = self.numbered(
            record.channel,
            record.message_ts,
            record.text,
            record.blocks,
            thread_ts=record.thread_ts,
            ephemeral=True,
        )
        rendered = self.render(record.text, blocks)
        note = self.style.wrap("only visible to you", BOLD)
        bot = self.style.wrap("Deepnote", BOLD)
        return self.header(f"{where} · {bot} · {note}") + "\n" + self.body(rendered)

    def reply(self, text: str, blocks: list[dict[str, Any]] | None) -> None:
        """Show the bot's answer to the request itself (Slack shows it only to the user)."""
        note = self.style.wrap("only visible to you", BOLD)
        bot = self.style.wrap("Deepnote", BOLD)
        top = self.header(f"#{self.channel_name} · {bot} · {note}")
        self.write(top + "\n" + self.body(self.render(text, blocks)))

    # -- outcomes ---------------------------------------------------------------------------

    def touch(self) -> None:
        """Note activity now: settle() waits for a quiet moment after it."""
        with self.changed:
            self.last_activity = time.monotonic()

    def since(self, start: int) -> list[Event]:
        """Events recorded after the first `start` (call with `changed` held or not)."""
        with self.changed:
            return list(self.events[start:])

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds, re-checking on every event; False on timeout."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate() and not self.broken:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.1))
        return True

    def settle(self) -> None:
        """Wait until nothing has happened for a moment, so trailing replies are shown."""
        deadline = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < deadline:
            with self.changed:
                quiet_for = time.monotonic() - self.last_activity
            if quiet_for >= QUIET_SECONDS:
                return
            time.sleep(min(QUIET_SECONDS - quiet_for, 0.1) + 0.01)
