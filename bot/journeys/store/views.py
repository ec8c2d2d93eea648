"""What the journey store hands out: frozen views of journeys, its errors, and the queries that read them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, Journey
from bot.journeys.types import OPEN_STATES

# The intent the scheduler triggers in Rasa when a follow-up or nudge is due (entities: journey_id,
# follow_up_id). A turn with this intent is the bot speaking first, not the customer answering.
FOLLOW_UP_INTENT = "journey_follow_up"
FINAL_STATES = ("resolved", "closed")


class JourneyError(Exception):
    """Base of the store's errors."""


class JourneyNotFound(JourneyError, LookupError):
    """No such journey for this customer (also when it belongs to someone else: existence is not revealed)."""


class JourneyNotOpen(JourneyError):
    """The journey is resolved or closed: reopen it (`reopen_or_none`) or open a new one."""


class JourneyConflict(JourneyError):
    """Another turn changed the journey first; re-run the turn on the fresh state (`get`) and record again."""

    def __init__(self, journey_id: int | None, message: str) -> None:
        super().__init__(message)
        self.journey_id = journey_id


@dataclass(frozen=True)
class JourneyView:
    """A journey as it was when read: safe to keep after the session is gone."""

    id: int
    customer_id: int
    workflow: str
    problem_key: str
    state: str
    current_step: str | None
    context: Mapping[str, Any]
    opened_at: datetime
    updated_at: datetime
    steps: int
    escalation_reason: str | None
    outcome: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    last_conversation_id: str | None
    last_channel: str | None
    unanswered_nudges: int
    version: int

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def journey_view(j: Journey) -> JourneyView:
    return JourneyView(
        id=j.id,
        customer_id=j.customer_id,
        workflow=j.workflow,
        problem_key=j.problem_key,
        state=j.state,
        current_step=j.current_step,
        context=dict(j.context or {}),
        opened_at=j.opened_at,
        updated_at=j.updated_at,
        steps=j.step_count,
        escalation_reason=j.escalation_reason,
        outcome=j.outcome,
        resolved_by=j.resolved_by,
        resolved_at=j.resolved_at,
        closed_at=j.closed_at,
        reopened_count=j.reopened_count,
        last_conversation_id=j.last_conversation_id,
        last_channel=j.last_channel,
        unanswered_nudges=j.unanswered_nudges,
        version=j.version,
    )


# --- reading ------------------------------------------------------------------------------------------------------


def get(session: Session, journey_id: int, customer_id: int) -> JourneyView | None:
    """The journey, if it is this customer's (None for another customer's journey, as for a missing one)."""
    journey = session.execute(
        select(Journey)
        .where(Journey.id == journey_id, Journey.customer_id == customer_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return None if journey is None else journey_view(journey)


def open_journeys(session: Session, customer_id: int) -> list[JourneyView]:
    """The customer's unresolved journeys, most recently active first ("my open issues")."""
    rows = session.execute(
        select(Journey)
        .where(Journey.customer_id == customer_id, Journey.state.in_(OPEN_STATES))
        .order_by(Journey.updated_at.desc(), Journey.id.desc())
        .execution_options(populate_existing=True)
    ).scalars()
    return [journey_view(j) for j in rows]


def find_open(
    session: Session, customer_id: int, workflow: str | None = None, *, problem_key: str | None = None
) -> JourneyView | None:
    """The open journey to continue when the customer comes back (the most recently active one)."""
    stmt = select(Journey).where(Journey.customer_id == customer_id, Journey.state.in_(OPEN_STATES))
    if workflow is not None:
        stmt = stmt.where(Journey.workflow == workflow)
    if problem_key is not None:
        stmt = stmt.where(Journey.problem_key == problem_key)
    journey = session.execute(
        stmt.order_by(Journey.updated_at.desc(), Journey.id.desc()).limit(1).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return None if journey is None else journey_view(journey)


def customer_journeys(session: Session, customer_id: int, *, limit: int = 50) -> list[JourneyView]:
    """All of the customer's journeys, open or not, most recently active first (the CLI's listing)."""
    rows = session.execute(
        select(Journey)
        .where(Journey.customer_id == customer_id)
        .order_by(Journey.updated_at.desc(), Journey.id.desc())
        .limit(limit)
    ).scalars()
    return [journey_view(j) for j in rows]


def customer_of(session: Session, journey_id: int, *, conversation_id: str) -> str | None:
    """The external id of the customer whose journey last talked in `conversation_id` (None otherwise).

    Follow-ups arrive as intents the scheduler triggers, without a customer token: only the conversation the
    journey itself recorded may act for that customer."""
    return session.execute(
        select(Customer.external_id)
        .join(Journey, Journey.customer_id == Customer.id)
        .where(Journey.id == journey_id, Journey.last_conversation_id == conversation_id)
    ).scalar_one_or_none()


def open_workflows_of(session: Session, external_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(customer, workflow) of their open journeys, most recently active first."""
    if not external_ids:
        return []
    rows = session.execute(
        select(Customer.external_id, Journey.workflow)
        .join(Journey, Journey.customer_id == Customer.id)
        .where(Customer.external_id.in_(list(external_ids)), Journey.state.in_(OPEN_STATES))
        .order_by(Journey.updated_at.desc())
    ).all()
    return [(customer, workflow) for customer, workflow in rows]
