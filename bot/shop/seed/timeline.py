"""The generated shop's clock and an order's life cycle: when it is picked, shipped, delivered, cancelled or
returned, and what its status is at the shop's "now"."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.db.models import OPEN_ORDER_STATUSES

RECENT_DAYS = 10  # orders still in flight are placed within this many days
SEED_CLOCK = time(12, 0)  # "now" of the generated shop, on the anchor date (UTC)


def seed_now(anchor: date) -> datetime:
    """The generated shop's "now": `anchor` at 12:00 UTC (naive)."""
    return datetime.combine(anchor, SEED_CLOCK)


@dataclass(frozen=True)
class Timeline:
    """Everything that happens (or will happen) to an order; `state(now)` reads it at the shop's clock."""

    placed_at: datetime
    processing_at: datetime
    shipped_at: datetime
    out_for_delivery_at: datetime
    delivered_at: datetime
    estimated_delivery: date
    cancel_at: datetime | None
    return_at: datetime | None

    def state(self, now: datetime) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "placed_at": self.placed_at,
            "estimated_delivery": self.estimated_delivery,
            "shipped_at": None,
            "delivered_at": None,
            "cancelled_at": None,
        }
        if self.cancel_at is not None and self.cancel_at <= now:
            fields.update(status="cancelled", cancelled_at=self.cancel_at)
        elif self.shipped_at > now:
            fields["status"] = "processing" if self.processing_at <= now else "placed"
        else:
            fields["shipped_at"] = self.shipped_at
            if self.delivered_at <= now:
                fields["delivered_at"] = self.delivered_at
                returned = self.return_at is not None and self.return_at <= now
                fields["status"] = "returned" if returned else "delivered"
            elif self.out_for_delivery_at <= now:
                fields["status"] = "out_for_delivery"
            else:
                fields["status"] = "shipped"
        return fields


def at_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def timeline(rng: random.Random, placed_at: datetime) -> Timeline:
    """A realistic life cycle: picked within hours, dispatched in 0.5-2 days, delivered 1-3 days later.

    The estimated date is what the shop promised from the planned timings; a few orders then hit a stock
    problem or a carrier delay, which is what makes them late.
    """
    processing_at = placed_at + timedelta(hours=rng.uniform(0.5, 6))
    dispatch = timedelta(hours=rng.uniform(10, 40))
    transit = timedelta(hours=rng.uniform(16, 60))
    planned_arrival = placed_at + dispatch + transit
    estimated = planned_arrival.date() + timedelta(days=rng.choice((0, 1, 1, 2)))
    if rng.random() < 0.05:  # stock problem at the warehouse
        dispatch += timedelta(days=rng.uniform(2, 7))
    if rng.random() < 0.09:  # carrier delay
        transit += timedelta(days=rng.uniform(1.5, 5))
    shipped_at = placed_at + dispatch
    arrival = shipped_at + transit
    delivery_day = arrival.date() + timedelta(days=1 if arrival.hour >= 19 else 0)
    delivered_at = datetime.combine(delivery_day, time(9)) + timedelta(minutes=rng.uniform(0, 11 * 60))
    if delivered_at < shipped_at + timedelta(hours=8):
        delivered_at += timedelta(days=1)
    out_for_delivery_at = datetime.combine(delivered_at.date(), time(7)) + timedelta(minutes=rng.uniform(0, 90))
    if out_for_delivery_at <= shipped_at:
        out_for_delivery_at = shipped_at + timedelta(hours=1)
    cancel_at = None
    if rng.random() < 0.05:  # customer cancels before dispatch
        cancel_at = placed_at + dispatch * rng.uniform(0.05, 0.9)
    return_at = None
    if rng.random() < 0.06:  # sent back within the 30-day window
        return_at = delivered_at + timedelta(days=rng.uniform(1, 28))
    return Timeline(
        placed_at=at_second(placed_at),
        processing_at=at_second(processing_at),
        shipped_at=at_second(shipped_at),
        out_for_delivery_at=at_second(out_for_delivery_at),
        delivered_at=at_second(delivered_at),
        estimated_delivery=estimated,
        cancel_at=at_second(cancel_at) if cancel_at else None,
        return_at=at_second(return_at) if return_at else None,
    )


# Scenarios guaranteed among recent orders, so every status (and a late order) exists even in a small shop.
SCENARIOS: tuple[str, ...] = (
    "placed",
    "processing",
    "shipped",
    "out_for_delivery",
    "late",
    "delivered",
    "cancelled",
    "late",
)


def _matches(scenario: str, fields: dict[str, Any], now: datetime) -> bool:
    status = fields["status"]
    late = status in OPEN_ORDER_STATUSES and fields["estimated_delivery"] < now.date()
    if scenario == "late":
        return late
    if scenario == "delivered":
        return status == "delivered" and fields["delivered_at"] >= now - timedelta(days=RECENT_DAYS)
    return status == scenario and not late


def scenario_timeline(rng: random.Random, scenario: str, now: datetime, earliest: datetime) -> Timeline:
    """Draw recent orders until one is in the wanted state (rejection sampling keeps timestamps consistent)."""
    start = max(earliest, now - timedelta(days=RECENT_DAYS))
    span = (now - start).total_seconds()
    for _ in range(50_000):
        # Bias towards the last hours for "placed", which only lasts a few hours.
        if scenario == "placed":
            placed_at = now - timedelta(hours=rng.uniform(0.1, 8))
        else:
            placed_at = start + timedelta(seconds=rng.uniform(0, span))
        tl = timeline(rng, placed_at)
        if _matches(scenario, tl.state(now), now):
            return tl
    raise RuntimeError(f"could not generate a {scenario!r} order")  # pragma: no cover


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------
