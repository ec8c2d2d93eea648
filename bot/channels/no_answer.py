"""The apology a channel gives when Rasa stored a customer's message but answered nothing, recorded first.

Rasa swallows an action server's failure: the turn ends with the message stored and no bot message. The channel
still owes the customer an answer, and that answer belongs in the conversation like any other: a widget that
reloads shows it, an agent taking over reads it, the insights count the turn as answered. So the apology is appended
to the tracker (Rasa's processor, under the conversation's lock, as Rasa's own events API does) before it is sent.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.shared.core.events import BotUttered

from bot.channels.inbound import NO_ANSWER_TEXT

logger = logging.getLogger(__name__)

MARK = "no_answer"  # BotUttered metadata `tandem`: the channel's apology, not a response of the domain


def apology_event_metadata() -> dict[str, Any]:
    return {"tandem": MARK}


async def record_apology(app: Any, conversation_id: str, text: str = NO_ANSWER_TEXT) -> dict[str, Any]:
    """Append the apology to the conversation and return it as the message to send, with the stored event's time
    (a widget that later asks for history since that time does not get it twice).

    When it cannot be stored (logged), the message is returned all the same: the customer hears back either way,
    and what they sent is already stored, so nothing of theirs is lost."""
    event = BotUttered(text, metadata=apology_event_metadata())
    message = {"text": text, "timestamp": event.timestamp}
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    processor = getattr(agent, "processor", None)
    lock_store = getattr(agent, "lock_store", None)
    if processor is None or lock_store is None:
        return message
    try:
        async with lock_store.lock(conversation_id):
            tracker = await processor.fetch_tracker_with_initial_session(conversation_id)
            tracker.update(event)
            await processor.save_tracker(tracker)
    except Exception:
        logger.exception("could not store the apology in conversation %s; it is sent unstored", conversation_id)
    return message
