"""Scan slash command tokens into options, `name=value` inputs and plain words.

Every subcommand parser starts here; the errors say what went wrong and show the usage.

>>> from bot.text.tokens import tokenize_tokens
>>> items = scan("run", tokenize_tokens("sales a=1 --form"), {"form": False}, kv=True)
>>> [type(item).__name__ for item in items]
['Word', 'Pair', 'Option']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from bot.commands.docs import (
    INPUT_EXAMPLE,
    OPTION_EXAMPLES,
    QUOTED_EXAMPLE,
    usage_error,
    usage_hint,
)
from bot.errors import UserError
from bot.text.mrkdwn import code
from bot.text.tokens import Token, closest, quote_token, unescape_slack

MAX_INPUTS = 100


class Option(NamedTuple):
    """`--name` or `--name value`; `value` is None for a flag."""

    name: str
    value: str | None
    raw: str


class Pair(NamedTuple):
    """A `key=value` input."""

    key: str
    value: str
    raw: str


class Word(NamedTuple):
    """A plain word, with its neighbours' text for hints about stray `=` signs."""

    text: str
    quoted: bool
    prev_raw: str | None
    next_raw: str | None


Item = Option | Pair | Word

_OPTION_RE = re.compile(r"(?:--|—|–|−−|-)(?=[A-Za-z])")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>")


def _value(text: str) -> str:
    """An input value as the user meant it: Slack's link wrapping and entities undone."""
    link = _SLACK_LINK.fullmatch(text)
    if link:
        url, label = link.group(1), link.group(2)
        text = label if label else url.removeprefix("mailto:")
    return unescape_slack(text)


def _split_kv(text: str) -> tuple[str, str] | None:
    """`key=value` split at the first `=`; None for words and for links (`...?a=b`)."""
    key, sep, value = text.partition("=")
    if not sep or any(c in key for c in "/:<>"):
        return None
    return key, value


def scan(
    command: str, tokens: Sequence[Token], options: Mapping[str, bool], kv: bool
) -> list[Item]:
    """Classify tokens; `options` maps each option name to whether it takes a value."""
    items: list[Item] = []
    seen: set[str] = set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        prefix = None if tok.quoted else _OPTION_RE.match(tok.text)
        if prefix is None:
            pair = _split_kv(tok.text) if kv else None
            if pair is not None:
                items.append(Pair(pair[0], _value(pair[1]), tok.text))
            else:
                prev = tokens[i - 2].text if i >= 2 else None
                nxt = tokens[i].text if i < len(tokens) else None
                items.append(Word(tok.text, tok.quoted, prev, nxt))
            continue
        body = tok.text[prefix.end() :]
        name, sep, inline = body.partition("=")
        name = name.lower().replace("_", "-")
        if name not in options:
            raise _unknown_option(command, tok.text, name, options)
        if not options[name]:
            if sep:
                raise usage_error(
                    command, f"`--{name}` takes no value: got {quote_token(tok.text)}."
                )
            items.append(Option(name, None, tok.text))
            continue
        if name in seen:
            raise usage_error(command, f"`--{name}` is given twice; give it once.")
        seen.add(name)
        value: str | None = inline if sep else None
        if value is None and i < len(tokens):
            nxt_tok = tokens[i]
            if nxt_tok.quoted or not _OPTION_RE.match(nxt_tok.text):
                value = nxt_tok.text
                i += 1
        if value is None or not value.strip():
            raise UserError(
                f"`--{name}` needs a value.",
                hint=f"For example: {code(OPTION_EXAMPLES.get(name, f'--{name} VALUE'))}",
            )
        items.append(Option(name, unescape_slack(value), tok.text))
    return items


def _unknown_option(command: str, raw: str, name: str, options: Mapping[str, bool]) -> UserError:
    if not options:
        return usage_error(command, f"{quote_token(raw)}: `{command}` takes no options.")
    valid = ", ".join(f"`--{o}`" for o in options)
    guess = closest(name, list(options))
    suggestion = f" Did you mean `--{guess}`?" if guess else ""
    return usage_error(
        command,
        f"{quote_token(raw)} is not an option of `{command}`.{suggestion} "
        f"Its options are: {valid}.",
    )


def stray_word(command: str, word: Word, after: str = "") -> UserError:
    """The error for a word where an input belongs, guessing at a `name = value` typo."""
    prev, nxt = word.prev_raw or "", word.next_raw or ""
    if prev.endswith("=") and word.text != "=":
        spaced: str | None = prev + word.text
    elif nxt == "=":
        spaced = word.text + "=..."
    elif nxt.startswith("="):
        spaced = word.text + nxt
    else:
        spaced = INPUT_EXAMPLE if word.text == "=" else None
    hint = (
        f"Write inputs without spaces around `=`, e.g. {code(spaced, limit=60)}; "
        if spaced
        else f"Write inputs as `name=value`, e.g. `{INPUT_EXAMPLE}`; "
    ) + f"quote a value with spaces: `{QUOTED_EXAMPLE}`."
    return UserError(
        f"{quote_token(word.text)} is not a `name=value` input.{after}",
        hint=f"{hint}\n{usage_hint(command)}",
    )


_IDENTIFIER_HINT = re.compile(r"[^0-9A-Za-z_]+")


def input_pair(command: str, item: Pair, seen: set[str]) -> tuple[str, str]:
    """An input as (name, value), checking the name and that it is new (adds it to `seen`)."""
    key = item.key.strip()
    if not key:
        raise usage_error(
            command,
            f"{quote_token(item.raw)} has no input name before `=`. "
            f"Write `name=value` with no spaces, e.g. `{INPUT_EXAMPLE}`.",
        )
    if not key.isidentifier():
        fixed = _IDENTIFIER_HINT.sub("_", key).strip("_") or "region"
        if fixed[0].isdigit():
            fixed = "_" + fixed
        raise usage_error(
            command,
            f"{quote_token(key)} is not an input name: names are like Python variables "
            "(letters, digits and `_`, not starting with a digit)"
            f", e.g. {code(fixed + '=...')}.",
        )
    if key in seen:
        raise usage_error(command, f"The input {quote_token(key)} is given twice; give it once.")
    seen.add(key)
    return key, item.value


def check_input_count(command: str, inputs: Sequence[tuple[str, str]]) -> None:
    """Refuse more inputs than one command may carry."""
    if len(inputs) > MAX_INPUTS:
        raise usage_error(
            command,
            f"That is {len(inputs)} inputs; at most {MAX_INPUTS} can be given in one command.",
        )


def notebook_word(command: str, word: Word) -> str:
    """The notebook reference a word gives, Slack entities undone; never empty."""
    text = unescape_slack(word.text).strip()
    if not text:
        raise usage_error(command, f"`{command}` needs a notebook, but it is empty.")
    return text


def plain_words(
    command: str, tokens: Sequence[Token], at_least: int, at_most: int, what: str
) -> list[str]:
    """The plain arguments of a subcommand that takes no options, checking how many there are."""
    words = [item.text for item in scan(command, tokens, {}, kv=False) if isinstance(item, Word)]
    if len(words) < at_least:
        raise usage_error(command, f"`{command}` needs {what}.")
    if len(words) > at_most:
        extra = words[at_most]
        takes = f"takes only {what}" if at_most else "takes nothing else"
        raise usage_error(command, f"{quote_token(extra)} is not expected: `{command}` {takes}.")
    return words
