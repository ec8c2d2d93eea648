"""Customer activity from the shop's database (`load_activity`), aggregated in SQL with GROUP BY.

Three grouped queries (orders, behaviour events, devices) bring back one row per customer, or per customer and
event kind, and are folded into per-customer arrays, so 100,000 customers take seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import BehaviourEvent, Customer, CustomerDevice, Order, OrderLine, Product
from bot.personalization.jobs.customer_activity import (
    ACCESSORY_CATEGORIES,
    ACTIVE_KINDS,
    CustomerActivity,
    TimeLike,
    to_datetime,
    to_unix,
)

# Event kinds only counted (purchases and returns also add up money and dates).
_COUNTED_KINDS = ("view", "click", "mention", "impression", "dismissal")


def load_activity(session: Session, now: TimeLike) -> CustomerActivity:
    """Activity of every customer at `now`, aggregated in the database (select customers with `subset`).

    Purchases are the lines of orders placed by `now` and not cancelled by then (frequency counts orders,
    money sums quantity x unit price), plus `purchase` events (money: quantity x the product's price).
    Returns are returned orders (counted from their delivery: the schema keeps no return time) plus
    `return` events. Devices are `customer_devices` acquired by `now`; accessories are accessory units
    bought. Everything is filtered to `<= now`, so a past `now` gives the snapshot the shop had then.
    """
    as_of = to_datetime(now)
    customers = session.execute(
        select(Customer.id, Customer.external_id, Customer.created_at).order_by(Customer.id)
    ).all()
    db_ids = np.array([r[0] for r in customers], dtype=np.int64)
    totals = _Totals.zeros(len(customers))
    _add_orders(totals, *_columns(db_ids, session.execute(_orders_query(as_of)).all()))
    _add_events(totals, *_columns(db_ids, session.execute(_events_query(as_of)).all()))
    _add_devices(totals, *_columns(db_ids, session.execute(_devices_query(as_of)).all()))
    return _snapshot(customers, db_ids, to_unix(now), totals)


@dataclass
class _Totals:
    """Per-customer running totals while the query results are folded in; entry i is customer i."""

    purchases: np.ndarray
    returns: np.ndarray
    purchases_90d: np.ndarray
    accessories: np.ndarray
    monetary: np.ndarray
    spend_365d: np.ndarray
    first_purchase: np.ndarray
    last_purchase: np.ndarray
    counts: dict[str, np.ndarray]  # per kind of _COUNTED_KINDS
    events_30d: np.ndarray
    events_90d: np.ndarray
    last_engagement: np.ndarray
    devices: np.ndarray
    last_device: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> _Totals:
        """Nothing done yet: counts and money 0, times NaN (never)."""

        def counts() -> np.ndarray:
            return np.zeros(n, dtype=np.int64)

        def never() -> np.ndarray:
            return np.full(n, np.nan)

        return cls(
            purchases=counts(),
            returns=counts(),
            purchases_90d=counts(),
            accessories=counts(),
            monetary=np.zeros(n),
            spend_365d=np.zeros(n),
            first_purchase=never(),
            last_purchase=never(),
            counts={kind: counts() for kind in _COUNTED_KINDS},
            events_30d=counts(),
            events_90d=counts(),
            last_engagement=never(),
            devices=counts(),
            last_device=never(),
        )


def _unix_array(values: Iterable[datetime | None]) -> np.ndarray:
    """Naive-UTC datetimes (None allowed) as float Unix seconds, NaN for None."""
    stamps = np.array(list(values), dtype="datetime64[us]")
    out = stamps.astype(np.int64) / 1e6
    out[np.isnat(stamps)] = np.nan
    return out


def _columns(db_ids: np.ndarray, result: Sequence[Sequence]) -> tuple[np.ndarray, list[np.ndarray]]:
    """A grouped SQL result (first column: customer id) as (row -> customer index, other columns as arrays)."""
    if not result:
        return np.zeros(0, np.int64), []
    columns = [np.asarray(c, dtype=object) for c in zip(*result)]
    return np.searchsorted(db_ids, columns[0].astype(np.int64)), columns[1:]


# --- orders: one row per customer -------------------------------------------------------------------------------


def _orders_query(as_of: datetime) -> Select:
    amount = OrderLine.quantity * OrderLine.unit_price
    accessory_units = case((Product.category.in_(ACCESSORY_CATEGORIES), OrderLine.quantity), else_=0)
    returned = case((((Order.status == "returned") & (Order.delivered_at <= as_of)), Order.id), else_=None)
    return (
        select(
            Order.customer_id,
            func.count(distinct(Order.id)),
            func.sum(amount),
            func.sum(case((Order.placed_at > as_of - timedelta(days=365), amount), else_=0)),
            func.count(distinct(case((Order.placed_at > as_of - timedelta(days=90), Order.id), else_=None))),
            func.min(Order.placed_at),
            func.max(Order.placed_at),
            func.count(distinct(returned)),
            func.sum(accessory_units),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.customer_id.is_not(None),  # orders of erased customers belong to nobody
            Order.placed_at <= as_of,
            or_(Order.status != "cancelled", Order.cancelled_at > as_of),
        )
        .group_by(Order.customer_id)
    )


def _add_orders(totals: _Totals, index: np.ndarray, cols: list[np.ndarray]) -> None:
    if not cols:
        return
    totals.purchases[index] = np.asarray(cols[0], dtype=np.int64)
    totals.monetary[index] = np.asarray(cols[1], dtype=np.float64)
    totals.spend_365d[index] = np.asarray(cols[2], dtype=np.float64)
    totals.purchases_90d[index] = np.asarray(cols[3], dtype=np.int64)
    totals.first_purchase[index] = _unix_array(cols[4])
    totals.last_purchase[index] = _unix_array(cols[5])
    totals.returns[index] = np.asarray(cols[6], dtype=np.int64)
    totals.accessories[index] = np.asarray(cols[7], dtype=np.int64)


# --- behaviour events: one row per (customer, kind) ------------------------------------------------------------


def _events_query(as_of: datetime) -> Select:
    e = BehaviourEvent
    quantity = func.coalesce(e.value, 1.0)
    money = quantity * func.coalesce(Product.price, 0)
    return (
        select(
            e.customer_id,
            e.kind,
            func.count(),
            func.min(e.occurred_at),
            func.max(e.occurred_at),
            func.sum(case((e.occurred_at > as_of - timedelta(days=30), 1), else_=0)),
            func.sum(case((e.occurred_at > as_of - timedelta(days=90), 1), else_=0)),
            func.sum(money),
            func.sum(case((e.occurred_at > as_of - timedelta(days=365), money), else_=0)),
            func.sum(case((Product.category.in_(ACCESSORY_CATEGORIES), quantity), else_=0)),
        )
        .outerjoin(Product, Product.id == e.product_id)
        .where(e.occurred_at <= as_of)
        .group_by(e.customer_id, e.kind)
    )


def _add_events(totals: _Totals, rows_index: np.ndarray, cols: list[np.ndarray]) -> None:
    kinds = cols[0].astype(str) if cols else np.zeros(0, str)
    for kind in ("purchase", "return", *_COUNTED_KINDS, "rating"):
        mine = kinds == kind
        if mine.any():
            _add_kind(totals, kind, rows_index[mine], [c[mine] for c in cols[1:]])


def _add_kind(totals: _Totals, kind: str, index: np.ndarray, cols: list[np.ndarray]) -> None:
    """One kind's rows: purchases add money and dates, returns a count, the rest counts and engagement."""
    if kind == "purchase":
        _add_purchase_events(totals, index, cols)
        return
    n_events, _oldest, newest, in_30d, in_90d = cols[:5]
    n_events = n_events.astype(np.int64)
    if kind == "return":
        totals.returns[index] += n_events
    else:
        if kind in totals.counts:
            totals.counts[kind][index] += n_events
        if kind in ACTIVE_KINDS:
            totals.events_30d[index] += in_30d.astype(np.int64)
            totals.events_90d[index] += in_90d.astype(np.int64)
            totals.last_engagement[index] = np.fmax(totals.last_engagement[index], _unix_array(newest))


def _add_purchase_events(totals: _Totals, index: np.ndarray, cols: list[np.ndarray]) -> None:
    n_events, oldest, newest, _in_30d, in_90d, spent, spent_365d, accessory_units = cols
    totals.purchases[index] += n_events.astype(np.int64)
    totals.monetary[index] += spent.astype(np.float64)
    totals.spend_365d[index] += spent_365d.astype(np.float64)
    totals.purchases_90d[index] += in_90d.astype(np.int64)
    totals.accessories[index] += accessory_units.astype(np.float64).astype(np.int64)
    totals.first_purchase[index] = np.fmin(totals.first_purchase[index], _unix_array(oldest))
    totals.last_purchase[index] = np.fmax(totals.last_purchase[index], _unix_array(newest))


# --- devices owned: one row per customer -------------------------------------------------------------------------


def _devices_query(as_of: datetime) -> Select:
    return (
        select(CustomerDevice.customer_id, func.count(), func.max(CustomerDevice.acquired_at))
        .where(CustomerDevice.acquired_at <= as_of)
        .group_by(CustomerDevice.customer_id)
    )


def _add_devices(totals: _Totals, index: np.ndarray, cols: list[np.ndarray]) -> None:
    if not cols:
        return
    totals.devices[index] = np.asarray(cols[0], dtype=np.int64)
    totals.last_device[index] = _unix_array(cols[1])


def _snapshot(customers: Sequence[Sequence], db_ids: np.ndarray, t_now: float, totals: _Totals) -> CustomerActivity:
    """The folded totals as the activity snapshot (engagement includes purchases)."""
    return CustomerActivity(
        customer_ids=np.array([r[1] for r in customers], dtype=object),
        now=t_now,
        created_at=_unix_array([r[2] for r in customers]),
        purchases=totals.purchases,
        monetary=totals.monetary,
        spend_365d=totals.spend_365d,
        purchases_90d=totals.purchases_90d,
        first_purchase_at=totals.first_purchase,
        last_purchase_at=totals.last_purchase,
        returns=totals.returns,
        views=totals.counts["view"],
        clicks=totals.counts["click"],
        mentions=totals.counts["mention"],
        impressions=totals.counts["impression"],
        dismissals=totals.counts["dismissal"],
        events_30d=totals.events_30d,
        events_90d=totals.events_90d,
        last_activity_at=np.fmax(totals.last_engagement, totals.last_purchase),
        devices=totals.devices,
        accessories=totals.accessories,
        last_device_at=totals.last_device,
        db_ids=db_ids,
    )
