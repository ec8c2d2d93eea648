"""Conversation review tables (bot/review/conversations): what the CX team recorded about a whole conversation (a row
of `insight_conversations`): reviewed or not, a note, free tags, and the test stories saved from it."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text

from bot.db.models.base import EVENT_ID, Base, utcnow


class ReviewConversation(Base):
    """The review of one conversation: whether someone marked it reviewed, and the reviewers' note. Goes with it."""

    __tablename__ = "review_conversations"

    conversation_id = Column(
        EVENT_ID, ForeignKey("insight_conversations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    reviewed = Column(Boolean, nullable=False, default=False, index=True)
    reviewed_by = Column(String(128), nullable=True)
    reviewed_at = Column(DateTime, nullable=True)
    note = Column(Text, nullable=True)
    note_by = Column(String(128), nullable=True)
    note_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class ReviewConversationTag(Base):
    """One free tag on a conversation (lower case; config/review.yml suggests some)."""

    __tablename__ = "review_conversation_tags"
    __table_args__ = (Index("ix_review_conversation_tags_tag", "tag", "conversation_id"),)

    conversation_id = Column(
        EVENT_ID, ForeignKey("insight_conversations.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    tag = Column(String(48), primary_key=True)
    added_by = Column(String(128), nullable=False)
    added_at = Column(DateTime, nullable=False, default=utcnow)


class ReviewSavedTest(Base):
    """A test story written from a conversation into tests/conversations/ (its name is unique in that file)."""

    __tablename__ = "review_saved_tests"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        EVENT_ID, ForeignKey("insight_conversations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    story = Column(String(200), nullable=False)
    file = Column(String(255), nullable=False)  # relative to the project, as git shows it
    corrected = Column(Boolean, nullable=False, default=False)  # a reviewer changed an intent before saving
    saved_by = Column(String(128), nullable=False)
    saved_at = Column(DateTime, nullable=False, default=utcnow)
