"""Conversation review: a conversation marked reviewed with a note, its free tags, and the test stories saved from it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_conversations",
        sa.Column("conversation_id", EVENT_ID, autoincrement=False, nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("note_by", sa.String(length=128), nullable=True),
        sa.Column("note_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["insight_conversations.id"],
            name=op.f("fk_review_conversations_conversation_id_insight_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_review_conversations")),
    )
    op.create_index(op.f("ix_review_conversations_reviewed"), "review_conversations", ["reviewed"])

    op.create_table(
        "review_conversation_tags",
        sa.Column("conversation_id", EVENT_ID, autoincrement=False, nullable=False),
        sa.Column("tag", sa.String(length=48), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["insight_conversations.id"],
            name=op.f("fk_review_conversation_tags_conversation_id_insight_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "tag", name=op.f("pk_review_conversation_tags")),
    )
    op.create_index("ix_review_conversation_tags_tag", "review_conversation_tags", ["tag", "conversation_id"])

    op.create_table(
        "review_saved_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", EVENT_ID, nullable=True),
        sa.Column("story", sa.String(length=200), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("saved_by", sa.String(length=128), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["insight_conversations.id"],
            name=op.f("fk_review_saved_tests_conversation_id_insight_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_saved_tests")),
    )
    op.create_index(op.f("ix_review_saved_tests_conversation_id"), "review_saved_tests", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_saved_tests_conversation_id"), table_name="review_saved_tests")
    op.drop_table("review_saved_tests")
    op.drop_index("ix_review_conversation_tags_tag", table_name="review_conversation_tags")
    op.drop_table("review_conversation_tags")
    op.drop_index(op.f("ix_review_conversations_reviewed"), table_name="review_conversations")
    op.drop_table("review_conversations")
