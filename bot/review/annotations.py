"""The store of annotations (`review_annotations`): what a CX user decided about an inbox message, each decision
audited (bot.review.audit).

An annotation is made on one message (`insight_turns.id`) and covers every message with the same normal form of
its redacted text (`key`), so all of them leave the inbox at once, and a second annotation of the same text is
refused. The decisions: `confirmed` (the NLU's intent was right), `relabelled` (another intent of the domain),
`new_intent` (an intent the domain does not have yet), `discarded` (not worth an example); an accepted one may mark
entities in the redacted text (its placeholders of known entities are marked unless the caller says otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ANNOTATION_ACTIONS, InsightTurn, ReviewAnnotation, ReviewMessage, utcnow
from bot.review import audit
from bot.review.examples import EntitySpan, ExampleError, check_spans, to_markdown
from bot.review.redact import Placeholder

INTENT_NAME = re.compile(r"[a-z][a-z0-9_]{1,63}")
NOT_AN_INTENT = ("nlu_fallback",)  # what the pipeline says when it is unsure: never a label to confirm


class AnnotationError(ValueError):
    """An annotation that cannot be made or changed (no such message, annotated already, a bad intent or entity);
    the message is safe to show."""


class NoSuchMessage(AnnotationError):
    """The message was never indexed, or its text was purged."""


class AlreadyAnnotated(AnnotationError):
    """The text (or a duplicate of it) has an annotation already."""


@dataclass(frozen=True)
class InboxMessage:
    """A message as the review may see it: redacted, with what the NLU made of it."""

    message_id: int
    key: str | None
    text: str
    placeholders: tuple[Placeholder, ...]
    intent: str | None
    confidence: float | None

    @property
    def entities(self) -> tuple[EntitySpan, ...]:
        return tuple(EntitySpan(p.start, p.end, p.entity) for p in self.placeholders if p.entity)


@dataclass(frozen=True)
class Decision:
    """What to record: one of ANNOTATION_ACTIONS, the intent (none when discarding), and the entities marked in the
    redacted text (None: the placeholders of known entities)."""

    action: str
    intent: str | None = None
    entities: tuple[EntitySpan, ...] | None = None


@dataclass(frozen=True)
class AnnotationView:
    id: int
    key: str
    message_id: int | None
    text: str
    action: str
    intent: str | None
    predicted_intent: str | None
    entities: tuple[EntitySpan, ...]
    annotated_by: str
    annotated_at: datetime
    nlu_file: str | None
    written_at: datetime | None

    @property
    def accepted(self) -> bool:
        return self.action != "discarded"

    @property
    def example(self) -> str:
        """The training example: the redacted text with its entities marked (`[TD010001](order_id)`)."""
        return to_markdown(self.text, self.entities)


def _view(row: ReviewAnnotation) -> AnnotationView:
    return AnnotationView(
        id=row.id,
        key=row.key,
        message_id=row.turn_id,
        text=row.text,
        action=row.action,
        intent=row.intent,
        predicted_intent=row.predicted_intent,
        entities=tuple(EntitySpan(e["start"], e["end"], e["entity"]) for e in row.entities or ()),
        annotated_by=row.annotated_by,
        annotated_at=row.annotated_at,
        nlu_file=row.nlu_file,
        written_at=row.written_at,
    )


def inbox_message(session: Session, message_id: int) -> InboxMessage:
    """The redacted message `message_id`; an error when it was never indexed (bot.review.messages) or was purged."""
    row = session.execute(
        select(
            ReviewMessage.key,
            ReviewMessage.text,
            ReviewMessage.placeholders,
            InsightTurn.intent,
            InsightTurn.confidence,
        )
        .join(InsightTurn, InsightTurn.id == ReviewMessage.turn_id)
        .where(ReviewMessage.turn_id == message_id, InsightTurn.text.is_not(None))
    ).one_or_none()
    if row is None:
        raise NoSuchMessage(f"no message {message_id} in the inbox")
    placeholders = tuple(Placeholder(**p) for p in row.placeholders or ())
    return InboxMessage(message_id, row.key, row.text, placeholders, row.intent, row.confidence)


def _checked(decision: Decision, message: InboxMessage) -> tuple[str | None, tuple[EntitySpan, ...]]:
    if decision.action not in ANNOTATION_ACTIONS:
        raise AnnotationError(f"unknown action {decision.action!r}; the actions are {', '.join(ANNOTATION_ACTIONS)}")
    if decision.action == "discarded":
        if decision.intent is not None or decision.entities:
            raise AnnotationError("a discarded message has no intent or entities")
        return None, ()
    intent = decision.intent if decision.intent is not None else message.intent
    if not intent or not INTENT_NAME.fullmatch(intent) or intent in NOT_AN_INTENT:
        raise AnnotationError(f"{intent!r} is not an intent name (lower case letters, digits and _)")
    if decision.action == "confirmed" and intent != message.intent:
        raise AnnotationError(f"confirming keeps the NLU's intent ({message.intent}); {intent} is a relabelling")
    if decision.action != "confirmed" and intent == message.intent:
        raise AnnotationError(f"{intent} is what the NLU said: that is a confirmation")
    entities = message.entities if decision.entities is None else decision.entities
    try:
        return intent, check_spans(message.text, entities)
    except ExampleError as exc:
        raise AnnotationError(str(exc)) from exc


def annotate(
    session: Session, message_id: int, decision: Decision, *, by: str, at: datetime | None = None
) -> AnnotationView:
    """Record the decision on the message (and so on its duplicates), and its audit row, in the caller's
    transaction."""
    message = inbox_message(session, message_id)
    if message.key is None:
        raise AnnotationError(f"message {message_id} was not typed (a button's payload): nothing to annotate")
    existing = session.execute(select(ReviewAnnotation).where(ReviewAnnotation.key == message.key)).scalar_one_or_none()
    if existing is not None:
        raise AlreadyAnnotated(
            f"this text was annotated already ({existing.action}, by {existing.annotated_by} "
            f"on {existing.annotated_at:%Y-%m-%d %H:%M} UTC, annotation {existing.id})"
        )
    intent, entities = _checked(decision, message)
    by = audit.check_actor(by)
    row = ReviewAnnotation(
        key=message.key,
        turn_id=message_id,
        text=message.text,
        action=decision.action,
        intent=intent,
        predicted_intent=message.intent,
        entities=[{"start": e.start, "end": e.end, "entity": e.entity} for e in entities],
        annotated_by=by,
        annotated_at=at or utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # annotated by someone else meanwhile; the caller's transaction is spent
        raise AlreadyAnnotated("this text was annotated by someone else just now") from exc
    view = _view(row)
    audit.record(
        session,
        actor=by,
        action="annotation.created",
        subject_kind="annotation",
        subject_id=view.id,
        at=view.annotated_at,
        changes={
            "message": message_id,
            "action": view.action,
            "intent": {"before": message.intent, "after": intent},
            "example": view.example if view.accepted else None,
        },
    )
    return view


def mark_written(
    session: Session, annotation_id: int, nlu_file: str, *, by: str, at: datetime | None = None
) -> AnnotationView:
    """Note that the accepted example is now in `nlu_file` (a path relative to the project), audited."""
    view = get_annotation(session, annotation_id)
    if not view.accepted:
        raise AnnotationError(f"annotation {annotation_id} was discarded: it has no example to write")
    if view.written_at is not None:
        raise AnnotationError(f"annotation {annotation_id} was written to {view.nlu_file} already")
    at = at or utcnow()
    session.execute(
        update(ReviewAnnotation).where(ReviewAnnotation.id == annotation_id).values(nlu_file=nlu_file, written_at=at)
    )
    audit.record(
        session,
        actor=by,
        action="annotation.written",
        subject_kind="annotation",
        subject_id=annotation_id,
        at=at,
        changes={"nlu_file": {"before": None, "after": nlu_file}, "intent": view.intent, "example": view.example},
    )
    return get_annotation(session, annotation_id)


def get_annotation(session: Session, annotation_id: int) -> AnnotationView:
    row = session.get(ReviewAnnotation, annotation_id, populate_existing=True)
    if row is None:
        raise AnnotationError(f"no annotation {annotation_id}")
    return _view(row)


def list_annotations(
    session: Session, *, accepted: bool | None = None, written: bool | None = None, limit: int = 100, offset: int = 0
) -> Sequence[AnnotationView]:
    """The latest first; `accepted`/`written` narrow it (accepted and not written: what still waits for a file)."""
    query = select(ReviewAnnotation).order_by(ReviewAnnotation.annotated_at.desc(), ReviewAnnotation.id.desc())
    if accepted is not None:
        discarded = ReviewAnnotation.action == "discarded"
        query = query.where(~discarded if accepted else discarded)
    if written is not None:
        query = query.where(
            ReviewAnnotation.written_at.is_not(None) if written else ReviewAnnotation.written_at.is_(None)
        )
    return tuple(_view(row) for row in session.execute(query.limit(limit).offset(offset)).scalars())
