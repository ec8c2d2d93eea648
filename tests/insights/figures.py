"""The analytics tables read back as plain values, for comparing with a hand count or with another run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.models import InsightConversation, InsightTurn
from bot.db.session import session_scope

CONVERSATION_FIELDS = (
    "sender_id",
    "channel",
    "customer_id",
    "started_at",
    "last_event_at",
    "user_turns",
    "bot_messages",
    "agent_messages",
    "fallbacks",
    "handed_off_at",
    "first_agent_reply_at",
    "sentiment_min",
    "sentiment_last",
    "turned_negative_at",
)
TURN_FIELDS = (
    "at",
    "text",
    "intent",
    "confidence",
    "margin",
    "entities",
    "sentiment",
    "sentiment_label",
    "language",
    "action",
    "policy",
    "fallback",
    "answered_at",
)


def _rounded(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def tables(url: str) -> list[dict[str, Any]]:
    """Every conversation (by sender, then start) with its turns in order."""
    with session_scope(url) as session:
        out = []
        for c in session.execute(
            select(InsightConversation).order_by(InsightConversation.sender_id, InsightConversation.started_at)
        ).scalars():
            row = {f: _rounded(getattr(c, f)) for f in CONVERSATION_FIELDS}
            row["turns"] = [
                {f: _rounded(getattr(t, f)) for f in TURN_FIELDS}
                for t in session.execute(
                    select(InsightTurn).where(InsightTurn.conversation_id == c.id).order_by(InsightTurn.at)
                ).scalars()
            ]
            out.append(row)
        return out
