"""A person takes over: the customer asked, accepted the bot's offer, the bot kept failing, or a workflow escalated.

The handoff record (reason, priority, topic queue, times) is committed before the customer is told what
happens next; then the bot pauses itself for the conversation (Rasa's ConversationPaused) until an agent
hands back from the console. When nobody works the queue right now, the customer is told so and a person
gets back to them later instead (a follow-up), and the bot keeps helping meanwhile.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import previous_bot_action, sentiment_trend, verified_customer
from bot.handoff.routing import default_rules
from bot.handoff.service import (
    ACCOUNT_CLOSURE,
    ASKED,
    BOT_STUCK,
    COMPLAINT,
    WORKFLOW_ESCALATION,
    HandoffRequest,
    HandoffStart,
    availability,
    cancel_follow_up,
    start_handoff,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# A broken config/handoff.yml stops the action server when it starts, naming the key, not mid-handoff.
default_rules()

__all__ = [
    "ASKED",
    "BOT_STUCK",
    "WORKFLOW_ESCALATION",
    "ActionRequestHuman",
    "ActionContactHours",
    "ActionCancelHandoff",
    "hand_off",
]

# Intents that say what the conversation is about (the queue it goes to); chit-chat and yes/no do not.
_NOT_TOPICAL = {
    "affirm",
    "deny",
    "greet",
    "goodbye",
    "thank",
    "ask_human",
    "nlu_fallback",
    "inform",
    "bot_challenge",
    "out_of_scope",
    "workflow_answer",
    "journey_follow_up",
    "rate_journey",
    "handoff_cancel",
}


def topical_intents(tracker: Tracker, limit: int = 5) -> list[str]:
    """The conversation's latest topical intents, newest first."""
    intents: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name and name not in _NOT_TOPICAL and name not in intents:
            intents.append(name)
            if len(intents) >= limit:
                break
    return intents


def _journey_slot(tracker: Tracker) -> tuple[int | None, str | None]:
    """The journey the conversation is on; (None, None) lets the service take the customer's latest open one."""
    slot = tracker.get_slot("journey") or {}
    if isinstance(slot, dict) and slot.get("id"):
        return int(slot["id"]), slot.get("workflow")
    return None, None


def hand_off(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    session: Session,
    reason: str,
    *,
    customer: str | None = None,
    journey: tuple[int, str] | None = None,
    announce_again: bool = True,
    preface: str | None = None,
) -> list[dict[str, Any]]:
    """Open (or rejoin) the conversation's handoff, say what happens next, pause the bot while a person comes.

    Commits the session before any message is queued, so the record exists before the customer is told.
    `customer` defaults to the verified customer of the conversation; `announce_again=False` stays quiet
    when the conversation already had this handoff open. `journey` (id, workflow) defaults to the journey
    the conversation is on. `preface` is a response said first (once the record is stored).
    """
    customer = customer or verified_customer(tracker)
    journey_id, workflow = journey or _journey_slot(tracker)
    trend = sentiment_trend(tracker)
    start = start_handoff(
        session,
        HandoffRequest(
            conversation_id=tracker.sender_id,
            reason=reason,
            channel=(tracker.get_latest_input_channel() or "chat")[:32],
            customer_external_id=customer,
            sentiment=trend.mean,
            intents=tuple(topical_intents(tracker)),
            journey_id=journey_id,
            workflow=workflow,
        ),
    )
    if preface:
        dispatcher.utter_message(response=preface)
    if start.created or announce_again:
        _tell(dispatcher, start)
    events: list[dict[str, Any]] = [
        SlotSet("handoff_reason", start.handoff.reason),
        SlotSet("handoff_offer_reason", None),
        SlotSet("sentiment_trend", trend.as_dict()),
    ]
    if start.waiting:
        events.append(ConversationPaused())
    return events


def _tell(dispatcher: CollectingDispatcher, start: HandoffStart) -> None:
    handoff = start.handoff
    notice = start.widget_notice()
    if handoff.status == "assigned":
        dispatcher.utter_message(
            response="utter_handoff_assigned", agent=handoff.agent_name or "a person", json_message=notice
        )
    elif handoff.status == "waiting":
        dispatcher.utter_message(
            response="utter_handoff_waiting",
            queue=start.queue_name.lower(),
            position=start.position,
            minutes=start.expected_wait_minutes or 1,
            json_message=notice,
        )
    else:
        dispatcher.utter_message(
            response="utter_handoff_offline",
            hours=f"{start.follow_up_hours:g}",
            buttons=[{"title": "No thanks, cancel it", "payload": "/handoff_cancel"}],
            json_message=notice,
        )


# What only a person does: the customer's intent -> the handoff's reason, and what the customer hears first.
ONLY_A_PERSON = {
    "complaint": (COMPLAINT, "utter_complaint_recorded"),
    "account_close": (ACCOUNT_CLOSURE, "utter_account_close_recorded"),
}


class ActionRequestHuman(ShopAction):
    reports_failure = False

    def name(self) -> str:
        return "action_request_human"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        offered_for = tracker.get_slot("handoff_offer_reason")
        accepted_offer = offered_for and previous_bot_action(tracker) == "utter_offer_human"
        reason, preface = ASKED, None
        if accepted_offer:
            reason = offered_for
        elif (tracker.latest_message or {}).get("intent", {}).get("name") in ONLY_A_PERSON:
            reason, preface = ONLY_A_PERSON[tracker.latest_message["intent"]["name"]]
        return hand_off(dispatcher, tracker, session, reason, preface=preface)

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        # The queue cannot be reached: the customer still gets a way to a person.
        dispatcher.utter_message(response="utter_ask_human")
        return [SlotSet("handoff_reason", ASKED), SlotSet("handoff_offer_reason", None)]


class ActionContactHours(ShopAction):
    """ "When can I reach you?": the bot always, and whether a person is online now (or the follow-up promise)."""

    reports_failure = False

    def name(self) -> str:
        return "action_contact_hours"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        now = availability(session)
        if now.agents_online:
            people = "one person" if now.agents_online == 1 else f"{now.agents_online} people"
            dispatcher.utter_message(
                response="utter_contact_hours_online", agents=people, verb="is" if now.agents_online == 1 else "are"
            )
        else:
            dispatcher.utter_message(response="utter_contact_hours_offline", hours=f"{now.follow_up_hours:g}")
        return []


class ActionCancelHandoff(ShopAction):
    """The customer no longer wants a person to get back to them."""

    reports_failure = False

    def name(self) -> str:
        return "action_cancel_handoff"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        cancelled = cancel_follow_up(session, tracker.sender_id)
        if cancelled is None:
            dispatcher.utter_message(response="utter_handoff_nothing_to_cancel")
            return []
        dispatcher.utter_message(
            response="utter_handoff_cancelled", json_message={"type": "handoff", "status": "ended"}
        )
        return [SlotSet("handoff_reason", None)]
