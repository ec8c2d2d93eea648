"""Issue journeys: journeys, their step records, scheduled follow-ups and nudges, CSAT answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated", "resolved", "closed")
OPEN_JOURNEY_STATES = ("open", "waiting_for_customer", "waiting_for_company", "escalated")
FOLLOW_UP_KINDS = ("follow_up", "nudge")
FOLLOW_UP_STATUSES = ("pending", "sending", "sent", "cancelled", "failed")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("problem_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("current_step", sa.String(length=64), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("escalation_reason", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("quiet_since", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("last_conversation_id", sa.String(length=128), nullable=True),
        sa.Column("last_channel", sa.String(length=32), nullable=True),
        sa.Column("unanswered_nudges", sa.Integer(), nullable=False),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"state IN ({_in(JOURNEY_STATES)})", name=op.f("ck_journeys_state")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_journeys_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
    )
    op.create_index("ix_journeys_customer_id_state", "journeys", ["customer_id", "state"])
    open_only = sa.text(f"state IN ({_in(OPEN_JOURNEY_STATES)})")
    op.create_index(
        "uq_journeys_customer_id_problem_key_open",
        "journeys",
        ["customer_id", "problem_key"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
    op.create_index("ix_journeys_state_quiet_since", "journeys", ["state", "quiet_since"])
    op.create_index(op.f("ix_journeys_opened_at"), "journeys", ["opened_at"])

    op.create_table(
        "journey_steps",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("state_after", sa.String(length=24), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("unexpected", sa.Boolean(), nullable=False),
        sa.CheckConstraint(f"state_after IN ({_in(JOURNEY_STATES)})", name=op.f("ck_journey_steps_state_after")),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_steps_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_steps")),
    )
    op.create_index("uq_journey_steps_journey_id_seq", "journey_steps", ["journey_id", "seq"], unique=True)

    op.create_table(
        "journey_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("response", sa.String(length=64), nullable=True),
        sa.Column("workflow", sa.String(length=64), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at_step", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_in(FOLLOW_UP_KINDS)})", name=op.f("ck_journey_follow_ups_kind")),
        sa.CheckConstraint(f"status IN ({_in(FOLLOW_UP_STATUSES)})", name=op.f("ck_journey_follow_ups_status")),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_follow_ups_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_follow_ups")),
    )
    op.create_index("ix_journey_follow_ups_status_due_at", "journey_follow_ups", ["status", "due_at"])
    op.create_index(op.f("ix_journey_follow_ups_journey_id"), "journey_follow_ups", ["journey_id"])
    op.create_index(op.f("ix_journey_follow_ups_claim_token"), "journey_follow_ups", ["claim_token"])

    op.create_table(
        "journey_csat",
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_journey_csat_score")),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_csat_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("journey_id", name=op.f("pk_journey_csat")),
    )


def downgrade() -> None:
    op.drop_table("journey_csat")
    for name in (
        "ix_journey_follow_ups_claim_token",
        "ix_journey_follow_ups_journey_id",
        "ix_journey_follow_ups_status_due_at",
    ):
        op.drop_index(name, table_name="journey_follow_ups")
    op.drop_table("journey_follow_ups")
    op.drop_index("uq_journey_steps_journey_id_seq", table_name="journey_steps")
    op.drop_table("journey_steps")
    for name in (
        "ix_journeys_opened_at",
        "ix_journeys_state_quiet_since",
        "uq_journeys_customer_id_problem_key_open",
        "ix_journeys_customer_id_state",
    ):
        op.drop_index(name, table_name="journeys")
    op.drop_table("journeys")
