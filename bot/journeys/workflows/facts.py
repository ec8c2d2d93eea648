"""What a workflow may know about the customer and the shop, and how a dotted fact name is answered.

`ShopFacts` is the runner's only window on the shop (the implementation on the shop database is
`shop_facts.ShopDbFacts`); the fact views are plain frozen values, so conditions and messages never touch
SQL. Fact names: `context.<key>[.<key>...]` (answers, inputs and operation results), and the attributes of
`order`, `last_order`, `device`, `plan` and `customer` (plus `<namespace>.exists`).

Which order, device or plan: `order.*` is the order numbered `context.order_id`; `device.*` the customer's
newest device in `context.device_category` (any category when unset); `plan.*` the customer's active plan
in `context.plan_category`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

ORDER_KEY, DEVICE_KEY, PLAN_KEY = "order_id", "device_category", "plan_category"


@dataclass(frozen=True)
class OrderFacts:
    number: str
    status: str
    is_open: bool  # still on its way (placed, processing, shipped, out for delivery)
    is_late: bool
    days_late: int
    placed_on: date
    estimated_delivery: date | None
    delivered_on: date | None
    days_since_delivery: int | None
    return_deadline: date | None
    return_window_open: bool
    carrier: str | None
    tracking_number: str | None
    total: float
    items: str  # "Apple iPhone 15 and 2 other items"


@dataclass(frozen=True)
class DeviceFacts:
    sku: str
    name: str
    category: str
    family: str | None
    serial_number: str
    acquired_on: date
    age_days: int
    bought_here: bool  # from one of the customer's orders with us (our warranty covers it)
    order_number: str | None


@dataclass(frozen=True)
class PlanFacts:
    sku: str
    name: str
    category: str  # mobile_plans | home_internet
    monthly_price: float
    started_on: date
    days_since_start: int


@dataclass(frozen=True)
class CustomerFacts:
    first_name: str
    has_home_internet: bool
    has_mobile_plan: bool
    active_plans: int
    devices: int
    orders: int
    open_orders: int
    returnable_orders: int  # delivered, and still inside the return window
    postcode_area: str | None  # "BS9", from the newest shipping address; None without orders


class ShopFacts(Protocol):
    """The shop as one verified customer's workflow sees it, at one moment (`now`)."""

    customer_id: str

    def now(self) -> datetime: ...

    def customer(self) -> CustomerFacts | None: ...

    def order(self, number: str) -> OrderFacts | None: ...

    def last_order(self) -> OrderFacts | None: ...

    def orders(self, which: str) -> Sequence[OrderFacts]:
        """`which`: open_orders | recent_orders | returnable_orders | delivery_orders (schema.ORDER_CHOICES)."""
        ...

    def devices(self) -> Sequence[DeviceFacts]: ...

    def plans(self) -> Sequence[PlanFacts]:
        """Active plans, newest first."""
        ...


# How the runner gets a ShopFacts for one turn: (session, verified customer id) -> facts.
FactsFactory = Callable[[Session, str], ShopFacts]

_VIEWS: dict[str, type] = {
    "order": OrderFacts,
    "last_order": OrderFacts,
    "device": DeviceFacts,
    "plan": PlanFacts,
    "customer": CustomerFacts,
}
FACT_NAMES: dict[str, frozenset[str]] = {
    ns: frozenset(f.name for f in fields(view)) | {"exists"} for ns, view in _VIEWS.items()
}
NAMESPACES = (*FACT_NAMES, "context")


def check_fact_name(path: str) -> str | None:
    """Why `path` is not a fact name, or None when it is one (context keys are checked by the validator)."""
    namespace, _, attribute = path.partition(".")
    if namespace == "context":
        return None if attribute and all(attribute.split(".")) else f"'{path}' needs a key after 'context.'"
    if namespace not in FACT_NAMES:
        return f"unknown fact '{path}': facts start with {', '.join(NAMESPACES)}"
    if attribute not in FACT_NAMES[namespace]:
        return f"unknown fact '{path}' ({namespace} has {', '.join(sorted(FACT_NAMES[namespace]))})"
    return None


def context_value(context: Mapping[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class FactResolver:
    """Answers fact names for one turn; shop lookups are cached until `invalidate()` (after an operation)."""

    def __init__(self, shop: ShopFacts, context: Mapping[str, Any]) -> None:
        self.shop = shop
        self.context = context
        self._cache: dict[str, Any] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    def view(self, namespace: str) -> Any:
        """The fact view behind a namespace (an OrderFacts, ...), or None when there is none."""
        key = f"{namespace}:{self.context.get(ORDER_KEY)}:{self.context.get(DEVICE_KEY)}:{self.context.get(PLAN_KEY)}"
        if key not in self._cache:
            self._cache[key] = self._lookup(namespace)
        return self._cache[key]

    def _lookup(self, namespace: str) -> Any:
        if namespace == "order":
            number = self.context.get(ORDER_KEY)
            return self.shop.order(str(number)) if number else None
        if namespace == "last_order":
            return self.shop.last_order()
        if namespace == "customer":
            return self.shop.customer()
        if namespace == "device":
            wanted = self.context.get(DEVICE_KEY)
            matching = [d for d in self.shop.devices() if not wanted or d.category == wanted]
            return matching[0] if matching else None
        if namespace == "plan":
            wanted = self.context.get(PLAN_KEY)
            plans = [p for p in self.shop.plans() if p.category == wanted]
            return plans[0] if plans else None
        raise KeyError(namespace)

    def get(self, path: str) -> Any:
        namespace, _, attribute = path.partition(".")
        if namespace == "context":
            return context_value(self.context, attribute)
        view = self.view(namespace)
        if attribute == "exists":
            return view is not None
        return getattr(view, attribute, None) if view is not None else None
