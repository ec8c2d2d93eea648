"""Customers' privacy requests made in the chat (a copy, an erasure): recorded with a reference and a due date,
queued for an admin in the console (the oldest due first), marked done or cancelled.

The due date is fixed when the request is recorded: `requested_at` + `TANDEM_ERASURE_DUE_DAYS` (default 30, what
the chat promises). A pending request is overdue once its due date has passed, and due soon within `DUE_SOON`
before it.

Every function takes the caller's session and does not commit: the caller commits before it tells anyone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import PRIVACY_REQUEST_KINDS, PRIVACY_REQUEST_STATUSES, Customer, PrivacyRequest, utcnow

REFERENCE_PREFIX = "PRIV-"
DUE_SOON = timedelta(days=3)  # a pending request this close to its due date is flagged in the console
_HANDLER_LIMIT = 100


class PrivacyRequestError(Exception):
    """Base of the requests store's errors; the message is safe to show to an admin."""


class PrivacyRequestNotFound(PrivacyRequestError, LookupError):
    pass


class PrivacyRequestClosed(PrivacyRequestError):
    """The request was already done or cancelled (by someone else, or earlier)."""


@dataclass(frozen=True)
class PrivacyRequestView:
    """A request as it was when read: safe to keep after the session is gone. The customer is None once erased."""

    id: int
    reference: str
    kind: str
    status: str
    customer_id: int | None
    customer_external_id: str | None
    customer_name: str | None
    conversation_id: str | None
    requested_at: datetime
    due_at: datetime
    handled_at: datetime | None
    handled_by: str | None

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    def is_overdue(self, now: datetime) -> bool:
        """Still pending after its due date: the promise to the customer is broken."""
        return self.is_pending and now > self.due_at

    def is_due_soon(self, now: datetime) -> bool:
        """Pending, not yet overdue, and due within `DUE_SOON`."""
        return self.is_pending and not self.is_overdue(now) and self.due_at - now <= DUE_SOON


def _view(request: PrivacyRequest, customer: Customer | None) -> PrivacyRequestView:
    return PrivacyRequestView(
        id=int(request.id),
        reference=request.reference,
        kind=request.kind,
        status=request.status,
        customer_id=request.customer_id,
        customer_external_id=customer.external_id if customer is not None else None,
        customer_name=customer.name if customer is not None else None,
        conversation_id=request.conversation_id,
        requested_at=request.requested_at,
        due_at=request.due_at,
        handled_at=request.handled_at,
        handled_by=request.handled_by,
    )


def due_date(requested_at: datetime, due_days: int | None = None) -> datetime:
    """When a request made at `requested_at` must be carried out: `due_days` later (default: the configured
    `TANDEM_ERASURE_DUE_DAYS`)."""
    if due_days is None:
        from bot.settings import get_settings

        due_days = get_settings().erasure_due_days
    return requested_at + timedelta(days=due_days)


def _with_customer() -> Select:
    """Requests with their customer (None once erased), read afresh: bulk updates here bypass the session."""
    return (
        select(PrivacyRequest, Customer)
        .outerjoin(Customer, Customer.id == PrivacyRequest.customer_id)
        .execution_options(populate_existing=True)
    )


def _new_reference(session: Session) -> str:
    """`PRIV-` and six random digits, unused so far (random, so a reference tells nothing about how many)."""
    while True:
        candidate = f"{REFERENCE_PREFIX}{secrets.randbelow(1_000_000):06d}"
        if session.execute(select(PrivacyRequest.id).where(PrivacyRequest.reference == candidate)).first() is None:
            return candidate


def pending_request(session: Session, customer_id: int, kind: str) -> PrivacyRequestView | None:
    """The customer's pending request of this kind, if there is one."""
    row = session.execute(
        _with_customer().where(
            PrivacyRequest.customer_id == customer_id, PrivacyRequest.kind == kind, PrivacyRequest.status == "pending"
        )
    ).first()
    return _view(row[0], row[1]) if row is not None else None


def record_request(
    session: Session,
    customer_id: int,
    kind: str,
    conversation_id: str | None,
    *,
    status: str = "pending",
    now: datetime | None = None,
    due_days: int | None = None,
) -> PrivacyRequestView:
    """Record a customer's request, due `due_days` later (default: the configured days); a second pending
    request of the same kind returns the first one, with its own due date.

    `status="done"` records one carried out at once (a copy given in the chat)."""
    if kind not in PRIVACY_REQUEST_KINDS:
        raise ValueError(f"a privacy request is one of {PRIVACY_REQUEST_KINDS}, not {kind!r}")
    if status not in PRIVACY_REQUEST_STATUSES:
        raise ValueError(f"a privacy request's status is one of {PRIVACY_REQUEST_STATUSES}, not {status!r}")
    if status == "pending":
        existing = pending_request(session, customer_id, kind)
        if existing is not None:
            return existing
    now = now or utcnow()
    request = PrivacyRequest(
        customer_id=customer_id,
        kind=kind,
        status=status,
        conversation_id=conversation_id[:128] if conversation_id else None,
        reference=_new_reference(session),
        requested_at=now,
        due_at=due_date(now, due_days),
        handled_at=None if status == "pending" else now,
        handled_by=None if status == "pending" else "customer",
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # The same request recorded by a message processed at the same moment: return that one.
        existing = pending_request(session, customer_id, kind) if status == "pending" else None
        if existing is None:
            raise
        return existing
    return get_request(session, int(request.id))


def pending_requests(session: Session, *, overdue_at: datetime | None = None) -> list[PrivacyRequestView]:
    """The requests waiting for an admin, the oldest due first, with the customer's external id and name; with
    `overdue_at`, only those already overdue at that time."""
    query = _with_customer().where(PrivacyRequest.status == "pending")
    if overdue_at is not None:
        query = query.where(PrivacyRequest.due_at < overdue_at)
    rows = session.execute(query.order_by(PrivacyRequest.due_at, PrivacyRequest.requested_at, PrivacyRequest.id)).all()
    return [_view(request, customer) for request, customer in rows]


def get_request(session: Session, request_id: int) -> PrivacyRequestView:
    """One request; `PrivacyRequestNotFound` if there is none."""
    row = session.execute(_with_customer().where(PrivacyRequest.id == request_id)).first()
    if row is None:
        raise PrivacyRequestNotFound(f"no privacy request {request_id}")
    return _view(row[0], row[1])


def _close(session: Session, request_id: int, status: str, by: str, now: datetime | None) -> PrivacyRequestView:
    current = get_request(session, request_id)
    if not current.is_pending:
        raise PrivacyRequestClosed(f"request {current.reference} is already {current.status}")
    changed = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.id == request_id, PrivacyRequest.status == "pending")
        .values(status=status, handled_at=now or utcnow(), handled_by=by.strip()[:_HANDLER_LIMIT] or "unknown")
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:
        raise PrivacyRequestClosed(f"request {current.reference} was handled meanwhile")
    return get_request(session, request_id)


def mark_done(session: Session, request_id: int, *, by: str, now: datetime | None = None) -> PrivacyRequestView:
    """A pending request carried out by `by`; `PrivacyRequestClosed` if it was already done or cancelled."""
    return _close(session, request_id, "done", by, now)


def cancel(session: Session, request_id: int, *, by: str, now: datetime | None = None) -> PrivacyRequestView:
    """A pending request dropped by `by`; `PrivacyRequestClosed` if it was already done or cancelled."""
    return _close(session, request_id, "cancelled", by, now)


def requests_of(session: Session, customer_id: int) -> list[PrivacyRequestView]:
    """A customer's requests, oldest first (for the export)."""
    rows = session.execute(
        _with_customer()
        .where(PrivacyRequest.customer_id == customer_id)
        .order_by(PrivacyRequest.requested_at, PrivacyRequest.id)
    ).all()
    return [_view(request, customer) for request, customer in rows]


def unlink_customer(session: Session, customer_id: int, *, by: str, now: datetime | None = None) -> int:
    """Erasure by `by`: the customer's pending erasure requests are done (a pending copy is cancelled: there is
    nobody left to give it to), and every request loses its links to them (customer, conversation); the
    reference, kind, status and dates stay. Returns the requests changed."""
    now = now or utcnow()
    by = by.strip()[:_HANDLER_LIMIT] or "unknown"
    for kind, status in (("erasure", "done"), ("export", "cancelled")):
        session.execute(
            update(PrivacyRequest)
            .where(
                PrivacyRequest.customer_id == customer_id,
                PrivacyRequest.kind == kind,
                PrivacyRequest.status == "pending",
            )
            .values(status=status, handled_at=now, handled_by=by)
            .execution_options(synchronize_session=False)
        )
    result = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.customer_id == customer_id)
        .values(customer_id=None, conversation_id=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
