"""Customers' data rights as one service: a copy of their data (`export_customer`) and its erasure
(`erase_customer`), across the shop database, Rasa's tracker store and the recommender's model files.

The CLI calls it today; the chat's request flow (a signed-in customer asking for a copy or for deletion)
calls `request_export` / `request_erasure` with the verified external id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.db.models import utcnow
from bot.db.session import unit_of_work
from bot.privacy import erasure_store, model_scrub, records, tracker_store
from bot.privacy.config import DataLocations
from bot.privacy.erasure_store import ErasureRecord

EXPORT_FORMAT = "tandem-customer-export/1"


class UnknownCustomer(LookupError):
    """No such customer, and no erasure of one on record."""


def subject_hash(external_id: str, secret_key: str) -> str:
    """The audit's stand-in for an external id: HMAC-SHA256 keyed with the installation's secret."""
    return hmac.new(secret_key.encode(), f"privacy-subject:{external_id}".encode(), hashlib.sha256).hexdigest()


def export_customer(external_id: str, where: DataLocations | None = None) -> dict[str, Any]:
    """Everything held about the customer, as one JSON-ready document; `UnknownCustomer` if there is none.

    Raises `DatabaseUnavailable` or `tracker_store.TrackerStoreUnavailable` when a store cannot be read."""
    where = where or DataLocations.from_settings()
    external_id = external_id.strip()
    with unit_of_work(where.database_url) as session:
        found = records.customer_records(session, external_id)
    if found is None:
        raise UnknownCustomer(external_id)
    events = tracker_store.conversation_events(where.tracker_url, found.conversation_ids) if where.tracker_url else {}
    sections = dict(found.sections)
    sections["conversations"] = [
        {**conv, "events": [e.as_json() for e in events.get(conv["conversation_id"], [])]}
        for conv in sections["conversations"]
    ]
    return {
        "format": EXPORT_FORMAT,
        "customer": external_id,
        "exported_at": utcnow().isoformat(),
        **sections,
    }


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did: rows per store and table (empty when there was nothing left), or the earlier
    erasures on record when the customer was already gone."""

    external_id: str
    removed: Mapping[str, int] = field(default_factory=dict)
    audit_id: int | None = None
    earlier: tuple[ErasureRecord, ...] = ()

    @property
    def erased_now(self) -> bool:
        return self.audit_id is not None


def erase_customer(external_id: str, *, by: str, via: str = "cli", where: DataLocations | None = None) -> ErasureReport:
    """Erase the customer from every store; idempotent (a second call reports nothing left).

    The tracker store and the model files are cleared before the shop's database, which is changed last in one
    transaction with the audit row: if anything fails the customer is still found and a retry finishes the job.
    Raises `UnknownCustomer` for an id that was never erased and is not a customer, `DatabaseUnavailable`,
    `tracker_store.TrackerStoreUnavailable` or `model_scrub.ModelScrubFailed`.
    """
    where = where or DataLocations.from_settings()
    external_id = external_id.strip()
    subject = subject_hash(external_id, where.secret_key)
    with unit_of_work(where.database_url) as session:
        customer = records.find_customer(session, external_id)
        if customer is None:
            earlier = tuple(erasure_store.erasures_of(session, subject))
            if not earlier:
                raise UnknownCustomer(external_id)
            return ErasureReport(external_id, earlier=earlier)
        customer_id = customer.id
        conversations = records.conversation_ids_of(session, customer_id)
    removed: dict[str, int] = {}
    if where.tracker_url:
        removed["tracker events"] = tracker_store.delete_conversations(where.tracker_url, sorted(conversations))
    if where.events_url:  # not yet counted by the insights consumer, which would count them back in
        removed["event broker events"] = tracker_store.delete_broker_events(where.events_url, sorted(conversations))
    if where.models_dir is not None:
        removed["recommender model bundles"] = model_scrub.forget_customer(where.models_dir, external_id)
    with unit_of_work(where.database_url) as session:
        late = records.conversation_ids_of(session, customer_id) - conversations  # bound since the first read
        removed.update(erasure_store.erase_customer_rows(session, customer_id, conversations | late, by=by))
        removed = {k: v for k, v in removed.items() if v}
        audit_id = erasure_store.record_erasure(session, subject, requested_by=by, via=via, removed=removed)
    if late and where.tracker_url:
        removed["tracker events"] = removed.get("tracker events", 0) + tracker_store.delete_conversations(
            where.tracker_url, sorted(late)
        )
    return ErasureReport(external_id, removed=removed, audit_id=audit_id)


def erasures_on_record(external_id: str, where: DataLocations | None = None) -> list[ErasureRecord]:
    """The audit rows for this customer id (found by its keyed hash)."""
    where = where or DataLocations.from_settings()
    with unit_of_work(where.database_url) as session:
        return erasure_store.erasures_of(session, subject_hash(external_id.strip(), where.secret_key))


# --- the chat's entry points (the request flow itself is a later step) ------------------------------------------


def request_export(verified_external_id: str, where: DataLocations | None = None) -> dict[str, Any]:
    """A signed-in customer's own copy; the id must come from a verified token, never from the chat's text."""
    return export_customer(verified_external_id, where)


def request_erasure(
    verified_external_id: str, *, confirmed_at: datetime, where: DataLocations | None = None
) -> ErasureReport:
    """A signed-in customer's erasure, after they confirmed it in the chat (`confirmed_at`, for the record)."""
    return erase_customer(
        verified_external_id, by=f"customer (confirmed {confirmed_at:%Y-%m-%d %H:%M} UTC)", via="chat", where=where
    )
