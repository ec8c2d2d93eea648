"""Whether a message may enter a conversation: one rule for every input channel (socket.io and REST).

- Ownership: a conversation belongs to the first signed-in customer who uses it (`chat_conversations`).
  Afterwards it takes messages only with that customer's valid token: another customer, or a visitor without
  a token, gets 403. A visitor's conversation may be taken over by a customer who signs in.
- Offers: a typed `/intent{...}` that carries values reaches Rasa only when the bot offered that button in
  this conversation (`bot.payloads`); anything else gets a polite answer and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot import payloads
from bot.channels.inbound import ChannelError
from bot.db.session import unit_of_work
from bot.handoff import conversations
from bot.handoff.conversations import ConversationOwned, UnknownCustomer

logger = logging.getLogger(__name__)

NOT_OFFERED_TEXT = (
    "That option isn't available here any more, so I haven't done anything with it. "
    "Tell me in your own words what you need and I'll help."
)
DATABASE_DOWN = "the assistant is not available right now; try again in a moment"
LOCK_POLL_SECONDS = 0.2  # how often a history read waits for a turn in progress to finish


def _bind(database_url: str, conversation_id: str, customer: str | None, channel: str) -> None:
    with unit_of_work(database_url) as session:
        conversations.admit(session, conversation_id, customer, channel)


async def admit(database_url: str, conversation_id: str, customer: str | None, channel: str) -> None:
    """Record or check who the conversation belongs to; raises ChannelError (401, 403, 503) when refused."""
    try:
        await asyncio.to_thread(_bind, database_url, conversation_id, customer, channel)
    except UnknownCustomer as exc:
        raise ChannelError(401, "unknown customer") from exc
    except ConversationOwned as exc:
        raise ChannelError(403, str(exc)) from exc
    except Exception as exc:
        logger.exception("could not check who conversation %s belongs to", conversation_id)
        raise ChannelError(503, DATABASE_DOWN) from exc


async def conversation_events(app: Any, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's events from Rasa's tracker store (empty when the app has no agent yet)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    tracker_store = getattr(agent, "tracker_store", None)
    if tracker_store is None:
        return []
    tracker = await tracker_store.retrieve_full_tracker(conversation_id)
    return [e.as_dict() for e in tracker.events] if tracker else []


async def settled_events(app: Any, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's events once no turn is in progress (Rasa's lock store, as a turn holds it).

    A turn, or an agent's reply appended through Rasa's API, sends its messages before it stores them: a widget
    that joins the conversation's room in between gets them neither live nor from a history read before the store.
    Raises what the lock store or the tracker store raise (Redis or the database away)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    lock_store = getattr(agent, "lock_store", None)
    if lock_store is None:
        return await conversation_events(app, conversation_id)
    async with lock_store.lock(conversation_id, wait_time_in_seconds=LOCK_POLL_SECONDS):
        return await conversation_events(app, conversation_id)


async def already_stored(app: Any, conversation_id: str, message_id: str) -> bool:
    """Whether the conversation holds a customer message with this client id (a retry whose first try was stored
    but whose acknowledgement was lost). A tracker store that cannot be read says no: the message goes through."""
    try:
        events = await conversation_events(app, conversation_id)
    except Exception:
        logger.exception("could not read conversation %s to check message %s", conversation_id, message_id)
        return False
    return any(e.get("event") == "user" and e.get("message_id") == message_id for e in reversed(events))


async def offered(app: Any, conversation_id: str, text: str) -> bool:
    """Whether `text` may reach Rasa: ordinary text always; a payload with values only if the bot offered it.

    A tracker store that cannot be read refuses the payload (the customer can still say it in words)."""
    if not payloads.needs_offer(text):
        return True
    try:
        events = await conversation_events(app, conversation_id)
    except Exception:
        logger.exception("could not read conversation %s to check a payload", conversation_id)
        return False
    if payloads.was_offered(text, events):
        return True
    logger.warning("conversation %s: refused a payload the bot never offered: %.200s", conversation_id, text)
    return False
