"""Insights at scale: the daily rollup of customer messages (intents, moods, the bot's response times per bucket) and
of how negative conversations ended, with the days it holds, and an index of the messages the bot did not
understand. The days that already have messages or conversations are marked stale, so the insights consumer
builds them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Copied, not imported: a migration keeps the values it was written with.
UNSURE_BELOW = 0.6


def upgrade() -> None:
    op.create_table(
        "insight_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_insight_days")),
    )
    op.create_table(
        "insight_day_intents",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "intent", name=op.f("pk_insight_day_intents")),
    )
    op.create_table(
        "insight_day_moods",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "label", name=op.f("pk_insight_day_moods")),
    )
    op.create_table(
        "insight_day_answers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "bucket", name=op.f("pk_insight_day_answers")),
    )
    op.create_table(
        "insight_day_outcomes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "outcome", name=op.f("pk_insight_day_outcomes")),
    )
    op.create_index(
        "ix_insight_turns_unsure_at",
        "insight_turns",
        ["at"],
        postgresql_include=["text", "confidence", "fallback", "conversation_id"],
        postgresql_where=sa.text(f"fallback IS true OR confidence < {UNSURE_BELOW}"),
        sqlite_where=sa.text(f"fallback IS 1 OR confidence < {UNSURE_BELOW}"),
    )
    # date() is a function on both databases (PostgreSQL's cast); SQLite keeps the ISO day a Date column reads.
    stale = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    op.execute(
        sa.text(
            f"INSERT INTO insight_days (day, stale) SELECT day, {stale} FROM "
            "(SELECT date(at) AS day FROM insight_turns UNION SELECT date(started_at) FROM insight_conversations) days"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_insight_turns_unsure_at", table_name="insight_turns")
    op.drop_table("insight_day_outcomes")
    op.drop_table("insight_day_answers")
    op.drop_table("insight_day_moods")
    op.drop_table("insight_day_intents")
    op.drop_table("insight_days")
