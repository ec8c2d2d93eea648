"""Every privacy request has a due date: the day by which the chat promised it is carried out.

Requests recorded before this revision get the 30 days the chat promised them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PROMISED = timedelta(days=30)  # what the chat said when these requests were recorded


def upgrade() -> None:
    op.add_column("privacy_requests", sa.Column("due_at", sa.DateTime(), nullable=True))
    requests = sa.table(
        "privacy_requests",
        sa.column("id", sa.Integer()),
        sa.column("requested_at", sa.DateTime()),
        sa.column("due_at", sa.DateTime()),
    )
    bind = op.get_bind()
    for request_id, requested_at in bind.execute(sa.select(requests.c.id, requests.c.requested_at)).all():
        bind.execute(requests.update().where(requests.c.id == request_id).values(due_at=requested_at + PROMISED))
    with op.batch_alter_table("privacy_requests") as batch:
        batch.alter_column("due_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_column("due_at")
