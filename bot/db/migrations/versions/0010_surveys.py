"""Surveys: every CSAT, CES and NPS question put to a customer, with the conversation it was asked in and the
answer (CSAT's answer stays in journey_csat).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Copied, not imported: a migration keeps the values it was written with.
KINDS = ("csat", "ces", "nps")


def upgrade() -> None:
    op.create_table(
        "survey_asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=True),
        sa.Column("workflow", sa.String(length=64), nullable=True),
        sa.Column("moment", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name=op.f("ck_survey_asks_kind")),
        sa.CheckConstraint(
            "score IS NULL OR (kind = 'ces' AND score BETWEEN 1 AND 7) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name=op.f("ck_survey_asks_score"),
        ),
        sa.CheckConstraint("(score IS NULL) = (answered_at IS NULL)", name=op.f("ck_survey_asks_answered")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_survey_asks_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_survey_asks_journey_id_journeys"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_asks")),
    )
    op.create_index("ix_survey_asks_customer_id_asked_at", "survey_asks", ["customer_id", "asked_at"])
    op.create_index("ix_survey_asks_kind_answered_at", "survey_asks", ["kind", "answered_at"])
    op.create_index(op.f("ix_survey_asks_conversation_id"), "survey_asks", ["conversation_id"])
    op.create_index(op.f("ix_survey_asks_journey_id"), "survey_asks", ["journey_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_asks_journey_id"), table_name="survey_asks")
    op.drop_index(op.f("ix_survey_asks_conversation_id"), table_name="survey_asks")
    op.drop_index("ix_survey_asks_kind_answered_at", table_name="survey_asks")
    op.drop_index("ix_survey_asks_customer_id_asked_at", table_name="survey_asks")
    op.drop_table("survey_asks")
