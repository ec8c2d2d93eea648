"""What a reviewer records about a conversation: free tags, "reviewed", a note. Each change is written with its audit
record (bot.review.audit, subject `conversation`) in the caller's transaction, so the two commit or fail together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import ReviewConversation, ReviewConversationTag, ReviewSavedTest, utcnow
from bot.review import audit
from bot.review.config import TAG
from bot.review.conversations import ConversationError, conversation_row

SUBJECT = "conversation"
MAX_NOTE = 4000
MAX_TAGS = 20  # on one conversation


@dataclass(frozen=True)
class SavedTest:
    story: str
    file: str
    corrected: bool
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class ReviewState:
    """What reviewers recorded about one conversation."""

    conversation_id: int
    reviewed: bool = False
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    note: str | None = None
    note_by: str | None = None
    note_at: datetime | None = None
    tags: tuple[str, ...] = ()
    saved_tests: tuple[SavedTest, ...] = ()


def check_tag(tag: str) -> str:
    tag = (tag or "").strip().lower()
    if not TAG.fullmatch(tag):
        raise ConversationError(
            f"{tag[:48]!r} is not a tag: 1 to 48 lower case letters, digits, _ and -, starting with a letter or digit"
        )
    return tag


def review_state(session: Session, conversation_id: int) -> ReviewState:
    conversation_row(session, conversation_id)  # NoSuchConversation
    row = session.get(ReviewConversation, conversation_id)
    tags = session.execute(
        select(ReviewConversationTag.tag)
        .where(ReviewConversationTag.conversation_id == conversation_id)
        .order_by(ReviewConversationTag.tag)
    ).scalars()
    saved = session.execute(
        select(ReviewSavedTest).where(ReviewSavedTest.conversation_id == conversation_id).order_by(ReviewSavedTest.id)
    ).scalars()
    tests = tuple(SavedTest(s.story, s.file, bool(s.corrected), s.saved_by, s.saved_at) for s in saved)
    if row is None:
        return ReviewState(conversation_id, tags=tuple(tags), saved_tests=tests)
    return ReviewState(
        conversation_id,
        bool(row.reviewed),
        row.reviewed_by,
        row.reviewed_at,
        row.note,
        row.note_by,
        row.note_at,
        tuple(tags),
        tests,
    )


def _row(session: Session, conversation_id: int, at: datetime) -> ReviewConversation:
    conversation_row(session, conversation_id)
    row = session.get(ReviewConversation, conversation_id, with_for_update=True)
    if row is None:
        row = ReviewConversation(conversation_id=conversation_id, reviewed=False, updated_at=at)
        session.add(row)
        session.flush()
    return row


def set_tags(
    session: Session, conversation_id: int, tags: list[str], *, by: str, at: datetime | None = None
) -> ReviewState:
    """The conversation's tags become exactly `tags` (lower-cased); the added and removed ones are audited."""
    at = at or utcnow()
    wanted = list(dict.fromkeys(check_tag(t) for t in tags))
    if len(wanted) > MAX_TAGS:
        raise ConversationError(f"a conversation takes at most {MAX_TAGS} tags, not {len(wanted)}")
    _row(session, conversation_id, at)  # locks the conversation's review: two taggers in turn
    before = review_state(session, conversation_id).tags
    added = [t for t in wanted if t not in before]
    removed = [t for t in before if t not in wanted]
    if not added and not removed:
        return review_state(session, conversation_id)
    by = audit.check_actor(by)
    if removed:
        session.execute(
            delete(ReviewConversationTag).where(
                ReviewConversationTag.conversation_id == conversation_id, ReviewConversationTag.tag.in_(removed)
            )
        )
    session.add_all(
        ReviewConversationTag(conversation_id=conversation_id, tag=t, added_by=by, added_at=at) for t in added
    )
    session.flush()
    audit.record(
        session,
        actor=by,
        action="conversation.tagged",
        subject_kind=SUBJECT,
        subject_id=conversation_id,
        changes={"tags": {"before": list(before), "after": sorted(wanted)}, "added": added, "removed": removed},
        at=at,
    )
    return review_state(session, conversation_id)


def mark_reviewed(
    session: Session, conversation_id: int, reviewed: bool = True, *, by: str, at: datetime | None = None
) -> ReviewState:
    """Mark the conversation reviewed (or not any more); audited when it changes."""
    at = at or utcnow()
    by = audit.check_actor(by)
    row = _row(session, conversation_id, at)
    if bool(row.reviewed) != reviewed:
        audit.record(
            session,
            actor=by,
            action="conversation.reviewed" if reviewed else "conversation.unreviewed",
            subject_kind=SUBJECT,
            subject_id=conversation_id,
            changes={"reviewed": {"before": bool(row.reviewed), "after": reviewed}},
            at=at,
        )
        row.reviewed = reviewed
        row.reviewed_by = by if reviewed else None
        row.reviewed_at = at if reviewed else None
        row.updated_at = at
        session.flush()
    return review_state(session, conversation_id)


def set_note(session: Session, conversation_id: int, note: str, *, by: str, at: datetime | None = None) -> ReviewState:
    """The reviewers' note (empty: none); audited with the text before and after."""
    at = at or utcnow()
    by = audit.check_actor(by)
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ConversationError(f"a note holds at most {MAX_NOTE:,} characters, not {len(text):,}")
    row = _row(session, conversation_id, at)
    new = text or None
    if row.note != new:
        audit.record(
            session,
            actor=by,
            action="conversation.noted",
            subject_kind=SUBJECT,
            subject_id=conversation_id,
            changes={"note": {"before": row.note, "after": new}},
            at=at,
        )
        row.note, row.note_by, row.note_at, row.updated_at = new, by if new else None, at if new else None, at
        session.flush()
    return review_state(session, conversation_id)
