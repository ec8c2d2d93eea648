"""The review's audit trail (`review_audit`): who changed what in the bot's content and when, one row per change.

Generic on purpose: an annotation now, a response edit or a model publish later, each names its kind of subject
and records what changed as JSON (`{"intent": {"before": "greet", "after": "order_status"}}`). Rows are only ever
added, in the transaction of the change they describe, so a change and its record commit or fail together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.db.models import ReviewAudit, utcnow

MAX_ACTOR = 128


class AuditError(ValueError):
    """An audit record that cannot be written (no actor, a name too long); safe to show."""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject_kind: str
    subject_id: str | None
    changes: dict[str, Any]


def _view(row: ReviewAudit) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        changes=dict(row.changes or {}),
    )


def check_actor(actor: str) -> str:
    """Who did it, as recorded: a console user's name or the CLI's `--by`/login name."""
    actor = (actor or "").strip()
    if not actor:
        raise AuditError("say who made the change")
    if len(actor) > MAX_ACTOR:
        raise AuditError(f"a name of at most {MAX_ACTOR} characters, not {len(actor)}")
    return actor


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_kind: str,
    subject_id: str | int | None,
    changes: dict[str, Any],
    at: datetime | None = None,
) -> AuditEntry:
    """Add one row in the caller's transaction."""
    values: dict[str, Any] = {
        "at": at or utcnow(),
        "actor": check_actor(actor),
        "action": action,
        "subject_kind": subject_kind,
        "subject_id": None if subject_id is None else str(subject_id),
        "changes": changes,
    }
    new_id = session.execute(insert(ReviewAudit).values(**values)).inserted_primary_key[0]
    return AuditEntry(id=int(new_id), **values)


def trail(
    session: Session, subject_kind: str | None = None, subject_id: str | int | None = None, *, limit: int = 100
) -> tuple[AuditEntry, ...]:
    """The latest changes first, of one kind of subject (and one subject) when given."""
    query = select(ReviewAudit).order_by(ReviewAudit.at.desc(), ReviewAudit.id.desc()).limit(limit)
    if subject_kind is not None:
        query = query.where(ReviewAudit.subject_kind == subject_kind)
    if subject_id is not None:
        query = query.where(ReviewAudit.subject_id == str(subject_id))
    return tuple(_view(row) for row in session.execute(query).scalars())
