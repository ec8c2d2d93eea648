"""`ShopFacts` on the shop database, through `bot.shop` (every lookup scoped by the verified customer id)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.journeys.workflows.facts import CustomerFacts, DeviceFacts, FactsFactory, OrderFacts, PlanFacts
from bot.shop import customers as shop_customers
from bot.shop import orders as shop_orders

RECENT_DELIVERY_DAYS = 14  # a delivery problem is about an order on its way or delivered this recently
CHOICES_SHOWN = 5
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s+\d[A-Z]{2}\b")


def postcode_area(address: str | None) -> str | None:
    """The postcode district ("BS9") of a UK address, or None."""
    match = _POSTCODE.search(address or "")
    return match.group(1) if match else None


class ShopDbFacts:
    """The shop as one customer's workflow sees it. `now` fixes the clock (tests, replays); default: UTC now."""

    def __init__(self, session: Session, customer_id: str, now: datetime | None = None) -> None:
        self.session = session
        self.customer_id = customer_id
        self._now = now

    @classmethod
    def at(cls, now: datetime | None = None) -> FactsFactory:
        """A facts factory for `WorkflowRunner` whose clock reads `now` (None: the real clock)."""
        return lambda session, customer_id: cls(session, customer_id, now=now)

    def now(self) -> datetime:
        return self._now or utcnow()

    @property
    def today(self) -> date:
        return self.now().date()

    def _order_facts(self, view: shop_orders.OrderView) -> OrderFacts:
        today = self.today
        delivered = view.delivered_at.date() if view.delivered_at else None
        late_by = (today - view.estimated_delivery).days if view.is_late and view.estimated_delivery else 0
        return OrderFacts(
            number=view.number,
            status=view.status,
            is_open=view.is_open,
            is_late=view.is_late,
            days_late=late_by,
            placed_on=view.placed_at.date(),
            estimated_delivery=view.estimated_delivery,
            delivered_on=delivered,
            days_since_delivery=(today - delivered).days if delivered else None,
            return_deadline=view.return_deadline,
            return_window_open=view.return_window_open,
            carrier=view.carrier,
            tracking_number=view.tracking_number,
            total=float(view.total),
            items=shop_orders.items_summary(view.lines),
        )

    def order(self, number: str) -> OrderFacts | None:
        view = shop_orders.get_customer_order(self.session, self.customer_id, number, today=self.today)
        return self._order_facts(view) if view else None

    def last_order(self) -> OrderFacts | None:
        views = self._recent()
        return self._order_facts(views[0]) if views else None

    def _recent(self) -> list[shop_orders.OrderView]:
        return shop_orders.recent_orders(self.session, self.customer_id, limit=50, today=self.today)

    def orders(self, which: str) -> Sequence[OrderFacts]:
        views = self._recent()
        if which == "open_orders":
            views = [v for v in views if v.is_open]
        elif which == "returnable_orders":
            views = [v for v in views if v.status == "delivered" and v.return_window_open]
        elif which == "delivery_orders":
            cutoff = self.today - timedelta(days=RECENT_DELIVERY_DAYS)
            views = [
                v
                for v in views
                if v.is_open or (v.status == "delivered" and v.delivered_at and v.delivered_at.date() >= cutoff)
            ]
        elif which != "recent_orders":
            raise ValueError(f"unknown order list {which!r}")
        return [self._order_facts(v) for v in views[:CHOICES_SHOWN]]

    def devices(self) -> Sequence[DeviceFacts]:
        today = self.today
        return [
            DeviceFacts(
                sku=d.sku,
                name=d.name,
                category=d.category,
                family=d.family,
                serial_number=d.serial_number,
                acquired_on=d.acquired_at.date(),
                age_days=(today - d.acquired_at.date()).days,
                bought_here=d.order_number is not None,
                order_number=d.order_number,
            )
            for d in shop_customers.customer_devices(self.session, self.customer_id)
        ]

    def plans(self) -> Sequence[PlanFacts]:
        today = self.today
        return [
            PlanFacts(
                sku=p.sku,
                name=p.name,
                category=p.category,
                monthly_price=float(p.monthly_price),
                started_on=p.started_at.date(),
                days_since_start=(today - p.started_at.date()).days,
            )
            for p in shop_customers.customer_plans(self.session, self.customer_id, active_only=True)
        ]

    def customer(self) -> CustomerFacts | None:
        profile = shop_customers.get_customer(self.session, self.customer_id)
        if profile is None:
            return None
        plans = self.plans()
        recent = self._recent()
        return CustomerFacts(
            first_name=profile.first_name,
            has_home_internet=any(p.category == "home_internet" for p in plans),
            has_mobile_plan=any(p.category == "mobile_plans" for p in plans),
            active_plans=len(plans),
            devices=len(self.devices()),
            orders=len(recent),
            open_orders=sum(1 for v in recent if v.is_open),
            returnable_orders=sum(1 for v in recent if v.status == "delivered" and v.return_window_open),
            postcode_area=postcode_area(recent[0].shipping_address) if recent else None,
        )
