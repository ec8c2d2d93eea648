"""Customers' data rights (bot/privacy): the audit trail of erasures, which holds no personal data itself."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String

from bot.db.models.base import Base, utcnow


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
