"""Review: the redacted copy of each customer message the NLU inbox reads, the CX team's annotations, and the audit
trail of changes to the bot's content.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Copied, not imported: a migration keeps the values it was written with.
ACTIONS = ("confirmed", "relabelled", "new_intent", "discarded")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_messages",
        sa.Column("turn_id", EVENT_ID, autoincrement=False, nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("placeholders", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["insight_turns.id"],
            name=op.f("fk_review_messages_turn_id_insight_turns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("turn_id", name=op.f("pk_review_messages")),
    )
    op.create_index(op.f("ix_review_messages_key"), "review_messages", ["key"])
    op.create_index(op.f("ix_review_messages_at"), "review_messages", ["at"])
    op.create_index(op.f("ix_review_messages_settled"), "review_messages", ["settled"])

    op.create_table(
        "review_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("turn_id", EVENT_ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("predicted_intent", sa.String(length=64), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("annotated_by", sa.String(length=128), nullable=False),
        sa.Column("annotated_at", sa.DateTime(), nullable=False),
        sa.Column("nlu_file", sa.String(length=255), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")", name=op.f("ck_review_annotations_action")
        ),
        sa.CheckConstraint("(action = 'discarded') = (intent IS NULL)", name=op.f("ck_review_annotations_intent")),
        sa.CheckConstraint("(nlu_file IS NULL) = (written_at IS NULL)", name=op.f("ck_review_annotations_written")),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["insight_turns.id"],
            name=op.f("fk_review_annotations_turn_id_insight_turns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_annotations")),
        sa.UniqueConstraint("key", name=op.f("uq_review_annotations_key")),
    )
    op.create_index(op.f("ix_review_annotations_turn_id"), "review_annotations", ["turn_id"])

    op.create_table(
        "review_audit",
        sa.Column("id", EVENT_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_audit")),
    )
    op.create_index(op.f("ix_review_audit_at"), "review_audit", ["at"])
    op.create_index("ix_review_audit_subject", "review_audit", ["subject_kind", "subject_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_review_audit_subject", table_name="review_audit")
    op.drop_index(op.f("ix_review_audit_at"), table_name="review_audit")
    op.drop_table("review_audit")
    op.drop_index(op.f("ix_review_annotations_turn_id"), table_name="review_annotations")
    op.drop_table("review_annotations")
    op.drop_index(op.f("ix_review_messages_settled"), table_name="review_messages")
    op.drop_index(op.f("ix_review_messages_at"), table_name="review_messages")
    op.drop_index(op.f("ix_review_messages_key"), table_name="review_messages")
    op.drop_table("review_messages")
