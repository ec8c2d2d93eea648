"""What the NLU inbox's page and API take from a request, checked before any of it reaches bot.review: the filter and
page of a query, and the body of an annotation. Anything malformed is a 400 with a sentence, never a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from multidict import MultiMapping

from bot.console.responses import ApiError
from bot.review.examples import EntitySpan
from bot.review.inbox import InboxError, InboxFilter
from bot.review.service import MAX_GROUP

MAX_PAGE = 1_000_000
MAX_ENTITIES = 50
MAX_NAME = 64  # an intent, an entity or a topic file's name
SINGLE_FIELDS = ("intent", "discard", "entities", "nlu_file", "domain_file")
GROUP_FIELDS = ("message_ids", "intent", "discard", "nlu_file", "domain_file")
EXAMPLE = '{"intent": "order_status"}, {"discard": true}'


@dataclass(frozen=True)
class InboxQuery:
    """A page of the inbox as the query asks for it; `since`/`until` as typed (calendar days, both included)."""

    filter: InboxFilter = field(default_factory=InboxFilter)
    page: int = 1
    page_size: int | None = None
    since: str = ""
    until: str = ""

    def query(self, page: int | None = None) -> list[tuple[str, str]]:
        """The query string's pairs for a link to `page` of the same filter."""
        pairs = [("reason", r) for r in self.filter.reasons]
        pairs += [(k, v) for k, v in (("since", self.since), ("until", self.until)) if v]
        if self.filter.intent:
            pairs.append(("intent", self.filter.intent))
        if self.page_size:
            pairs.append(("page_size", str(self.page_size)))
        return pairs + [("page", str(page or self.page))]


def sentence(exc: Exception) -> str:
    """An error of bot.review (a lower-case clause) as a sentence for the page."""
    message = str(exc)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{what} must be a date (YYYY-MM-DD), not {text[:40]!r}.") from None


def _whole(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, f"{what} must be a whole number from {low} to {high:,}.")
    return int(text)


def inbox_query(query: MultiMapping[str]) -> InboxQuery:
    """`reason` (repeatable), `since` and `until` (days, both included), `intent`, `page`, `page_size`."""
    reasons = tuple(dict.fromkeys(r.strip() for r in query.getall("reason", []) if r.strip()))
    since, until = (query.get("since") or "").strip(), (query.get("until") or "").strip()
    start = _day(since, "since") if since else None
    end = _day(until, "until") if until else None
    intent = (query.get("intent") or "").strip() or None
    if intent is not None and len(intent) > MAX_NAME:
        raise ApiError(400, f"intent must be at most {MAX_NAME} characters.")
    page = _whole((query.get("page") or "1").strip(), "page", 1, MAX_PAGE)
    size_text = (query.get("page_size") or "").strip()
    size = _whole(size_text, "page_size", 1, MAX_PAGE) if size_text else None
    try:
        f = InboxFilter(
            reasons,
            datetime.combine(start, datetime.min.time()) if start else None,
            datetime.combine(end + timedelta(days=1), datetime.min.time()) if end else None,
            intent,
        )
    except InboxError as exc:
        raise ApiError(400, sentence(exc)) from None
    return InboxQuery(f, page, size, since, until)


# --- annotation bodies ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Annotation:
    """An annotation as asked for: the arguments of bot.review.service's annotate_message / annotate_group."""

    intent: str | None = None
    discard: bool = False
    entities: tuple[EntitySpan, ...] | None = None
    nlu_file: str | None = None
    domain_file: str | None = None
    message_ids: tuple[int, ...] = ()


def _only(body: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(400, f'Unknown field "{unknown[0][:40]}"; the fields are {", ".join(known)}.')


def _name(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f'"{key}" must be a string or null.')
    value = value.strip()
    if not value:
        raise ApiError(400, f'"{key}" must not be empty (null when there is none).')
    if len(value) > MAX_NAME:
        raise ApiError(400, f'"{key}" must be at most {MAX_NAME} characters.')
    return value


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise ApiError(400, f"{what} must be a whole number.")
    return value


def _entities(value: Any) -> tuple[EntitySpan, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_ENTITIES:
        raise ApiError(400, f'"entities" must be a list of at most {MAX_ENTITIES} {{"start", "end", "entity"}}.')
    spans = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"start", "end", "entity"}:
            raise ApiError(400, f'entities[{i}] must be an object with "start", "end" and "entity".')
        entity = item["entity"]
        if not isinstance(entity, str) or not entity or len(entity) > MAX_NAME:
            raise ApiError(400, f"entities[{i}].entity must be an entity's name.")
        spans.append(
            EntitySpan(
                _integer(item["start"], f"entities[{i}].start"), _integer(item["end"], f"entities[{i}].end"), entity
            )
        )
    return tuple(spans)


def _decision(body: dict[str, Any]) -> tuple[str | None, bool]:
    discard = body.get("discard", False)
    if not isinstance(discard, bool):
        raise ApiError(400, '"discard" must be true or false.')
    intent = _name(body, "intent")
    if discard and (intent is not None or body.get("entities") or body.get("nlu_file")):
        raise ApiError(400, "Discard, or give an intent: not both.")
    return intent, discard


def single_annotation(body: dict[str, Any]) -> Annotation:
    """`{"intent": str or null (the NLU's own: a confirmation), "entities": [{start, end, entity}] or null (the
    placeholders), "nlu_file", "domain_file"}` or `{"discard": true}`."""
    _only(body, SINGLE_FIELDS)
    intent, discard = _decision(body)
    return Annotation(
        intent, discard, _entities(body.get("entities")), _name(body, "nlu_file"), _name(body, "domain_file")
    )


def group_annotation(body: dict[str, Any]) -> Annotation:
    """`{"message_ids": [int, ...], "intent": str or null (each message's own), "nlu_file", "domain_file"}` or with
    `"discard": true`."""
    _only(body, GROUP_FIELDS)
    ids = body.get("message_ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_GROUP:
        raise ApiError(400, f'"message_ids" must be a list of 1 to {MAX_GROUP} message ids.')
    intent, discard = _decision(body)
    return Annotation(
        intent,
        discard,
        None,
        _name(body, "nlu_file"),
        _name(body, "domain_file"),
        tuple(_integer(i, "each of message_ids") for i in ids),
    )
