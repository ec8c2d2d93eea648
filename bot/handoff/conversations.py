"""Who a conversation belongs to (`chat_conversations`): the first signed-in customer who uses it.

Every input channel asks here before a message enters a conversation (bot.channels.admission).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ChatConversation, utcnow
from bot.handoff.store import HandoffError
from bot.shop.customers import customer_pk


class ConversationOwned(HandoffError):
    """The conversation id belongs to another customer (or to a signed-in customer, for a visitor)."""


class UnknownCustomer(HandoffError, LookupError):
    """A verified customer id the shop does not know."""


def admit(session: Session, conversation_id: str, customer_external_id: str | None, channel: str) -> None:
    """Bind the conversation to the customer (or a visitor) or refuse: `UnknownCustomer`, `ConversationOwned`."""
    customer_id = customer_pk(session, customer_external_id) if customer_external_id else None
    if customer_external_id and customer_id is None:
        raise UnknownCustomer(customer_external_id)
    bind_conversation(session, conversation_id, customer_id, channel)


def bind_conversation(
    session: Session, conversation_id: str, customer_id: int | None, channel: str, *, now: datetime | None = None
) -> None:
    """Record who a conversation belongs to on first use; refuse anyone else afterwards.

    A signed-in customer's conversation can only be joined with that customer's token. A visitor's
    conversation (no customer) can be continued by the visitor, or taken over by a customer who signs in.
    """
    now = now or utcnow()
    row = session.get(ChatConversation, conversation_id)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    ChatConversation(
                        conversation_id=conversation_id,
                        customer_id=customer_id,
                        channel=channel[:32],
                        created_at=now,
                        last_seen_at=now,
                    )
                )
                session.flush()
            return
        except IntegrityError:
            row = session.get(ChatConversation, conversation_id, populate_existing=True)
            if row is None:
                raise
    if row.customer_id is not None and row.customer_id != customer_id:
        raise ConversationOwned("this conversation belongs to another customer")
    if row.customer_id is None and customer_id is not None:
        row.customer_id = customer_id
    row.last_seen_at = now
    row.channel = channel[:32]


def conversation_customer(session: Session, conversation_id: str) -> int | None:
    row = session.get(ChatConversation, conversation_id)
    return row.customer_id if row else None
