"""What the response and workflow editors' API takes from a request body, checked before any of it reaches
bot.review: anything malformed is a 400 with a sentence, never a 500."""

from __future__ import annotations

from typing import Any

from bot.console.responses import ApiError
from bot.review.responses import OPS, Condition, VariationEdit

MAX_TEXT_FIELD = 4000
MAX_NAME = 64
RESPONSE_FIELDS = ("version", "op", "index", "text", "condition")
WORKFLOW_FIELDS = ("version", "key", "text")


def _only(body: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(400, f'Unknown field "{unknown[0][:40]}"; the fields are {", ".join(known)}.')


def _string(body: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f'"{key}" must be a string.')
    if len(value) > limit:
        raise ApiError(400, f'"{key}" must be at most {limit:,} characters.')
    return value


def _version(body: dict[str, Any]) -> str:
    value = _string(body, "version", 64)
    assert value is not None
    if not value.strip():
        raise ApiError(400, '"version" must be the version the editor was given.')
    return value.strip()


def _condition(value: Any) -> Condition | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"slot", "value"}:
        raise ApiError(400, '"condition" must be null or {"slot": ..., "value": ...}.')
    slot, wanted = value["slot"], value["value"]
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME for v in (slot, wanted)):
        raise ApiError(400, "A condition's slot and value must be names.")
    return Condition(slot, wanted)


def response_edit(body: dict[str, Any]) -> tuple[str, VariationEdit]:
    """`{"version", "op": "change"|"add"|"remove", "index" (0-based, not for add), "text", "condition": null or
    {"slot", "value"} (left out: unchanged)}`."""
    _only(body, RESPONSE_FIELDS)
    version = _version(body)
    op = body.get("op")
    if op not in OPS:
        raise ApiError(400, f'"op" must be one of {", ".join(OPS)}.')
    index = body.get("index")
    if op == "add":
        if index is not None:
            raise ApiError(400, 'A new variation goes after the others: leave out "index".')
    elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 1000:
        raise ApiError(400, '"index" must be the number of the variation, from 0.')
    text = _string(body, "text", MAX_TEXT_FIELD, required=op == "add")
    if op == "remove" and (text is not None or "condition" in body):
        raise ApiError(400, "A variation is removed whole: give no text or condition.")
    if op == "change" and text is None and "condition" not in body:
        raise ApiError(400, "Give the new text, the new condition, or both.")
    return version, VariationEdit(op, index, text, "condition" in body, _condition(body.get("condition")))


def workflow_edit(body: dict[str, Any]) -> tuple[str, str, str]:
    """`{"version", "key": "title" or "steps.<step>.buttons.<n>.title", "text"}`."""
    _only(body, WORKFLOW_FIELDS)
    version = _version(body)
    key = _string(body, "key", 200)
    text = _string(body, "text", MAX_TEXT_FIELD)
    assert key is not None and text is not None
    return version, key, text
