"""Customers' data rights: erased customers' orders kept for the accounts but linked to nobody, and the audit
trail of erasures.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_erasures")),
    )
    op.create_index(op.f("ix_privacy_erasures_subject_hash"), "privacy_erasures", ["subject_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_privacy_erasures_subject_hash"), table_name="privacy_erasures")
    op.drop_table("privacy_erasures")
    # Orders of erased customers belong to nobody, which the older schema cannot hold: they go.
    op.execute("DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE customer_id IS NULL)")
    op.execute("DELETE FROM orders WHERE customer_id IS NULL")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
