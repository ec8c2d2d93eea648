"""What each customer has done up to a moment in time, as per-customer arrays (segments and churn read these).

One `CustomerActivity` is a snapshot "as of `now`": everything in it comes from events at or before `now`, so
the churn model can build training features at a past cutoff with exactly the code that scores today. It is
built from the shop's database (`shop_activity.load_activity`: aggregated in SQL with GROUP BY, one row per
customer comes back) or from raw event arrays (`EventLog` / `from_events`, here: the synthetic shop, tests),
both vectorised so that 100,000 customers take seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

DAY = 86_400.0
# Kinds that show the customer is still engaged ("activity" for churn); impressions are things we showed
# them, returns and dismissals are not engagement.
ACTIVE_KINDS = ("purchase", "view", "click", "mention", "rating")
# Purchases that complete a device the customer owns (upsell: "a device with few accessories").
ACCESSORY_CATEGORIES = ("phone_accessories", "chargers_cables", "laptop_accessories")

TimeLike = datetime | float | int


def to_unix(when: TimeLike) -> float:
    """Unix seconds of a naive-UTC datetime (the store's convention), or the number itself."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    return float(when)


def to_datetime(when: TimeLike) -> datetime:
    """Naive-UTC datetime of Unix seconds (or the datetime itself)."""
    if isinstance(when, datetime):
        return when
    return datetime.fromtimestamp(float(when), tz=UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class CustomerActivity:
    """Per-customer behaviour up to `now`; entry i of every array belongs to `customer_ids[i]`.

    Times are Unix seconds (float64, NaN = never). Counts are int64. `db_ids` are `customers.id` when built
    from the database (None otherwise). A customer whose `created_at` is after `now` (or unknown) did not
    exist yet: `exists` is False for them.
    """

    customer_ids: np.ndarray  # object array of str
    now: float
    created_at: np.ndarray
    purchases: np.ndarray  # purchase occasions (orders, purchase events)
    monetary: np.ndarray  # money spent, all time
    spend_365d: np.ndarray
    purchases_90d: np.ndarray
    first_purchase_at: np.ndarray
    last_purchase_at: np.ndarray
    returns: np.ndarray
    views: np.ndarray
    clicks: np.ndarray
    mentions: np.ndarray
    impressions: np.ndarray
    dismissals: np.ndarray
    events_30d: np.ndarray  # engagement events other than purchases (views, clicks, mentions, ratings)
    events_90d: np.ndarray
    last_activity_at: np.ndarray  # newest event of ACTIVE_KINDS (orders included)
    devices: np.ndarray
    accessories: np.ndarray
    last_device_at: np.ndarray
    db_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.customer_ids)
        for f in _array_fields():
            value = getattr(self, f)
            if value is not None and len(value) != n:
                raise ValueError(f"CustomerActivity.{f} must have one entry per customer")

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def exists(self) -> np.ndarray:
        """Customers known at `now` (training at a past cutoff must leave out later sign-ups)."""
        return ~np.isnan(self.created_at) & (self.created_at <= self.now)

    @property
    def tenure_days(self) -> np.ndarray:
        return np.clip(np.nan_to_num((self.now - self.created_at) / DAY, nan=0.0), 0.0, None)

    @property
    def recency_days(self) -> np.ndarray:
        """Days since the last purchase; NaN for customers who never bought."""
        return (self.now - self.last_purchase_at) / DAY

    @property
    def inactive_days(self) -> np.ndarray:
        """Days since the last engagement; NaN for customers who never engaged."""
        return (self.now - self.last_activity_at) / DAY

    @property
    def days_since_device(self) -> np.ndarray:
        """Days since the newest device was acquired; NaN for customers who own none."""
        return (self.now - self.last_device_at) / DAY

    @property
    def return_rate(self) -> np.ndarray:
        return self.returns / np.maximum(self.purchases, 1)

    def subset(self, keep: np.ndarray) -> CustomerActivity:
        """The customers selected by a boolean mask or an index array, in that order."""
        return replace(self, **{f: getattr(self, f)[keep] for f in _array_fields() if getattr(self, f) is not None})


def _array_fields() -> list[str]:
    return [f.name for f in fields(CustomerActivity) if f.name != "now"]


ActivityBuilder = Callable[[TimeLike], CustomerActivity]


# --------------------------------------------------------------------------------------------------------------
# From raw event arrays
# --------------------------------------------------------------------------------------------------------------


def _group_max(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-group maximum of `values` (NaN for groups without any), by one sort instead of a Python loop."""
    out = np.full(n, np.nan)
    if len(groups):
        order = np.lexsort((values, groups))
        g, v = groups[order], values[order]
        last = np.r_[g[1:] != g[:-1], True]
        out[g[last]] = v[last]
    return out


@dataclass(frozen=True)
class EventLog:
    """Raw behaviour: event k is customer `users[k]` doing `kinds[k]` at `timestamps[k]` (Unix seconds).

    `amounts` is the money of purchases (ignored for other kinds). Optional per-event flags say which
    purchases were devices or accessories; optional per-customer `created_at` is the sign-up time (default:
    the customer's first event) and `initial_devices` the devices they owned at sign-up. Calling the log at
    a time gives the activity snapshot at that time, so it is an `ActivityBuilder` for `train_churn_model`.
    """

    customer_ids: np.ndarray
    users: np.ndarray
    kinds: np.ndarray
    amounts: np.ndarray
    timestamps: np.ndarray
    created_at: np.ndarray | None = None
    device: np.ndarray | None = None
    accessory: np.ndarray | None = None
    initial_devices: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.users)
        for name in ("kinds", "amounts", "timestamps", "device", "accessory"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"EventLog.{name} must have one entry per event")
        for name in ("created_at", "initial_devices"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.customer_ids):
                raise ValueError(f"EventLog.{name} must have one entry per customer")

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        """Typed copies (and one boolean mask per kind), computed once however many snapshots are taken."""
        kinds = np.asarray(self.kinds).astype(str)
        out: dict[str, np.ndarray] = {
            "users": np.asarray(self.users, dtype=np.int64),
            "amounts": np.nan_to_num(np.asarray(self.amounts, dtype=np.float64)),
            "timestamps": np.asarray(self.timestamps, dtype=np.float64),
        }
        for kind in ("purchase", "return", "view", "click", "mention", "impression", "dismissal"):
            out[kind] = kinds == kind
        out["active"] = np.isin(kinds, ACTIVE_KINDS)
        n = len(kinds)
        out["device"] = np.zeros(n, bool) if self.device is None else np.asarray(self.device, dtype=bool)
        out["accessory"] = np.zeros(n, bool) if self.accessory is None else np.asarray(self.accessory, dtype=bool)
        return out

    def activity_at(self, now: TimeLike) -> CustomerActivity:
        """Snapshot from the events at or before `now` only."""
        t_now = to_unix(now)
        a = self._arrays
        n = len(self.customer_ids)
        ts = a["timestamps"]
        seen = ts <= t_now
        users = a["users"]

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(users[mask & seen], minlength=n).astype(np.int64)

        buy = a["purchase"] & seen
        recent_buy = ts > t_now - 365 * DAY
        engagement = a["active"] & ~a["purchase"]
        device_buy = buy & a["device"]
        first_event = -_group_max(users[seen], -ts[seen], n)
        created = first_event if self.created_at is None else np.asarray(self.created_at, dtype=np.float64)
        devices = count(a["device"] & a["purchase"])
        last_device = _group_max(users[device_buy], ts[device_buy], n)
        if self.initial_devices is not None:
            had = (np.asarray(self.initial_devices) > 0) & (created <= t_now)
            devices = devices + np.where(had, np.asarray(self.initial_devices, dtype=np.int64), 0)
            last_device = np.where(had, np.fmax(last_device, created), last_device)
        return CustomerActivity(
            customer_ids=np.asarray(self.customer_ids, dtype=object),
            now=t_now,
            created_at=created,
            purchases=count(a["purchase"]),
            monetary=np.bincount(users[buy], weights=a["amounts"][buy], minlength=n),
            spend_365d=np.bincount(users[buy & recent_buy], weights=a["amounts"][buy & recent_buy], minlength=n),
            purchases_90d=count(a["purchase"] & (ts > t_now - 90 * DAY)),
            first_purchase_at=-_group_max(users[buy], -ts[buy], n),
            last_purchase_at=_group_max(users[buy], ts[buy], n),
            returns=count(a["return"]),
            views=count(a["view"]),
            clicks=count(a["click"]),
            mentions=count(a["mention"]),
            impressions=count(a["impression"]),
            dismissals=count(a["dismissal"]),
            events_30d=count(engagement & (ts > t_now - 30 * DAY)),
            events_90d=count(engagement & (ts > t_now - 90 * DAY)),
            last_activity_at=_group_max(users[a["active"] & seen], ts[a["active"] & seen], n),
            devices=devices,
            accessories=count(a["accessory"] & a["purchase"]),
            last_device_at=last_device,
        )

    __call__ = activity_at


def from_events(
    customer_ids: Sequence[str] | np.ndarray,
    users: np.ndarray,
    kinds: np.ndarray,
    amounts: np.ndarray,
    timestamps: np.ndarray,
    now: TimeLike,
    *,
    created_at: np.ndarray | None = None,
    device: np.ndarray | None = None,
    accessory: np.ndarray | None = None,
    initial_devices: np.ndarray | None = None,
) -> CustomerActivity:
    """Activity at `now` from raw event arrays (see `EventLog`)."""
    log = EventLog(
        customer_ids=np.asarray(customer_ids, dtype=object),
        users=users,
        kinds=kinds,
        amounts=amounts,
        timestamps=timestamps,
        created_at=created_at,
        device=device,
        accessory=accessory,
        initial_devices=initial_devices,
    )
    return log.activity_at(now)
