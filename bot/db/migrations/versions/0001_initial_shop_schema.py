"""Initial shop schema: customers, products, compatibility, orders, order lines, devices, plans.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=10, scale=2)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_index(op.f("ix_customers_external_id"), "customers", ["external_id"], unique=True)

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_sku"), "products", ["sku"], unique=True)
    op.create_index(op.f("ix_products_category"), "products", ["category"], unique=False)
    op.create_index(op.f("ix_products_brand"), "products", ["brand"], unique=False)
    op.create_index(op.f("ix_products_family"), "products", ["family"], unique=False)

    op.create_table(
        "product_compatibility",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("compatible_product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_compatibility_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["compatible_product_id"],
            ["products.id"],
            name=op.f("fk_product_compatibility_compatible_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "compatible_product_id", name=op.f("pk_product_compatibility")),
    )
    op.create_index(
        op.f("ix_product_compatibility_compatible_product_id"),
        "product_compatibility",
        ["compatible_product_id"],
        unique=False,
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(), nullable=True),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=True),
        sa.Column("tracking_number", sa.String(length=40), nullable=True),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("shipping_address", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('placed', 'processing', 'shipped', 'out_for_delivery', 'delivered', 'cancelled', 'returned')",
            name=op.f("ck_orders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_order_number"), "orders", ["order_number"], unique=True)
    op.create_index("ix_orders_customer_id_placed_at", "orders", ["customer_id", "placed_at"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_order_lines_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    op.create_index(op.f("ix_order_lines_order_id"), "order_lines", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_lines_product_id"), "order_lines", ["product_id"], unique=False)

    op.create_table(
        "customer_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("serial_number", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_devices_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_customer_devices_product_id_products")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_customer_devices_order_id_orders"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_devices")),
    )
    op.create_index(op.f("ix_customer_devices_customer_id"), "customer_devices", ["customer_id"], unique=False)
    op.create_index(op.f("ix_customer_devices_product_id"), "customer_devices", ["product_id"], unique=False)
    op.create_index(op.f("ix_customer_devices_order_id"), "customer_devices", ["order_id"], unique=False)
    op.create_index(op.f("ix_customer_devices_serial_number"), "customer_devices", ["serial_number"], unique=True)

    op.create_table(
        "customer_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("monthly_price", MONEY, nullable=False),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name=op.f("ck_customer_plans_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_plans_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_customer_plans_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_plans")),
    )
    op.create_index(op.f("ix_customer_plans_customer_id"), "customer_plans", ["customer_id"], unique=False)
    op.create_index(op.f("ix_customer_plans_product_id"), "customer_plans", ["product_id"], unique=False)


def downgrade() -> None:
    for table in (
        "customer_plans",
        "customer_devices",
        "order_lines",
        "orders",
        "product_compatibility",
        "products",
        "customers",
    ):
        op.drop_table(table)
