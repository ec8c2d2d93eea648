"""What an agent needs to know about the customer of a handoff, read from the shop's database.

Profile, segment and spend, recent orders, open journeys (and where they stand), and what the bot
recommended lately. Only ever read for a handoff the agent may see (the caller checks), and a visitor
without an account simply has no context.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.handoff import store
from bot.handoff.store import HandoffView
from bot.journeys import store as journeys
from bot.personalization import store as personalization_store
from bot.shop.customers import CustomerView, get_customer
from bot.shop.orders import recent_orders

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

RECENT_ORDERS = 5
RECENT_RECOMMENDATIONS = 5


@dataclass(frozen=True)
class Profile:
    external_id: str
    name: str
    email: str
    phone: str | None
    since: datetime
    spend: Decimal | None  # the last year's, as the handoff's priority used it
    segment: str | None
    segment_cluster: str | None
    churn_risk: float | None
    next_best_action: str | None


@dataclass(frozen=True)
class OrderRow:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    items: str
    is_late: bool


@dataclass(frozen=True)
class JourneyRow:
    id: int
    workflow: str
    title: str
    state: str
    current_step: str | None
    opened_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Recommendation:
    product: str
    strategy: str | None
    at: datetime


@dataclass(frozen=True)
class CustomerContext:
    profile: Profile | None = None
    orders: tuple[OrderRow, ...] = ()
    journeys: tuple[JourneyRow, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()


@lru_cache(maxsize=1)
def workflow_titles() -> dict[str, str]:
    """Workflow key -> its title (workflows/); empty when they cannot be read."""
    try:
        from bot.journeys.workflows.loader import load_workflows

        return {key: wf.title for key, wf in load_workflows().items()}
    except Exception:
        log.warning("could not read the workflows' titles", exc_info=True)
        return {}


def workflow_title(key: str) -> str:
    return workflow_titles().get(key) or key.replace("_", " ").capitalize()


def _profile(
    session: Session, customer_id: int, customer: CustomerView, handoff: HandoffView, now: datetime
) -> Profile:
    segment = personalization_store.segment_of(session, customer.external_id)
    action = segment.next_best_action if segment and segment.next_best_action != "none" else None
    spend = handoff.customer_value
    if spend is None:
        spend = store.customer_spend(session, customer_id, now=now)
    return Profile(
        external_id=customer.external_id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        since=customer.created_at,
        spend=spend,
        segment=segment.rfm_segment.replace("_", " ") if segment else None,
        segment_cluster=segment.cluster_label if segment else None,
        churn_risk=segment.churn_risk if segment else None,
        next_best_action=action.replace("_", " ") if action else None,
    )


def _recommendations(session: Session, customer_id: int) -> tuple[Recommendation, ...]:
    shown = personalization_store.recent_impressions(session, customer_id, limit=RECENT_RECOMMENDATIONS)
    return tuple(Recommendation(name, strategy, at) for name, strategy, at in shown)


def customer_context(session: Session, handoff: HandoffView, *, now: datetime) -> CustomerContext:
    """The customer's context for `handoff` (empty for a visitor)."""
    if handoff.customer_id is None:
        return CustomerContext()
    customer = get_customer(session, handoff.customer_external_id)
    if customer is None:
        return CustomerContext()
    orders = tuple(
        OrderRow(
            number=o.number,
            status=o.status.replace("_", " "),
            placed_at=o.placed_at,
            total=o.total,
            items=", ".join(f"{line.quantity} × {line.product_name}" for line in o.lines),
            is_late=o.is_late,
        )
        for o in recent_orders(session, customer.external_id, limit=RECENT_ORDERS, today=now.date())
    )
    open_journeys = tuple(
        JourneyRow(
            id=j.id,
            workflow=j.workflow,
            title=workflow_title(j.workflow),
            state=j.state.replace("_", " "),
            current_step=j.current_step,
            opened_at=j.opened_at,
            updated_at=j.updated_at,
        )
        for j in journeys.open_journeys(session, handoff.customer_id)
    )
    return CustomerContext(
        profile=_profile(session, handoff.customer_id, customer, handoff, now),
        orders=orders,
        journeys=open_journeys,
        recommendations=_recommendations(session, handoff.customer_id),
    )


def context_json(context: CustomerContext) -> dict[str, Any]:
    """The context for the JSON API (dates as ISO strings, money as strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat() + "Z"
        if isinstance(value, Decimal):
            return str(value)
        return value

    def row(obj: Any) -> dict[str, Any]:
        return {k: plain(v) for k, v in vars(obj).items()}

    return {
        "profile": row(context.profile) if context.profile else None,
        "orders": [row(o) for o in context.orders],
        "journeys": [row(j) for j in context.journeys],
        "recommendations": [row(r) for r in context.recommendations],
    }
