"""Checking `--post-outputs NAMES` against a notebook before a run starts or a schedule is made.

A finished run's outputs are picked by block id, title, variable name or label
(`bot.deepnote.snapshot.results.block_names`); the same names are worked out here from the
notebook as `GET /v2/notebooks/{id}` describes it, so a name that can never match is refused
up front instead of silently posting nothing. Input, text and markdown blocks have no outputs,
so their names do not count. A big number's title may hold Jinja (`Revenue · {{ region }}`):
any text in place of a `{{ … }}` matches.

Some names live in a block's metadata (a SQL block's variable, a big number's title), which
the notebook's answer may leave out; when a name matches nothing else, those blocks are read
with `GET /v2/blocks/{id}` (at most `MAX_BLOCK_READS`). Beyond that the bot cannot be sure,
and lets the names through rather than refuse a good one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.deepnote.models import Notebook, NotebookBlock
from bot.deepnote.snapshot.parse import SnapshotBlock
from bot.deepnote.snapshot.results import block_names, heading_of
from bot.errors import UserError
from bot.text.mrkdwn import Markup, code, fill
from bot.text.tokens import list_tokens

MAX_BLOCK_READS = 10
MAX_LISTED = 15
_TEMPLATE = re.compile(r"\{\{.*?\}\}")
_PLAIN_TYPES = frozenset({"code", "markdown", "separator", "image", "button"})

ReadBlock = Callable[[str], NotebookBlock]


def _no_outputs(block_type: str) -> bool:
    return block_type in ("markdown", "separator", "image", "button") or block_type.startswith(
        ("text-cell-", "input-")
    )


def _needs_metadata(block: NotebookBlock) -> bool:
    """True when some of the block's names live in metadata the answer did not carry."""
    if block.metadata is not None or block.type in _PLAIN_TYPES:
        return False
    return not block.type.startswith(("text-cell-", "input-"))


@dataclass(frozen=True)
class OutputNames:
    """The names a notebook's outputs can be picked by, and each output block's title."""

    names: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    titles: tuple[str, ...]
    unknown: tuple[str, ...]
    """Blocks whose metadata was not read: names in it are not known."""

    def matches(self, wanted: str) -> bool:
        """True when `wanted` (any case) picks some output of the notebook."""
        key = wanted.strip().casefold()
        return key in self.names or any(p.fullmatch(key) for p in self.patterns)


def _template(title: str) -> re.Pattern[str] | None:
    """A big number's Jinja title as a pattern (each `{{ … }}` matches any text)."""
    if not _TEMPLATE.search(title):
        return None
    parts = [re.escape(p.casefold()) for p in _TEMPLATE.split(title)]
    return re.compile(".+".join(parts), re.DOTALL)


def _snapshot_block(
    block: NotebookBlock, notebook: Notebook, metadata: Mapping[str, Any] | None
) -> SnapshotBlock:
    meta = metadata or {}
    name = meta.get("deepnote_variable_name")
    label = meta.get("deepnote_input_label") or meta.get("deepnote_big_number_title")
    return SnapshotBlock(
        id=block.id,
        type=block.type,
        content=block.content,
        name=name if isinstance(name, str) and name else None,
        label=label if isinstance(label, str) and label else None,
        metadata=meta,
        notebook_id=notebook.id,
        notebook_name=notebook.name,
    )


def output_names(
    notebook: Notebook, read: Mapping[str, NotebookBlock] | None = None
) -> OutputNames:
    """Every name `--post-outputs` can pick an output of `notebook` by (`read`: blocks whose
    metadata was fetched separately).

    >>> nb = Notebook("n", "Sales", blocks=(NotebookBlock("b1", "text-cell-h1", "Revenue"),
    ...     NotebookBlock("b2", "code", "top = 3\\ntop"),
    ...     NotebookBlock("b3", "big-number", "", {"deepnote_big_number_title": "Sum · {{ r }}"})))
    >>> found = output_names(nb)
    >>> [found.matches(n) for n in ("TOP", "b2", "Sum · Europe", "revenue", "b1", "chart")]
    [True, True, True, False, False, False]
    """
    fetched = read or {}
    names: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    titles: list[str] = []
    unknown: list[str] = []
    heading: str | None = None
    for block in notebook.blocks:
        metadata = fetched[block.id].metadata if block.id in fetched else block.metadata
        snap = _snapshot_block(block, notebook, metadata)
        heading = heading_of(snap) or heading
        if _no_outputs(block.type):
            continue
        if metadata is None and _needs_metadata(block):
            unknown.append(block.id)
        title, block_keys = block_names(snap, heading)
        names |= block_keys
        titles.append(title)
        pattern = _template(snap.label or "") if block.type == "big-number" else None
        if pattern is not None:
            patterns.append(pattern)
    return OutputNames(frozenset(names), tuple(patterns), tuple(titles), tuple(unknown))


def selected_names(select: str | None) -> list[str]:
    """The names a `--post-outputs` value lists (none for `all`, `none` or no value).

    >>> selected_names("chart, Summary"), selected_names("all"), selected_names(None)
    (['chart', 'Summary'], [], [])
    """
    if select is None or select.strip().casefold() in ("", "all", "none"):
        return []
    return [s.strip() for s in select.split(",") if s.strip()]


def check_post_outputs(
    notebook: Notebook, select: str | None, *, read_block: ReadBlock, refused: str
) -> None:
    """Refuse `--post-outputs` names that pick no output of the notebook, listing the ones it
    has; `read_block` fetches a block's metadata when it is needed (see the module's doc)."""
    wanted = selected_names(select)
    if not wanted:
        return
    found = output_names(notebook)
    missing = [w for w in wanted if not found.matches(w)]
    if missing and found.unknown:
        if len(found.unknown) > MAX_BLOCK_READS:
            return  # too many blocks to read: let the names through rather than guess
        read = {block_id: read_block(block_id) for block_id in found.unknown}
        found = output_names(notebook, read)
        missing = [w for w in wanted if not found.matches(w)]
    if not missing:
        return
    titles = list(dict.fromkeys(found.titles))
    has = (
        fill("Its outputs are named {titles}.", titles=Markup(list_tokens(titles, MAX_LISTED)))
        if titles
        else Markup("It has no blocks with outputs.")
    )
    raise UserError(
        fill(
            "*{name}* has no output named {missing}. {has}",
            name=notebook.name or notebook.id,
            missing=Markup(list_tokens(missing, 10)),
            has=has,
        ),
        hint=f"{refused} Name outputs by those titles, a variable name or a block id, "
        f"or use {code('--post-outputs all')} or {code('--post-outputs none')}.",
    )
