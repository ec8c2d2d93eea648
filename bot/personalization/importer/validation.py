"""Turning a record's text values into a checked event or consent row, or the reasons it is refused.

Only what a row says about itself is checked here; whether its customer and SKU exist is decided when the
batch is written, with one query per batch.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.db.models import BEHAVIOUR_KINDS, BehaviourEvent, Customer, Product
from bot.personalization.importer.readers import _Record
from bot.personalization.importer.report import Errors, _quote
from bot.shop.catalog import normalize_category

# Clocks of exporting systems drift; anything later than now + this is a bad timestamp.
FUTURE_TOLERANCE = timedelta(minutes=10)
# Anything earlier is a placeholder (Unix time 0) or a misread date (20261101 as Unix seconds), not behaviour.
EARLIEST_TIMESTAMP = datetime(1990, 1, 1)

_UNIX_SECONDS = re.compile(r"-?\d+(?:\.\d*)?")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})

_EVENTS = BehaviourEvent.__table__
_CUSTOMER_ID_CHARS = Customer.__table__.c.external_id.type.length
_SKU_CHARS = Product.__table__.c.sku.type.length
_EVENT_ID_CHARS = _EVENTS.c.external_id.type.length
_TEXT_COLUMNS = ("channel", "strategy", "request_id")


def _text(
    values: Mapping[str, str], column: str, errors: Errors, *, required: bool = False, max_chars: int | None = None
) -> str | None:
    text = values.get(column)
    if text is None:
        if required:
            errors.append((column, "missing"))
        return None
    if max_chars is not None and len(text) > max_chars:
        errors.append((column, f"longer than {max_chars} characters"))
        return None
    return text


def _number(text: str, column: str, errors: Errors) -> float | None:
    try:
        number = float(text)
    except ValueError:
        errors.append((column, f"not a number: {_quote(text)}"))
        return None
    if not math.isfinite(number):
        errors.append((column, f"not a finite number: {_quote(text)}"))
        return None
    return number


def _timestamp(text: str | None, column: str, errors: Errors, now: datetime) -> datetime | None:
    """ISO 8601 (a zone is converted, none means UTC) or Unix seconds -> naive UTC, not in the future."""
    if text is None:
        return None
    hint = ""
    try:
        if _UNIX_SECONDS.fullmatch(text):
            seconds = float(text)
            hint = " (Unix milliseconds? give seconds)" if seconds > 1e11 else ""
            when = datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
        else:
            when = datetime.fromisoformat(text)
            if when.tzinfo is not None:
                when = when.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        errors.append((column, f"not an ISO 8601 date-time or Unix seconds{hint}: {_quote(text)}"))
        return None
    if when > now + FUTURE_TOLERANCE:
        errors.append((column, f"in the future ({when.isoformat(sep=' ')} UTC){hint}"))
        return None
    if when < EARLIEST_TIMESTAMP:
        errors.append((column, f"before {EARLIEST_TIMESTAMP.year} ({when.isoformat(sep=' ')} UTC): {_quote(text)}"))
        return None
    return when


def _content_id(*parts: object) -> str:
    """A deterministic event id for rows without one: the same event imported again gets the same id."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:48]


@dataclass(frozen=True)
class _EventRow:
    record: _Record
    customer: str
    kind: str
    sku: str | None
    category: str | None
    value: float | None
    occurred_at: datetime
    texts: dict[str, str | None]  # channel, strategy, request_id
    external_id: str


def _parse_event(record: _Record, now: datetime) -> tuple[_EventRow | None, Errors]:
    values = record.values
    errors: Errors = []
    customer = _text(values, "customer_id", errors, required=True, max_chars=_CUSTOMER_ID_CHARS)
    kind = _text(values, "kind", errors, required=True)
    if kind is not None:
        kind = kind.lower()
        if kind not in BEHAVIOUR_KINDS:
            errors.append(("kind", f"{_quote(kind)} is not one of {', '.join(BEHAVIOUR_KINDS)}"))
            kind = None
    sku = _text(values, "sku", errors, max_chars=_SKU_CHARS)
    category_text = values.get("category")
    category = normalize_category(category_text) if category_text else None
    if category_text and category is None:
        errors.append(("category", f"unknown category {_quote(category_text)}"))
    if sku is None and "sku" not in values:
        if kind == "dismissal" and category_text is None:
            errors.append(("sku", "missing (a dismissal needs a sku or a category)"))
        elif kind is not None and kind != "dismissal":
            errors.append(("sku", "missing (only a dismissal may name just a category)"))
    value = _event_value(values.get("value"), kind, errors)
    timestamp_text = _text(values, "timestamp", errors, required=True)
    occurred_at = _timestamp(timestamp_text, "timestamp", errors, now)
    texts = {c: _text(values, c, errors, max_chars=_EVENTS.c[c].type.length) for c in _TEXT_COLUMNS}
    event_id = _text(values, "event_id", errors, max_chars=_EVENT_ID_CHARS)
    if errors:
        return None, errors
    assert customer is not None and kind is not None and occurred_at is not None
    external_id = event_id or _content_id(
        customer, kind, sku, category, value, occurred_at.isoformat(), *texts.values()
    )
    return _EventRow(record, customer, kind, sku, category, value, occurred_at, texts, external_id), errors


def _event_value(text: str | None, kind: str | None, errors: Errors) -> float | None:
    if text is None:
        if kind == "rating":
            errors.append(("value", "missing (a rating needs a value from 1 to 5)"))
        return None
    value = _number(text, "value", errors)
    if value is None:
        return None
    if kind == "rating" and not 1 <= value <= 5:
        errors.append(("value", f"a rating must be from 1 to 5, not {_quote(text)}"))
    elif kind in ("purchase", "return") and (value < 1 or value != int(value)):
        errors.append(("value", f"a quantity must be a whole number of at least 1, not {_quote(text)}"))
    return value


@dataclass(frozen=True)
class _ConsentRow:
    record: _Record
    customer: str
    granted: bool
    updated_at: datetime


def _parse_consent(record: _Record, now: datetime) -> tuple[_ConsentRow | None, Errors]:
    values = record.values
    errors: Errors = []
    customer = _text(values, "customer_id", errors, required=True, max_chars=_CUSTOMER_ID_CHARS)
    granted_text = _text(values, "granted", errors, required=True)
    granted = None
    if granted_text is not None:
        granted = True if granted_text.lower() in _TRUE else False if granted_text.lower() in _FALSE else None
        if granted is None:
            errors.append(("granted", f"not true/false, 1/0 or yes/no: {_quote(granted_text)}"))
    updated_at = _timestamp(_text(values, "updated_at", errors, required=True), "updated_at", errors, now)
    if errors:
        return None, errors
    assert customer is not None and granted is not None and updated_at is not None
    return _ConsentRow(record, customer, granted, updated_at), errors
