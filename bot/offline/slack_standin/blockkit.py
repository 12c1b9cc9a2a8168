"""Block Kit checks: what Slack would refuse in a message, a modal or a Home tab (and more)."""

from __future__ import annotations

from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement

from bot.offline.slack_standin.records import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    PRIVATE_METADATA_LIMIT,
    SECTION_FIELD_LIMIT,
    SECTION_TEXT_LIMIT,
    TEXT_LIMIT,
    VIEW_BLOCK_LIMIT,
)


def validate_blocks(
    blocks: object, *, limit: int = MESSAGE_BLOCK_LIMIT, pointer: str = "/blocks"
) -> list[str]:
    """Problems Slack would report for a list of blocks, each with its JSON pointer; [] if none.

    >>> validate_blocks([{"type": "divider"}])
    []
    >>> validate_blocks([{"type": "nope"}])
    ['unknown block type "nope" [json-pointer:/blocks/0]']
    """
    if not isinstance(blocks, list):
        return [f"must be an array of blocks [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"a block must be an object with a string type [json-pointer:{at}]")
            continue
        errors.extend(_check_block(block, at))
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{at}/block_id]")
            block_ids.add(block_id)
    return errors


def validate_message(text: object, blocks: object) -> list[str]:
    """Problems with a message's `text` and `blocks` together (blocks may be None).

    >>> validate_message("", [{"type": "divider"}])
    ['a message with blocks needs a non-empty text fallback [json-pointer:/text]']
    """
    errors: list[str] = []
    if isinstance(text, str) and len(text) > TEXT_LIMIT:
        errors.append(
            f"text is {len(text)} characters, more than {TEXT_LIMIT} [json-pointer:/text]"
        )
    if blocks is not None:
        errors.extend(validate_blocks(blocks))
        if blocks and not (isinstance(text, str) and text.strip()):
            errors.append(
                "a message with blocks needs a non-empty text fallback [json-pointer:/text]"
            )
    return errors


def validate_view(view: object, *, kind: Literal["modal", "home"]) -> list[str]:
    """Problems Slack would report for a modal or Home tab view.

    >>> validate_view({"type": "home", "blocks": []}, kind="home")
    []
    """
    if not isinstance(view, dict):
        return ["view must be an object [json-pointer:/view]"]
    errors: list[str] = []
    if view.get("type") != kind:
        errors.append(f"view type must be {kind!r} [json-pointer:/view/type]")
    blocks = view.get("blocks", [])
    errors.extend(validate_blocks(blocks, limit=VIEW_BLOCK_LIMIT, pointer="/view/blocks"))
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > PRIVATE_METADATA_LIMIT:
        errors.append(
            f"private_metadata must be a string of at most {PRIVATE_METADATA_LIMIT} characters "
            "[json-pointer:/view/private_metadata]"
        )
    for key in ("callback_id", "external_id"):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            errors.append(f"must be a string of at most 255 characters [json-pointer:/view/{key}]")
    if kind == "modal":
        errors.extend(_check_text(view.get("title"), "/view/title", limit=24, plain_only=True))
        for key in ("submit", "close"):
            if key in view:
                errors.extend(_check_text(view[key], f"/view/{key}", limit=24, plain_only=True))
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            errors.append("a modal with input blocks needs a submit button [json-pointer:/view]")
    return errors


def _check_block(block: dict[str, Any], at: str) -> list[str]:
    try:
        parsed = Block.parse(block)
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"cannot be read as a {block['type']} block: {exc} [json-pointer:{at}]"]
    if parsed is None:
        return [f'unknown block type "{block["type"]}" [json-pointer:{at}]']
    errors: list[str] = []
    try:
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        errors.append(f"{exc} [json-pointer:{at}]")
    errors.extend(_check_block_content(block, at))
    for path, node in _walk(block, at):
        if node.get("type") == "button":
            errors.extend(
                _check_text(
                    node.get("text"), f"{path}/text", limit=BUTTON_TEXT_LIMIT, plain_only=True
                )
            )
            value = node.get("value")
            if isinstance(value, str) and len(value) > 2000:
                errors.append(f"must be at most 2000 characters [json-pointer:{path}/value]")
    return errors


def _check_block_content(block: dict[str, Any], at: str) -> list[str]:
    """Checks slack_sdk does not make: text objects, element types, Slack's own limits."""
    errors: list[str] = []
    kind = block["type"]
    if kind == "section":
        if "text" in block:
            errors.extend(_check_text(block["text"], f"{at}/text", limit=SECTION_TEXT_LIMIT))
        fields = block.get("fields")
        if isinstance(fields, list):
            if len(fields) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
            for index, item in enumerate(fields):
                errors.extend(_check_text(item, f"{at}/fields/{index}", limit=SECTION_FIELD_LIMIT))
        if "accessory" in block:
            errors.extend(_check_element(block["accessory"], f"{at}/accessory"))
    elif kind == "header":
        errors.extend(
            _check_text(block.get("text"), f"{at}/text", limit=HEADER_TEXT_LIMIT, plain_only=True)
        )
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must be a non-empty array [json-pointer:{at}/elements]")
        else:
            action_ids: set[str] = set()
            for index, element in enumerate(elements):
                errors.extend(_check_element(element, f"{at}/elements/{index}"))
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if isinstance(action_id, str):
                    if action_id in action_ids:
                        errors.append(
                            f"duplicate action_id {action_id!r} "
                            f"[json-pointer:{at}/elements/{index}/action_id]"
                        )
                    action_ids.add(action_id)
    elif kind == "input":
        errors.extend(_check_text(block.get("label"), f"{at}/label", limit=2000, plain_only=True))
        errors.extend(_check_element(block.get("element"), f"{at}/element"))
    elif kind == "rich_text":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must be a non-empty array [json-pointer:{at}/elements]")
    return errors


def _check_element(element: object, at: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"an element must be an object with a string type [json-pointer:{at}]"]
    if element["type"] in ("plain_text", "mrkdwn"):
        return _check_text(element, at, limit=SECTION_TEXT_LIMIT)
    try:
        parsed = BlockElement.parse(element)
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"cannot be read as a {element['type']} element: {exc} [json-pointer:{at}]"]
    if parsed is None:
        return [f'unknown element type "{element["type"]}" [json-pointer:{at}]']
    return []


def _check_text(obj: object, at: str, *, limit: int, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        wanted = " or ".join(allowed)
        return [f"must be a text object of type {wanted} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [f"must be a string [json-pointer:{at}/text]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [
            f"must be less than {limit + 1} characters (is {len(text)}) [json-pointer:{at}/text]"
        ]
    return []


def _walk(node: object, at: str) -> list[tuple[str, dict[str, Any]]]:
    """Every dict inside `node` with its JSON pointer, `node` first."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((at, node))
        for key, value in node.items():
            found.extend(_walk(value, f"{at}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_walk(value, f"{at}/{index}"))
    return found
