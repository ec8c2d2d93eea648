"""What every action needs from the tracker: who the customer is, and which order they mean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker

from bot import payloads
from bot.identity import customer_from_metadata
from bot.sentiment.trend import SentimentTrend, conversation_trend
from bot.shop.orders import normalize_order_number, order_meant, recent_orders

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def previous_bot_action(tracker: Tracker) -> str | None:
    """The last action before the customer's latest message (ignoring listening)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def verified_customer(tracker: Tracker) -> str | None:
    """The customer id of the latest signed message; None for an anonymous visitor.

    Only the signature counts: ids typed in the chat or sent as plain metadata are never trusted.
    """
    latest = tracker.latest_message or {}
    customer = customer_from_metadata(latest.get("metadata"))
    if customer is not None:
        return customer
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return customer_from_metadata(event.get("metadata"))
    return None


def from_button(tracker: Tracker) -> bool:
    """Whether the latest message is a button payload (`/intent{...}`) rather than words the NLU read."""
    return payloads.is_payload((tracker.latest_message or {}).get("text"))


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value) if value is not None else None


def requested_order_number(tracker: Tracker) -> str | None:
    """The order the customer means: named in this message, else the one under discussion."""
    for candidate in (latest_entity(tracker, "order_id"), tracker.get_slot("order_id")):
        if candidate:
            number = normalize_order_number(candidate)
            if number:
                return number
    return None


def order_buttons(orders: list[Any], intent: str) -> list[dict[str, str]]:
    """Quick replies that let the customer pick one of their orders with a tap."""
    return [
        {
            "title": f"{o.number} · {o.lines[0].product_name if o.lines else 'order'} · {o.status.replace('_', ' ')}",
            "payload": f'/{intent}{{"order_id":"{o.number}"}}',
        }
        for o in orders
    ]


def sentiment_trend(tracker: Tracker) -> SentimentTrend:
    """The conversation's sentiment so far (last, mean, worst, slope, negative streak)."""
    return conversation_trend(tracker.events)


EARLIER_MESSAGES = 3  # how far back the customer's own words may name the order a report is about


def order_named_earlier(session: Session, customer: str, tracker: Tracker) -> str | None:
    """The one of the customer's recent orders that their latest messages name by what is in it, newest message
    first ("I bought the Ugreen charger ..., it's not what I expected" before "just the money back")."""
    orders = recent_orders(session, customer, limit=5)
    contents = [(o.number, " ".join(line.product_name for line in o.lines)) for o in orders]
    texts = [e.get("text") for e in reversed(tracker.events) if e.get("event") == "user" and e.get("text")]
    for text in texts[:EARLIER_MESSAGES]:
        if (meant := order_meant(contents, text)) is not None:
            return meant
    return None
