"""Customers, the devices they own and the plans they pay for.

Looked up only by the external id from a verified customer token (see bot/identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, CustomerDevice, CustomerPlan, Order, Product


@dataclass(frozen=True)
class CustomerView:
    external_id: str
    name: str
    email: str
    phone: str | None
    created_at: datetime

    @property
    def first_name(self) -> str:
        """For greetings ("Hi Ava")."""
        return self.name.split()[0] if self.name else ""


@dataclass(frozen=True)
class DeviceView:
    sku: str
    name: str
    category: str
    brand: str
    family: str | None
    serial_number: str
    acquired_at: datetime
    order_number: str | None  # None: bought before the order history or elsewhere


@dataclass(frozen=True)
class PlanView:
    sku: str
    name: str
    category: str
    status: str
    started_at: datetime
    monthly_price: Decimal


def customer_pk(session: Session, external_id: str | None) -> int | None:
    """The database id of a (verified) customer, or None for anonymous or unknown ids.

    The one lookup by external id: every other module asks here rather than querying `customers` itself."""
    if not external_id:
        return None
    return session.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one_or_none()


def customer_exists(session: Session, external_id: str) -> bool:
    """Whether a (verified) customer id is known to the shop."""
    return customer_pk(session, external_id) is not None


def get_customer(session: Session, external_id: str | None) -> CustomerView | None:
    """The customer's profile, or None for an unknown id."""
    pk = customer_pk(session, external_id)
    c = session.get(Customer, pk) if pk is not None else None
    return customer_view(c) if c is not None else None


def customer_view(c: Customer) -> CustomerView:
    return CustomerView(external_id=c.external_id, name=c.name, email=c.email, phone=c.phone, created_at=c.created_at)


def customer_devices(session: Session, external_id: str) -> list[DeviceView]:
    """Devices the customer owns (phones, laptops, tablets, watches), newest first."""
    stmt = (
        select(CustomerDevice, Product, Order.order_number)
        .join(Customer, Customer.id == CustomerDevice.customer_id)
        .join(Product, Product.id == CustomerDevice.product_id)
        .outerjoin(Order, Order.id == CustomerDevice.order_id)
        .where(Customer.external_id == external_id)
        .order_by(CustomerDevice.acquired_at.desc(), CustomerDevice.id.desc())
    )
    return [
        DeviceView(
            sku=p.sku,
            name=p.name,
            category=p.category,
            brand=p.brand,
            family=p.family,
            serial_number=d.serial_number,
            acquired_at=d.acquired_at,
            order_number=number,
        )
        for d, p, number in session.execute(stmt)
    ]


def customer_plans(session: Session, external_id: str, active_only: bool = False) -> list[PlanView]:
    """The customer's mobile and home internet subscriptions, newest first."""
    stmt = (
        select(CustomerPlan, Product)
        .join(Customer, Customer.id == CustomerPlan.customer_id)
        .join(Product, Product.id == CustomerPlan.product_id)
        .where(Customer.external_id == external_id)
        .order_by(CustomerPlan.started_at.desc(), CustomerPlan.id.desc())
    )
    if active_only:
        stmt = stmt.where(CustomerPlan.status == "active")
    return [
        PlanView(
            sku=p.sku,
            name=p.name,
            category=p.category,
            status=cp.status,
            started_at=cp.started_at,
            monthly_price=Decimal(cp.monthly_price),
        )
        for cp, p in session.execute(stmt)
    ]
