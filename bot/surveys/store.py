"""The survey store: the questions put to customers and their answers, as frozen views.

Every function works inside the session it is given and only flushes, so the caller (a Rasa action) commits the
ask or the answer together with the rest of its turn, before the bot says anything. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import SURVEY_KINDS, SURVEY_SCALES, Customer, CustomerSegment, SurveyAsk, utcnow


class SurveyError(Exception):
    """Base of the store's errors."""


class SurveyNotFound(SurveyError, LookupError):
    """No such survey asked of this customer (also when it was someone else's: existence is not revealed)."""


class SurveyScoreError(SurveyError, ValueError):
    """A score off the survey's scale, or an answer this table does not keep (CSAT's is `journey_csat`'s)."""


@dataclass(frozen=True)
class SurveyView:
    """A survey ask as it was when read: safe to keep after the session is gone."""

    id: int
    kind: str
    customer_id: int
    conversation_id: str
    journey_id: int | None
    workflow: str | None
    moment: str
    channel: str | None
    asked_at: datetime
    score: int | None
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def scale(self) -> tuple[int, int]:
        return SURVEY_SCALES[self.kind]


def survey_view(row: SurveyAsk) -> SurveyView:
    return SurveyView(
        id=row.id,
        kind=row.kind,
        customer_id=row.customer_id,
        conversation_id=row.conversation_id,
        journey_id=row.journey_id,
        workflow=row.workflow,
        moment=row.moment,
        channel=row.channel,
        asked_at=row.asked_at,
        score=row.score,
        answered_at=row.answered_at,
    )


# --- writing ------------------------------------------------------------------------------------------------------


def lock_customer(session: Session, customer_id: int) -> None:
    """Hold the customer's row until the turn commits, so two turns cannot both decide that a survey is due
    (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has one writer at a time anyway)."""
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


def record_ask(
    session: Session,
    kind: str,
    customer_id: int,
    conversation_id: str,
    moment: str,
    *,
    journey_id: int | None = None,
    workflow: str | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> SurveyView:
    """A survey question put to the customer in this conversation (the caps count it from now on)."""
    if kind not in SURVEY_KINDS:
        raise SurveyScoreError(f"no survey kind {kind!r}")
    row = SurveyAsk(
        kind=kind,
        customer_id=customer_id,
        conversation_id=conversation_id[:128],
        journey_id=journey_id,
        workflow=workflow[:64] if workflow else None,
        moment=moment[:32],
        channel=channel[:32] if channel else None,
        asked_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return survey_view(row)


def record_answer(
    session: Session, survey_id: int, customer_id: int, score: int, *, now: datetime | None = None
) -> SurveyView:
    """The customer's answer to a survey they were asked (answering again replaces it: the latest counts)."""
    row = _own(session, survey_id, customer_id)
    lowest, highest = SURVEY_SCALES[row.kind]
    if row.kind == "csat":
        raise SurveyScoreError("a CSAT answer is kept in journey_csat (bot.journeys.store.record_csat)")
    if isinstance(score, bool) or not isinstance(score, int) or not lowest <= score <= highest:
        raise SurveyScoreError(
            f"a {row.kind.upper()} score is a whole number from {lowest} to {highest}, not {score!r}"
        )
    row.score = score
    row.answered_at = now or utcnow()
    session.flush()
    return survey_view(row)


def _own(session: Session, survey_id: int, customer_id: int) -> SurveyAsk:
    row = session.execute(
        select(SurveyAsk)
        .where(SurveyAsk.id == survey_id, SurveyAsk.customer_id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise SurveyNotFound(f"no survey {survey_id}")
    return row


# --- reading ------------------------------------------------------------------------------------------------------


def get(session: Session, survey_id: int, customer_id: int) -> SurveyView:
    """The customer's own survey; `SurveyNotFound` for another customer's, as for a missing one."""
    row = session.execute(
        select(SurveyAsk).where(SurveyAsk.id == survey_id, SurveyAsk.customer_id == customer_id)
    ).scalar_one_or_none()
    if row is None:
        raise SurveyNotFound(f"no survey {survey_id}")
    return survey_view(row)


def asked_since(session: Session, customer_id: int, since: datetime) -> list[SurveyView]:
    """The surveys put to the customer from `since` on, newest first (what the caps look at)."""
    rows = session.execute(
        select(SurveyAsk)
        .where(SurveyAsk.customer_id == customer_id, SurveyAsk.asked_at >= since)
        .order_by(SurveyAsk.asked_at.desc(), SurveyAsk.id.desc())
    ).scalars()
    return [survey_view(r) for r in rows]


def asked_in_conversation(session: Session, conversation_id: str) -> list[SurveyView]:
    """The surveys put in one conversation (Rasa sender id), to anyone, newest first."""
    rows = session.execute(
        select(SurveyAsk)
        .where(SurveyAsk.conversation_id == conversation_id)
        .order_by(SurveyAsk.asked_at.desc(), SurveyAsk.id.desc())
    ).scalars()
    return [survey_view(r) for r in rows]


def latest_of(session: Session, customer_id: int, survey_ids: Collection[int]) -> SurveyView | None:
    """The newest of these surveys that is the customer's (the one a typed answer answers)."""
    if not survey_ids:
        return None
    row = (
        session.execute(
            select(SurveyAsk)
            .where(SurveyAsk.id.in_(list(survey_ids)), SurveyAsk.customer_id == customer_id)
            .order_by(SurveyAsk.asked_at.desc(), SurveyAsk.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
    return None if row is None else survey_view(row)


def answers_query(
    kind: str,
    since: datetime,
    until: datetime,
    *,
    channel: str | None = None,
    segment: str | None = None,
    workflow: str | None = None,
) -> Select:
    """The answers to one CES or NPS survey given in [since, until), for the dashboard: columns `at` (when
    answered), `score`, `workflow` (NULL when no journey was involved), `segment` (the customer's RFM segment or
    NULL), `channel` and `conversation_id`. CSAT's answers are `journey_csat`'s."""
    if kind not in SURVEY_KINDS or kind == "csat":
        raise SurveyScoreError(f"no answers of {kind!r} are kept here")
    query = (
        select(
            SurveyAsk.answered_at.label("at"),
            SurveyAsk.score.label("score"),
            SurveyAsk.workflow.label("workflow"),
            CustomerSegment.rfm_segment.label("segment"),
            SurveyAsk.channel.label("channel"),
            SurveyAsk.conversation_id.label("conversation_id"),
        )
        .outerjoin(CustomerSegment, CustomerSegment.customer_id == SurveyAsk.customer_id)
        .where(
            SurveyAsk.kind == kind,
            SurveyAsk.answered_at.is_not(None),
            SurveyAsk.answered_at >= since,
            SurveyAsk.answered_at < until,
        )
    )
    if channel:
        query = query.where(SurveyAsk.channel == channel)
    if segment:
        query = query.where(CustomerSegment.rfm_segment == segment)
    if workflow:
        query = query.where(SurveyAsk.workflow == workflow)
    return query
