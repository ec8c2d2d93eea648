"""The shop's tables: customers, products and what fits what, orders and their lines, owned devices, plans."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.db.models.base import MONEY, Base, one_of, utcnow

ORDER_STATUSES = (
    "placed",
    "processing",
    "shipped",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "returned",
)
# Orders still on their way to the customer (neither delivered nor closed).
OPEN_ORDER_STATUSES = ("placed", "processing", "shipped", "out_for_delivery")
PLAN_STATUSES = ("active", "cancelled")


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    external_id = Column(String(32), nullable=False, unique=True, index=True)
    name = Column(String(120), nullable=False)
    email = Column(String(254), nullable=False)
    phone = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    orders = relationship(
        "Order",
        back_populates="customer",
        order_by="Order.placed_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    devices = relationship(
        "CustomerDevice", back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    plans = relationship("CustomerPlan", back_populates="customer", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Customer {self.external_id}>"


class ProductCompatibility(Base):
    """Accessory or plan (`product_id`) fits device (`compatible_product_id`)."""

    __tablename__ = "product_compatibility"

    product_id = Column(Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    compatible_product_id = Column(Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True)


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    sku = Column(String(32), nullable=False, unique=True, index=True)
    name = Column(String(200), nullable=False)
    category = Column(String(32), nullable=False, index=True)
    brand = Column(String(64), nullable=False, index=True)
    price = Column(MONEY, nullable=False)
    description = Column(Text, nullable=False, default="")
    attributes = Column(JSON, nullable=False, default=dict)
    family = Column(String(32), nullable=True, index=True)
    active = Column(Boolean, nullable=False, default=True)

    # Devices this accessory/plan fits, and (the other way round) accessories/plans that fit this device.
    compatible_with = relationship(
        "Product",
        secondary="product_compatibility",
        primaryjoin="Product.id == ProductCompatibility.product_id",
        secondaryjoin="Product.id == ProductCompatibility.compatible_product_id",
        back_populates="accessories",
        order_by="Product.id",
    )
    accessories = relationship(
        "Product",
        secondary="product_compatibility",
        primaryjoin="Product.id == ProductCompatibility.compatible_product_id",
        secondaryjoin="Product.id == ProductCompatibility.product_id",
        back_populates="compatible_with",
        order_by="Product.id",
    )

    def __repr__(self) -> str:
        return f"<Product {self.sku} {self.name!r}>"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({one_of(ORDER_STATUSES)})", name="status"),
        # Serves "orders of this customer" (every lookup is scoped by customer) and their newest-first listing.
        Index("ix_orders_customer_id_placed_at", "customer_id", "placed_at"),
    )

    id = Column(Integer, primary_key=True)
    order_number = Column(String(16), nullable=False, unique=True, index=True)
    # NULL once the customer was erased: the order stays for the accounts, linked to nobody (docs/privacy.md).
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=True)
    status = Column(String(20), nullable=False, default="placed")
    placed_at = Column(DateTime, nullable=False, default=utcnow)
    shipped_at = Column(DateTime, nullable=True)
    estimated_delivery = Column(Date, nullable=True)
    delivered_at = Column(DateTime, nullable=True)
    cancelled_at = Column(DateTime, nullable=True)
    carrier = Column(String(40), nullable=True)
    tracking_number = Column(String(40), nullable=True)
    total = Column(MONEY, nullable=False)
    shipping_address = Column(Text, nullable=False)

    customer = relationship("Customer", back_populates="orders")
    lines = relationship(
        "OrderLine",
        back_populates="order",
        order_by="OrderLine.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<Order {self.order_number} {self.status}>"


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    quantity = Column(Integer, nullable=False, default=1)
    unit_price = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product")


class CustomerDevice(Base):
    __tablename__ = "customer_devices"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    acquired_at = Column(DateTime, nullable=False)
    serial_number = Column(String(40), nullable=False, unique=True, index=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), nullable=True, index=True)

    customer = relationship("Customer", back_populates="devices")
    product = relationship("Product")
    order = relationship("Order")


class CustomerPlan(Base):
    __tablename__ = "customer_plans"
    __table_args__ = (CheckConstraint(f"status IN ({one_of(PLAN_STATUSES)})", name="status"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    started_at = Column(DateTime, nullable=False)
    status = Column(String(16), nullable=False, default="active")
    monthly_price = Column(MONEY, nullable=False)

    customer = relationship("Customer", back_populates="plans")
    product = relationship("Product")
