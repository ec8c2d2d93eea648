"""`tandem recs report`: click-through and conversion per strategy, so strategies can be compared.

CTR = clicked impressions / impressions. Conversion = impressions followed by a purchase of the same product
by the same customer within `conversion_days` (an order, or a purchase event) / impressions.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
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


def strategy_report(
    session: Session, *, since: datetime, until: datetime, conversion_days: float = 14.0
) -> list[StrategyFigures]:
    """Figures per strategy for impressions shown in [since, until)."""
    impressions = session.execute(
        select(
            BehaviourEvent.customer_id,
            BehaviourEvent.product_id,
            BehaviourEvent.strategy,
            BehaviourEvent.request_id,
            BehaviourEvent.occurred_at,
        ).where(
            BehaviourEvent.kind == "impression",
            BehaviourEvent.occurred_at >= since,
            BehaviourEvent.occurred_at < until,
        )
    ).all()
    if not impressions:
        return []
    customers = {row.customer_id for row in impressions}
    clicked = {
        (c, p, r)
        for c, p, r in session.execute(
            select(BehaviourEvent.customer_id, BehaviourEvent.product_id, BehaviourEvent.request_id).where(
                BehaviourEvent.kind == "click", BehaviourEvent.occurred_at >= since
            )
        )
        if c in customers
    }
    horizon = until + timedelta(days=conversion_days)
    bought: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for c, p, t in session.execute(
        select(Order.customer_id, OrderLine.product_id, Order.placed_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.placed_at >= since, Order.placed_at < horizon, Order.status != "cancelled")
    ):
        if c in customers:
            bought[(c, p)].append(t)
    for c, p, t in session.execute(
        select(BehaviourEvent.customer_id, BehaviourEvent.product_id, BehaviourEvent.occurred_at).where(
            BehaviourEvent.kind == "purchase",
            BehaviourEvent.occurred_at >= since,
            BehaviourEvent.occurred_at < horizon,
        )
    ):
        if c in customers:
            bought[(c, p)].append(t)
    for times in bought.values():
        times.sort()

    window = timedelta(days=conversion_days)
    per: dict[str, dict] = defaultdict(lambda: {"customers": set(), "requests": set(), "imp": 0, "clk": 0, "conv": 0})
    for c, p, strategy, request, shown in impressions:
        figures = per[strategy or "unknown"]
        figures["customers"].add(c)
        figures["requests"].add(request)
        figures["imp"] += 1
        figures["clk"] += (c, p, request) in clicked
        times = bought.get((c, p), [])
        k = bisect.bisect_left(times, shown)
        figures["conv"] += k < len(times) and times[k] <= shown + window
    return sorted(
        (
            StrategyFigures(name, len(f["customers"]), len(f["requests"]), f["imp"], f["clk"], f["conv"])
            for name, f in per.items()
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
