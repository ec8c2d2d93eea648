"""Personalization: behaviour events, consent, "not interested" exclusions, customer segments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BEHAVIOUR_KINDS = ("view", "purchase", "return", "rating", "impression", "click", "dismissal", "mention")
NEXT_BEST_ACTIONS = ("retention_offer", "upsell", "none")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "behaviour_events",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("strategy", sa.String(length=32), nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("solicited", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(f"kind IN ({_in(BEHAVIOUR_KINDS)})", name=op.f("ck_behaviour_events_kind")),
        sa.CheckConstraint("product_id IS NOT NULL OR category IS NOT NULL", name=op.f("ck_behaviour_events_target")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_behaviour_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_behaviour_events_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_behaviour_events")),
    )
    op.create_index("ix_behaviour_events_customer_id_occurred_at", "behaviour_events", ["customer_id", "occurred_at"])
    op.create_index("ix_behaviour_events_kind_occurred_at", "behaviour_events", ["kind", "occurred_at"])
    op.create_index(
        "uq_behaviour_events_source_external_id", "behaviour_events", ["source", "external_id"], unique=True
    )
    op.create_index(op.f("ix_behaviour_events_product_id"), "behaviour_events", ["product_id"])
    op.create_index(op.f("ix_behaviour_events_request_id"), "behaviour_events", ["request_id"])

    op.create_table(
        "personalization_consents",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_personalization_consents_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_personalization_consents")),
    )

    op.create_table(
        "recommendation_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "product_id IS NOT NULL OR category IS NOT NULL", name=op.f("ck_recommendation_exclusions_target")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_recommendation_exclusions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recommendation_exclusions_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_exclusions")),
    )
    op.create_index(
        "ix_recommendation_exclusions_customer_id_expires_at",
        "recommendation_exclusions",
        ["customer_id", "expires_at"],
    )

    op.create_table(
        "customer_segments",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("recency_score", sa.Integer(), nullable=False),
        sa.Column("frequency_score", sa.Integer(), nullable=False),
        sa.Column("monetary_score", sa.Integer(), nullable=False),
        sa.Column("rfm_segment", sa.String(length=32), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=False),
        sa.Column("cluster_label", sa.String(length=64), nullable=False),
        sa.Column("churn_risk", sa.Float(), nullable=False),
        sa.Column("next_best_action", sa.String(length=16), nullable=False),
        sa.Column("next_best_action_reason", sa.String(length=200), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            f"next_best_action IN ({_in(NEXT_BEST_ACTIONS)})", name=op.f("ck_customer_segments_next_best_action")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_segments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_segments")),
    )


def downgrade() -> None:
    op.drop_table("customer_segments")
    op.drop_index("ix_recommendation_exclusions_customer_id_expires_at", table_name="recommendation_exclusions")
    op.drop_table("recommendation_exclusions")
    op.drop_table("personalization_consents")
    for name in (
        "ix_behaviour_events_request_id",
        "ix_behaviour_events_product_id",
        "uq_behaviour_events_source_external_id",
        "ix_behaviour_events_kind_occurred_at",
        "ix_behaviour_events_customer_id_occurred_at",
    ):
        op.drop_index(name, table_name="behaviour_events")
    op.drop_table("behaviour_events")
