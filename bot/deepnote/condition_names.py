"""Checking the names a `--notify-if` condition reads against a notebook, before anything starts.

The names are those `--post-outputs` accepts (`output_names`: a block's title, variable name,
label or id, a big number's title with any text in place of `{{ … }}`), plus the variable a
big number shows, matched as conditions match them (`name_key`: any case, spaces, `_` and `-`
alike). The notebook's blocks say which outputs exist but not what kind each will be, so
`rows("X")` is accepted for any output named X; a run where X is not a table is then posted with
a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.conditions import describe, name_key, operand_names, parse_condition
from bot.deepnote.models import Notebook, NotebookBlock
from bot.deepnote.output_names import (
    MAX_BLOCK_READS,
    MAX_LISTED,
    OutputNames,
    ReadBlock,
    output_names,
)
from bot.errors import UserError
from bot.text.mrkdwn import Markup, code, fill
from bot.text.tokens import list_tokens


def _variables(notebook: Notebook, read: Mapping[str, NotebookBlock]) -> list[str]:
    """The variables the notebook's big numbers show."""
    found = []
    for block in notebook.blocks:
        metadata = read[block.id].metadata if block.id in read else block.metadata
        variable = (metadata or {}).get("deepnote_big_number_value")
        if block.type == "big-number" and isinstance(variable, str) and variable:
            found.append(variable)
    return found


def _missing(wanted: list[str], found: OutputNames, variables: list[str]) -> list[str]:
    keys = {name_key(n) for n in found.names} | {name_key(v) for v in variables}
    return [
        w
        for w in wanted
        if name_key(w) not in keys and not any(p.fullmatch(w.casefold()) for p in found.patterns)
    ]


def check_condition(notebook: Notebook, text: str, *, read_block: ReadBlock, refused: str) -> str:
    """The condition in its canonical spelling, once every name it reads names an output of
    `notebook`; else a `UserError` listing the names the notebook's outputs do have."""
    condition = parse_condition(text)
    wanted = [name for name, _table in operand_names(condition)]
    found = output_names(notebook)
    read: dict[str, NotebookBlock] = {}
    missing = _missing(wanted, found, _variables(notebook, read))
    if missing and found.unknown and len(found.unknown) <= MAX_BLOCK_READS:
        read = {block_id: read_block(block_id) for block_id in found.unknown}
        found = output_names(notebook, read)
        missing = _missing(wanted, found, _variables(notebook, read))
    if missing and len(found.unknown) > MAX_BLOCK_READS:
        missing = []  # too many blocks to read: let the names through rather than guess
    if not missing:
        return describe(condition)
    names = list(dict.fromkeys([*found.titles, *_variables(notebook, read)]))
    has = (
        fill("Its outputs are named {names}.", names=Markup(list_tokens(names, MAX_LISTED)))
        if names
        else Markup("It has no blocks with outputs.")
    )
    raise UserError(
        fill(
            "*{name}* has no output named {missing}, so the condition {condition} could never "
            "be checked. {has}",
            name=notebook.name or notebook.id,
            missing=Markup(list_tokens(missing, 10)),
            condition=code(describe(condition), limit=200),
            has=has,
        ),
        hint=f"{refused} Name outputs by those titles or variable names (any case; quote "
        'names with spaces: `"Data freshness" >= 24`).',
    )
