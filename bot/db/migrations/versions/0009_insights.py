"""Insights: the analytics tables the event consumer fills (conversations, turns, its offsets and the events it
has seen), and the console's `cx` role.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Copied, not imported: a migration keeps the values it was written with.
ROLES_BEFORE = ("agent", "admin")
ROLES_AFTER = ("agent", "admin", "cx")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _roles(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint(op.f("ck_agents_role"), type_="check")
        batch.create_check_constraint("role", f"role IN ({_in(roles)})")


def upgrade() -> None:
    op.create_table(
        "insight_conversations",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=False),
        sa.Column("user_turns", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("agent_messages", sa.Integer(), nullable=False),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("handed_off_at", sa.DateTime(), nullable=True),
        sa.Column("first_agent_reply_at", sa.DateTime(), nullable=True),
        sa.Column("sentiment_min", sa.Float(), nullable=True),
        sa.Column("sentiment_last", sa.Float(), nullable=True),
        sa.Column("turned_negative_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_insight_conversations_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_conversations")),
    )
    op.create_index(
        "ix_insight_conversations_sender_started", "insight_conversations", ["sender_id", "started_at"], unique=True
    )
    op.create_index(op.f("ix_insight_conversations_customer_id"), "insight_conversations", ["customer_id"])
    op.create_index(op.f("ix_insight_conversations_started_at"), "insight_conversations", ["started_at"])
    op.create_table(
        "insight_turns",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", EVENT_ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("sentiment_label", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("policy", sa.String(length=128), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["insight_conversations.id"],
            name=op.f("fk_insight_turns_conversation_id_insight_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_turns")),
    )
    op.create_index("ix_insight_turns_conversation_id_at", "insight_turns", ["conversation_id", "at"])
    op.create_index(
        "ix_insight_turns_at_intent",
        "insight_turns",
        ["at", "intent"],
        postgresql_include=["answered_at", "sentiment", "sentiment_label", "fallback", "confidence", "conversation_id"],
    )
    op.create_table(
        "insight_events_seen",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_insight_events_seen")),
    )
    op.create_index(op.f("ix_insight_events_seen_seen_at"), "insight_events_seen", ["seen_at"])
    op.create_table(
        "insight_offsets",
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("position", EVENT_ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_insight_offsets")),
    )
    op.create_index("ix_journey_steps_conversation_id_at", "journey_steps", ["conversation_id", "at"])
    _roles(ROLES_AFTER)


def downgrade() -> None:
    op.execute(sa.text("UPDATE agents SET role = 'agent' WHERE role = 'cx'"))
    _roles(ROLES_BEFORE)
    op.drop_index("ix_journey_steps_conversation_id_at", table_name="journey_steps")
    op.drop_table("insight_offsets")
    op.drop_table("insight_events_seen")
    op.drop_table("insight_turns")
    op.drop_table("insight_conversations")
