"""Review tables (bot/review): the redacted copy of each customer message the NLU inbox reads, the CX team's
annotations, and the audit trail of what people changed (annotations now; response edits and publishes later)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)

from bot.db.models.base import EVENT_ID, Base, one_of, utcnow

ANNOTATION_ACTIONS = ("confirmed", "relabelled", "new_intent", "discarded")


class ReviewMessage(Base):
    """A customer message (`insight_turns`) as the NLU inbox reads it: without its personal data, with the key of its
    normal form and what makes it a candidate. The inbox groups and pages this one table in SQL, so redaction runs
    once per message and a page joins nothing; bot.review.messages keeps it in step with the analytics tables.
    Goes with its turn."""

    __tablename__ = "review_messages"

    turn_id = Column(
        EVENT_ID, ForeignKey("insight_turns.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    key = Column(BigInteger, nullable=True, index=True)  # text_key of `text`; NULL: not typed (a button's payload)
    text = Column(Text, nullable=False)  # redacted, one line
    placeholders = Column(JSON, nullable=False, default=list)  # [{start, end, kind, entity}] in `text`
    # The turn's, as the consumer wrote them (they never change) ...
    at = Column(DateTime, nullable=False, index=True)
    intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    margin = Column(Float, nullable=True)
    # ... and what may still change until the bot has acted on the message (`settled`).
    fallback = Column(Boolean, nullable=False, default=False)
    handoff = Column(Boolean, nullable=False, default=False)  # written after the bot stepped aside for a person
    settled = Column(Boolean, nullable=False, default=False, index=True)


class ReviewAnnotation(Base):
    """What a CX user decided about a message, and so about every message with the same normal form (`key`)."""

    __tablename__ = "review_annotations"
    __table_args__ = (
        CheckConstraint(f"action IN ({one_of(ANNOTATION_ACTIONS)})", name="action"),
        CheckConstraint("(action = 'discarded') = (intent IS NULL)", name="intent"),
        CheckConstraint("(nlu_file IS NULL) = (written_at IS NULL)", name="written"),
    )

    id = Column(Integer, primary_key=True)
    key = Column(BigInteger, nullable=False, unique=True)  # bot.review.examples.text_key of `text`
    turn_id = Column(EVENT_ID, ForeignKey("insight_turns.id", ondelete="SET NULL"), nullable=True, index=True)
    text = Column(Text, nullable=False)  # the redacted text it was made on
    action = Column(String(16), nullable=False)
    intent = Column(String(64), nullable=True)  # NULL when discarded
    predicted_intent = Column(String(64), nullable=True)  # what the NLU said
    entities = Column(JSON, nullable=False, default=list)  # [{start, end, entity}] in `text`
    annotated_by = Column(String(128), nullable=False)
    annotated_at = Column(DateTime, nullable=False, default=utcnow)
    nlu_file = Column(String(255), nullable=True)  # where the example was written (data/nlu/...), once it was
    written_at = Column(DateTime, nullable=True)


class ReviewAudit(Base):
    """Who changed what in the bot's content, and when: one row per change, never updated."""

    __tablename__ = "review_audit"
    __table_args__ = (Index("ix_review_audit_subject", "subject_kind", "subject_id", "at"),)

    id = Column(EVENT_ID, primary_key=True, autoincrement=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(128), nullable=False)
    action = Column(String(64), nullable=False)  # e.g. "annotation.created", "annotation.written"
    subject_kind = Column(String(32), nullable=False)  # e.g. "annotation", later "response", "model"
    subject_id = Column(String(128), nullable=True)
    changes = Column(JSON, nullable=False, default=dict)  # {field: {"before": ..., "after": ...}} or what was done
