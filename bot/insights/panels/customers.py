"""The engagement panel: customers who came back, ordered again after a resolved issue or a clicked recommendation,
and the churn-risk customers who talked to the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import BehaviourEvent, CustomerSegment, InsightConversation, Journey, Order
from bot.insights.dashboard_config import DashboardConfig, dashboard_config
from bot.insights.scope import Compared, Filters, conversation_scope, in_segment, journey_scope, share
from bot.personalization.jobs.next_best_action import NextBestActionRules

C = InsightConversation


@dataclass(frozen=True)
class Engagement:
    """Customers who came back, bought again, or were at risk of leaving:

    - returning: signed-in customers of the period's conversations who had a conversation before it;
    - after a resolved issue: customers whose journey was resolved in the period, and those of them who ordered
      again within `repeat_days` of the resolution;
    - after a recommendation: customers who clicked one in the period, and those who ordered within `repeat_days`;
    - churn risk: customers the nightly segment refresh puts at or above the retention offer's risk
      (`TANDEM_NBA_RETENTION_MIN_RISK`), how many there are and how many talked to the bot in the period.
    """

    customers: int
    returning: int
    resolved_customers: int
    repurchased_after_resolution: int
    clicked_customers: int
    repurchased_after_click: int
    churn_risk_customers: int
    churn_risk_contacted: int
    churn_threshold: float
    repeat_days: float

    @property
    def returning_share(self) -> float | None:
        return share(self.returning, self.customers)

    @property
    def repurchase_after_resolution_share(self) -> float | None:
        return share(self.repurchased_after_resolution, self.resolved_customers)

    @property
    def repurchase_after_click_share(self) -> float | None:
        return share(self.repurchased_after_click, self.clicked_customers)

    @property
    def churn_risk_contacted_share(self) -> float | None:
        return share(self.churn_risk_contacted, self.churn_risk_customers)


def _ordered_again(session: Session, moments: Select, repeat_days: float) -> tuple[int, int]:
    """(customers, customers who placed a kept order within `repeat_days` after one of their moments)."""
    sub = moments.subquery()
    customers = session.execute(select(func.count(distinct(sub.c.customer_id)))).scalar_one()
    window = timedelta(days=repeat_days)
    rows = session.execute(
        select(sub.c.customer_id, sub.c.at, Order.placed_at)
        .join(Order, Order.customer_id == sub.c.customer_id)
        .where(Order.placed_at > sub.c.at, Order.status != "cancelled")
    )
    again = {customer for customer, at, placed in rows if placed <= at + window}
    return int(customers), len(again)


def _engagement(session: Session, f: Filters, config: DashboardConfig, threshold: float) -> Engagement:
    scope = conversation_scope(f)
    mine = select(C.customer_id).where(scope, C.customer_id.is_not(None)).distinct().subquery()
    earlier = C.__table__.alias("earlier")
    came_back = (
        select(earlier.c.id).where(earlier.c.customer_id == mine.c.customer_id, earlier.c.started_at < f.since).exists()
    )
    resolved = select(Journey.customer_id.label("customer_id"), Journey.resolved_at.label("at")).where(
        *journey_scope(f, Journey.resolved_at)
    )
    resolved_customers, after_resolution = _ordered_again(session, resolved, config.repeat_purchase_days)
    clicks = select(BehaviourEvent.customer_id.label("customer_id"), BehaviourEvent.occurred_at.label("at")).where(
        BehaviourEvent.kind == "click", BehaviourEvent.occurred_at >= f.since, BehaviourEvent.occurred_at < f.until
    )
    if f.segment:
        clicks = clicks.where(in_segment(BehaviourEvent.customer_id, f.segment))
    clicked_customers, after_click = _ordered_again(session, clicks, config.repeat_purchase_days)
    at_risk = select(CustomerSegment.customer_id).where(CustomerSegment.churn_risk >= threshold)
    if f.segment:
        at_risk = at_risk.where(CustomerSegment.rfm_segment == f.segment)
    risk_total = session.execute(select(func.count()).select_from(at_risk.subquery())).scalar_one()
    customers, returning, contacted = session.execute(  # one pass over the period's customers (a filter is costly)
        select(
            func.count(),
            func.coalesce(func.sum(case((came_back, 1), else_=0)), 0),
            func.coalesce(func.sum(case((mine.c.customer_id.in_(at_risk), 1), else_=0)), 0),
        ).select_from(mine)
    ).one()
    return Engagement(
        customers=int(customers),
        returning=int(returning),
        resolved_customers=resolved_customers,
        repurchased_after_resolution=after_resolution,
        clicked_customers=clicked_customers,
        repurchased_after_click=after_click,
        churn_risk_customers=int(risk_total),
        churn_risk_contacted=int(contacted),
        churn_threshold=threshold,
        repeat_days=config.repeat_purchase_days,
    )


def engagement(
    session: Session, f: Filters, config: DashboardConfig | None = None, churn_threshold: float | None = None
) -> Compared[Engagement]:
    config = config or dashboard_config()
    threshold = NextBestActionRules.from_env().retention_min_risk if churn_threshold is None else churn_threshold
    return Compared(_engagement(session, f, config, threshold), _engagement(session, f.previous(), config, threshold))
