"""`tandem recs report`: click-through and conversion per strategy, so strategies can be compared.

CTR = clicked impressions / impressions. Conversion = impressions followed by a purchase of the same product
by the same customer within `conversion_days` (an order, or a purchase event) / impressions.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, distinct, func, select, tuple_
from sqlalchemy.orm import Session

from bot.db.models import BehaviourEvent, Order, OrderLine


@dataclass(frozen=True)
class StrategyFigures:
    strategy: str
    customers: int
    requests: int
    impressions: int
    clicks: int
    conversions: int

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.impressions if self.impressions else 0.0


NO_STRATEGY = "unknown"
NO_REQUEST = "(none)"  # an impression or click without a request id: they match each other, as in Python


def strategy_report(
    session: Session, *, since: datetime, until: datetime, conversion_days: float = 14.0
) -> list[StrategyFigures]:
    """Figures per strategy for impressions shown in [since, until).

    Counted in SQL (a month holds tens of thousands of impressions); only the impressions of a product its customer
    bought in the window come back, to check each purchase's moment against the impression's."""
    B = BehaviourEvent
    shown = (B.kind == "impression", B.occurred_at >= since, B.occurred_at < until)
    strategy = func.coalesce(B.strategy, NO_STRATEGY)
    request = func.coalesce(B.request_id, NO_REQUEST)
    clicks = select(B.customer_id, B.product_id, request).where(B.kind == "click", B.occurred_at >= since)
    clicked = tuple_(B.customer_id, B.product_id, request).in_(clicks)
    counted = session.execute(
        select(
            strategy,
            func.count(distinct(B.customer_id)),
            func.count(distinct(request)),
            func.count(),
            func.coalesce(func.sum(case((clicked, 1), else_=0)), 0),
        )
        .where(*shown)
        .group_by(strategy)
    ).all()
    if not counted:
        return []
    horizon = until + timedelta(days=conversion_days)
    ordered = (Order.placed_at >= since, Order.placed_at < horizon, Order.status != "cancelled")
    purchased = (B.kind == "purchase", B.occurred_at >= since, B.occurred_at < horizon)
    lines = select(Order.customer_id, OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
    bought: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for c, p, t in session.execute(
        lines.add_columns(Order.placed_at)
        .where(*ordered)
        .union_all(select(B.customer_id, B.product_id, B.occurred_at).where(*purchased))
    ):
        bought[(c, p)].append(t)
    for times in bought.values():
        times.sort()
    pairs = lines.where(*ordered).union(select(B.customer_id, B.product_id).where(*purchased))
    candidates = session.execute(
        select(strategy, B.customer_id, B.product_id, B.occurred_at).where(
            *shown, tuple_(B.customer_id, B.product_id).in_(pairs)
        )
    )
    window = timedelta(days=conversion_days)
    conversions: dict[str, int] = defaultdict(int)
    for name, c, p, at in candidates:
        times = bought.get((c, p), [])
        k = bisect.bisect_left(times, at)
        conversions[name] += k < len(times) and times[k] <= at + window
    return sorted(
        (
            StrategyFigures(name, int(customers), int(requests), int(n), int(clicks), conversions[name])
            for name, customers, requests, n, clicks in counted
        ),
        key=lambda f: f.strategy,
    )


def format_report(rows: list[StrategyFigures]) -> str:
    if not rows:
        return "No recommendation impressions in this period."
    lines = [
        f"{'strategy':<18} {'customers':>9} {'requests':>8} {'shown':>7} {'clicks':>6} {'CTR':>7} "
        f"{'bought':>6} {'conversion':>10}"
    ]
    for r in rows:
        lines.append(
            f"{r.strategy:<18} {r.customers:>9} {r.requests:>8} {r.impressions:>7} {r.clicks:>6} {r.ctr:>7.2%} "
            f"{r.conversions:>6} {r.conversion_rate:>10.2%}"
        )
    return "\n".join(lines)
