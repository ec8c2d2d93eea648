"""Customers' data rights (bot/privacy): customers' requests for a copy or an erasure, and the audit trail of
erasures, which holds no personal data itself."""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy import text as sql_text

from bot.db.models.base import Base, one_of, utcnow

PRIVACY_REQUEST_KINDS = ("export", "erasure")
# pending: waits for an admin in the console; done: carried out (a copy is given at once); cancelled: an admin
# (or the customer) dropped it.
PRIVACY_REQUEST_STATUSES = ("pending", "done", "cancelled")


class PrivacyErasure(Base):
    """Who erased a customer, and when; the customer only as a keyed hash of their external id.

    The hash is an HMAC with the installation's secret, not a hash with a stored salt: external ids are few
    and guessable (`CUST-00042`), so anyone holding the table could hash them all and find a stored salt's
    match; without the secret they cannot. Whoever has the secret can still answer "was CUST-00042 erased?".
    """

    __tablename__ = "privacy_erasures"

    id = Column(Integer, primary_key=True)
    subject_hash = Column(String(64), nullable=False, index=True)
    requested_by = Column(String(100), nullable=False)  # the admin's name, or "customer" for a request in the chat
    via = Column(String(16), nullable=False)  # cli, chat, console
    erased_at = Column(DateTime, nullable=False, default=utcnow)
    removed = Column(JSON, nullable=False, default=dict)  # rows deleted or anonymised per table: counts only


class PrivacyRequest(Base):
    """A customer's request, made in the chat, for a copy of their data or its erasure.

    Erasing the customer marks their requests done and unlinks them (customer and conversation gone); the
    reference stays, so "PRIV-123456" can still be answered with "done, on ...". `due_at` is what the customer
    was promised when they asked; changing the setting later does not move it.
    """

    __tablename__ = "privacy_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN ({one_of(PRIVACY_REQUEST_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({one_of(PRIVACY_REQUEST_STATUSES)})", name="status"),
        # One pending request of a kind per customer: asking twice returns the first.
        Index(
            "uq_privacy_requests_customer_kind_pending",
            "customer_id",
            "kind",
            unique=True,
            sqlite_where=sql_text("status = 'pending'"),
            postgresql_where=sql_text("status = 'pending'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True)
    kind = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    conversation_id = Column(String(128), nullable=True)
    reference = Column(String(16), nullable=False, unique=True)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    due_at = Column(DateTime, nullable=False)  # requested_at + TANDEM_ERASURE_DUE_DAYS, fixed when recorded
    handled_at = Column(DateTime, nullable=True)
    handled_by = Column(String(100), nullable=True)  # the admin's name, or "customer" for a copy given at once
