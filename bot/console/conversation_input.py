"""What the conversation review's pages and API take from a request, checked before any of it reaches bot.review: the
filters and page of a query, and the bodies of tagging, marking reviewed, a note and Save as test. Anything malformed
is a 400 with a sentence, never a 500."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from multidict import MultiMapping

from bot.console.responses import ApiError
from bot.console.review_input import MAX_NAME, MAX_PAGE, sentence
from bot.review.conversations import ConversationError, ConversationFilter

YES_NO = {"yes": True, "no": False, "": None}
TEXT_FIELDS = ("since", "until", "channel", "intent", "fallback", "handoff", "sentiment_below", "csat_min", "csat_max")
MAX_CORRECTIONS = 500
MAX_TAG_LIST = 50


@dataclass(frozen=True)
class ConversationQuery:
    """A page of the conversation list as the query asks for it; `typed` keeps the fields as typed, for the form."""

    filter: ConversationFilter = field(default_factory=ConversationFilter)
    page: int = 1
    page_size: int | None = None
    typed: dict[str, str] = field(default_factory=dict)

    def query(self, page: int | None = None) -> list[tuple[str, str]]:
        """The query string's pairs for a link to `page` of the same filter."""
        pairs = [(k, v) for k, v in self.typed.items() if v]
        pairs += [("tag", t) for t in self.filter.tags]
        if self.page_size:
            pairs.append(("page_size", str(self.page_size)))
        return pairs + [("page", str(page or self.page))]

    @property
    def filtered(self) -> bool:
        return any(self.typed.values()) or bool(self.filter.tags)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{what} must be a date (YYYY-MM-DD), not {text[:40]!r}.") from None


def _whole(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, f"{what} must be a whole number from {low} to {high:,}.")
    return int(text)


def _yes_no(text: str, what: str) -> bool | None:
    if text not in YES_NO:
        raise ApiError(400, f"{what} must be yes, no or empty (either), not {text[:20]!r}.")
    return YES_NO[text]


def _score(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ApiError(400, f"{what} must be a number from -1 to 1, not {text[:20]!r}.")
    return value


def _name(text: str, what: str) -> str | None:
    if len(text) > MAX_NAME:
        raise ApiError(400, f"{what} must be at most {MAX_NAME} characters.")
    return text or None


def conversation_query(query: MultiMapping[str]) -> ConversationQuery:
    """`since`/`until` (days, both included), `channel`, `intent`, `fallback`/`handoff`/`reviewed` (yes, no),
    `sentiment_below` (-1..1), `csat_min`/`csat_max` (1..5), `outcome`, `tag` (repeatable), `page`, `page_size`."""
    typed = {k: (query.get(k) or "").strip() for k in (*TEXT_FIELDS, "outcome", "reviewed")}
    since = _day(typed["since"], "since") if typed["since"] else None
    until = _day(typed["until"], "until") if typed["until"] else None
    tags = tuple(dict.fromkeys(t.strip().lower() for t in query.getall("tag", []) if t.strip()))
    page = _whole((query.get("page") or "1").strip(), "page", 1, MAX_PAGE)
    size_text = (query.get("page_size") or "").strip()
    try:
        f = ConversationFilter(
            since=datetime.combine(since, datetime.min.time()) if since else None,
            until=datetime.combine(until + timedelta(days=1), datetime.min.time()) if until else None,
            channel=_name(typed["channel"], "channel"),
            intent=_name(typed["intent"], "intent"),
            fallback=_yes_no(typed["fallback"], "fallback"),
            handoff=_yes_no(typed["handoff"], "handoff"),
            sentiment_below=_score(typed["sentiment_below"], "sentiment_below") if typed["sentiment_below"] else None,
            csat_min=_whole(typed["csat_min"], "csat_min", 1, 5) if typed["csat_min"] else None,
            csat_max=_whole(typed["csat_max"], "csat_max", 1, 5) if typed["csat_max"] else None,
            outcome=_name(typed["outcome"], "outcome"),
            tags=tags,
            reviewed=_yes_no(typed["reviewed"], "reviewed"),
        )
    except ConversationError as exc:
        raise ApiError(400, sentence(exc)) from None
    size = _whole(size_text, "page_size", 1, MAX_PAGE) if size_text else None
    return ConversationQuery(f, page, size, typed)


# --- bodies ----------------------------------------------------------------------------------------------------------


def _only(body: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(400, f'Unknown field "{unknown[0][:40]}"; the fields are {", ".join(known)}.')


def tags_body(body: dict[str, Any]) -> list[str]:
    """`{"tags": ["misunderstood", ...]}`: the conversation's tags from now on."""
    _only(body, ("tags",))
    tags = body.get("tags")
    if not isinstance(tags, list) or len(tags) > MAX_TAG_LIST or not all(isinstance(t, str) for t in tags):
        raise ApiError(400, f'"tags" must be a list of at most {MAX_TAG_LIST} strings.')
    return tags


def reviewed_body(body: dict[str, Any]) -> bool:
    """`{"reviewed": true}` or false."""
    _only(body, ("reviewed",))
    value = body.get("reviewed")
    if not isinstance(value, bool):
        raise ApiError(400, '"reviewed" must be true or false.')
    return value


def note_body(body: dict[str, Any]) -> str:
    """`{"note": "..."}` ("" removes it)."""
    _only(body, ("note",))
    value = body.get("note")
    if not isinstance(value, str):
        raise ApiError(400, '"note" must be a string ("" for none).')
    return value


@dataclass(frozen=True)
class SaveTest:
    corrections: dict[int, str]
    name: str | None


def save_test_body(body: dict[str, Any]) -> SaveTest:
    """`{"corrections": {"<line>": "intent", ...}, "name": "story name" or null}`, both optional."""
    _only(body, ("corrections", "name"))
    raw = body.get("corrections") or {}
    if not isinstance(raw, dict) or len(raw) > MAX_CORRECTIONS:
        raise ApiError(400, '"corrections" must be an object of line numbers to intents, e.g. {"3": "order_status"}.')
    corrections = {}
    for key, intent in raw.items():
        if not str(key).isdigit() or len(str(key)) > 6:
            raise ApiError(400, f'"corrections": {str(key)[:20]!r} is not a line number.')
        if not isinstance(intent, str) or not intent.strip() or len(intent) > MAX_NAME:
            raise ApiError(400, f'"corrections": line {key} needs an intent name.')
        corrections[int(key)] = intent.strip()
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, '"name" must be a string or null.')
    return SaveTest(corrections, name.strip() or None if isinstance(name, str) else None)
