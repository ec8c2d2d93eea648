"""The shop's relational store: ORM models, engines/sessions and Alembic migrations.

Everything that touches SQL lives under `bot.db` and `bot.shop`; actions never issue queries themselves.
"""

from bot.db.models import (
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    PLAN_STATUSES,
    Base,
    Customer,
    CustomerDevice,
    CustomerPlan,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
)
from bot.db.session import make_engine, session_factory, session_scope

__all__ = [
    "ORDER_STATUSES",
    "OPEN_ORDER_STATUSES",
    "PLAN_STATUSES",
    "Base",
    "Customer",
    "CustomerDevice",
    "CustomerPlan",
    "Order",
    "OrderLine",
    "Product",
    "ProductCompatibility",
    "make_engine",
    "session_factory",
    "session_scope",
]
