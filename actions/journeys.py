"""Issue journeys in the conversation: start or pick up a problem's journey, answer its steps, follow-ups,
the customer's list of open issues, closing one, and the satisfaction question once it is resolved.

Thin: `bot.journeys.service` decides and persists; these actions read the tracker, commit the turn (so every
step is written before the bot answers) and say what the service returned. `bot/policies/journey_policy.py`
routes answers here while a journey waits for the customer.
"""

from __future__ import annotations

import logging
from abc import ABC
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.account import ActionBillingOverview
from actions.base import ShopAction, failed
from actions.context import order_named_earlier, verified_customer
from actions.handoff import WORKFLOW_ESCALATION, hand_off
from actions.orders import AWAITING, ActionDeliveryProblem, ActionReturnInfo
from actions.surveys import ACTION_ANSWER_SURVEY, JOURNEY_RESOLVED, ask_survey, offered_surveys
from bot import payloads
from bot.identity import customer_from_metadata
from bot.journeys import store
from bot.journeys.ratings import read_rating
from bot.journeys.service import JourneyService, Turn, default_service
from bot.journeys.types import BotMessage, UserInput
from bot.shop import orders as shop_orders

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

JOURNEY_SLOT = "journey"
SOLVED_INTENT = "problem_solved"  # closing an issue with these words resolves it (the customer says it is fixed)
# "It came out on the 1st" can read as "it came": below this confidence the bot asks before it closes an issue.
SURE_SOLVED = 0.6
SOLVED_CONFIRMATION = "solved_confirmation"  # slot `awaiting` while the bot asks "is it sorted?"
# A status question, a bare order number or a delivery complaint in other words about a late order is handed
# over by these actions, as a report of this intent. `action_journey_start` itself: a complaint no workflow's
# words match runs `ActionDeliveryProblem` inside it, which hands a late order back.
LATE_ORDER_FROM = ("action_order_status", "action_handle_inform", "action_delivery_problem", "action_journey_start")
LATE_ORDER_INTENT = "delivery_problem"
CONFLICT_RETRIES = 3


def as_id(value: Any) -> int | None:
    """A journey or follow-up id from an entity or slot; None for anything that is not a positive integer
    (a typed "journey abc" or a tampered button payload must not crash the action)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None  # beyond 64 bits no database id exists


def user_input(tracker: Tracker) -> UserInput:
    """The latest message as the workflows see it (entities by name, the intent ranking, the sentiment)."""
    return UserInput.from_parse_data(
        tracker.latest_message or {}, channel=(tracker.get_latest_input_channel() or "chat")[:32]
    )


def say(dispatcher: CollectingDispatcher, messages: tuple[BotMessage, ...]) -> None:
    for message in messages:
        dispatcher.utter_message(
            response=message.response, buttons=list(message.buttons) or None, **dict(message.values)
        )


def journey_slot(turn: Turn, service: JourneyService) -> dict[str, Any]:
    """What the policy and later actions need to know about the journey the conversation is on: which it is,
    and, while it waits for the customer, what its question takes as an answer (`Accepts.to_slot`)."""
    journey = turn.journey
    if journey is None or not journey.is_open:
        return SlotSet(JOURNEY_SLOT, None)
    waiting = journey.state == "waiting_for_customer"
    return SlotSet(
        JOURNEY_SLOT,
        {
            "id": journey.id,
            "workflow": journey.workflow,
            "title": service.title(journey.workflow),
            "step": journey.current_step,
            "waiting_for_customer": waiting,
            "accepts": service.accepts(journey.workflow, journey.current_step)
            if waiting and journey.current_step
            else None,
        },
    )


def after_turn(
    dispatcher: CollectingDispatcher, turn: Turn, tracker: Tracker, session: Session
) -> list[dict[str, Any]]:
    """Events that follow from where the journey ended up: a survey once it is resolved (the satisfaction question,
    unless the caps of config/surveys.yml say the customer was asked enough), a person (a handoff) once it is
    escalated."""
    service = default_service()
    events = [journey_slot(turn, service)]
    journey = turn.journey
    if journey is None:
        return events
    # Follow-ups are triggered without the customer's token: the journey's own customer is used.
    customer = (
        verified_customer(tracker) or store.customer_of(session, journey.id, conversation_id=tracker.sender_id)
        if journey.state in ("resolved", "escalated")
        else None
    )
    if journey.state == "resolved":
        ask_survey(dispatcher, tracker, session, JOURNEY_RESOLVED, customer=customer, journey=journey)
    elif journey.state == "escalated":
        events += hand_off(
            dispatcher,
            tracker,
            session,
            journey.escalation_reason or WORKFLOW_ESCALATION,
            customer=customer,
            journey=(journey.id, journey.workflow),
            announce_again=False,
        )
        events.append(failed("escalated"))
    if turn.unexpected_answer:
        events.append(failed("unexpected_answer"))
    return events


def already_ended(
    dispatcher: CollectingDispatcher, tracker: Tracker, title: str, journey: store.JourneyView
) -> list[dict[str, Any]]:
    """A resolved or closed journey named by a button: say so, change nothing, and stop following it here."""
    dispatcher.utter_message(response="utter_journey_already_ended", title=title, state=journey.state)
    current = (tracker.get_slot(JOURNEY_SLOT) or {}).get("id")
    return [SlotSet(JOURNEY_SLOT, None)] if current in (None, journey.id) else []


class JourneyAction(ShopAction, ABC):
    """A journey turn: run again when another message of the same customer changed the journey first; a journey
    that is gone or ended is said so.

    Abstract, so that rasa-sdk registers only the concrete actions."""

    attempts = CONFLICT_RETRIES
    retry_on = (store.JourneyConflict,)
    refusals = (store.JourneyNotFound, store.JourneyNotOpen)

    def refused(self, error: Exception, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_journey_not_found")
        return [SlotSet(JOURNEY_SLOT, None)]


# The actions that answered these reports before journeys existed: still the answer when no workflow fits.
_WITHOUT_WORKFLOW: dict[str, Any] = {
    "delivery_problem": ActionDeliveryProblem,
    "return_item": ActionReturnInfo,
    "billing_question": ActionBillingOverview,
}


class ActionJourneyStart(JourneyAction):
    """A problem reported: its open journey continues, a recent one reopens, or a new one starts."""

    def name(self) -> str:
        return "action_journey_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        message, workflow = self._report(tracker)
        customer = verified_customer(tracker)
        if customer is None or workflow is None:
            # A visitor's report is answered as its workflow's kind of problem: "I want my money back" is about
            # returns (the return policy), whichever intent of the workflow it was worded as.
            problem = default_service().problem_intents(workflow) if workflow else ()
            return self._without_workflow(dispatcher, tracker, domain, (*problem, message.intent))
        return super().run(dispatcher, tracker, domain)

    @staticmethod
    def _report(tracker: Tracker) -> tuple[UserInput, str | None]:
        """The problem reported, and the workflow it starts. A late order found by a status question
        (`ActionOrderStatus` hands it over) is a delivery problem about that order, however it was worded; a
        message the NLU could not settle (`ActionHandleFallback` hands it over) is the report it reads as. A
        report that names no order is about the order under discussion ("send a replacement" after the bot
        showed one), when its workflow starts from an order."""
        message, service = user_input(tracker), default_service()
        if tracker.latest_action_name in LATE_ORDER_FROM:
            message = replace(message, intent=LATE_ORDER_INTENT)
            workflow = service.workflow_reporting(LATE_ORDER_INTENT)
        elif (rescued := service.report_behind_fallback(message)) is not None:  # handed over by the fallback
            message, workflow = replace(message, intent=rescued[0]), rescued[1]
        else:
            workflow = service.workflow_for(message)
        discussed = tracker.get_slot("order_id")
        if workflow and discussed and "order_id" not in message.entities and service.starts_from(workflow, "order_id"):
            message = replace(message, entities={**message.entities, "order_id": discussed})
        return message, workflow

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        service = default_service()
        message, workflow = self._report(tracker)
        customer = verified_customer(tracker)
        if customer and workflow and "order_id" not in message.entities and service.starts_from(workflow, "order_id"):
            # "the Ugreen charger I bought ... is not what I expected", then "just the money back": that order.
            named = order_named_earlier(session, customer, tracker)
            if named is not None:
                message = replace(message, entities={**message.entities, "order_id": named})
        result = (
            service.report(session, customer, message, conversation_id=tracker.sender_id, workflow=workflow)
            if customer is not None
            else None
        )
        if result is None:  # the customer is not in the shop's database
            dispatcher.utter_message(response="utter_report_problem")
            return []
        assert result.journey is not None, "a report that fits a workflow opens or continues a journey"
        if result.resumed:
            if tracker.latest_action_name in LATE_ORDER_FROM:  # "where is it?" gets its answer before the issue
                _late_order_status(dispatcher, session, verified_customer(tracker), message.entities.get("order_id"))
            dispatcher.utter_message(response="utter_journey_resumed", title=service.title(result.journey.workflow))
        elif result.reopened:
            dispatcher.utter_message(response="utter_journey_reopened", title=service.title(result.journey.workflow))
        say(dispatcher, result.messages)
        return after_turn(dispatcher, result, tracker, session)

    @staticmethod
    def _without_workflow(
        dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], intents: tuple[str | None, ...]
    ) -> list[dict[str, Any]]:
        fallback = next((_WITHOUT_WORKFLOW[i] for i in intents if i in _WITHOUT_WORKFLOW), None)
        if fallback is not None:
            return fallback().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_report_problem")
        return []


def _late_order_status(dispatcher: CollectingDispatcher, session: Session, customer: str | None, number: Any) -> None:
    """Where a late order stands, in plain facts: the open issue about it makes the promises."""
    order = shop_orders.get_customer_order(session, customer, str(number)) if customer and number else None
    if order is not None:
        dispatcher.utter_message(response="utter_order_late_status", **fmt.order_values(order))


class ActionJourneyContinue(JourneyAction):
    """The customer answered the journey's waiting step."""

    def name(self) -> str:
        return "action_journey_continue"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        journey_id = as_id((tracker.get_slot(JOURNEY_SLOT) or {}).get("id"))
        customer = verified_customer(tracker)
        if journey_id is None or customer is None:
            dispatcher.utter_message(response="utter_journey_not_found")
            return [SlotSet(JOURNEY_SLOT, None)]
        result = default_service().answer(
            session, customer, journey_id, user_input(tracker), conversation_id=tracker.sender_id
        )
        say(dispatcher, result.messages)
        return after_turn(dispatcher, result, tracker, session)


class ActionJourneyReprompt(JourneyAction):
    """Back to the journey after an interruption, or when the customer picks an open issue to continue."""

    def name(self) -> str:
        return "action_journey_reprompt"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        if tracker.get_slot(AWAITING) == SOLVED_CONFIRMATION:  # "not yet" to "is it sorted?": back to the issue
            return [SlotSet(AWAITING, None)] + self._back(dispatcher, tracker, session)
        return self._back(dispatcher, tracker, session)

    def _back(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        requested = next(tracker.get_latest_entity_values("journey_id"), None)
        journey_id = as_id(requested or (tracker.get_slot(JOURNEY_SLOT) or {}).get("id"))
        service = default_service()
        if journey_id is None and customer is not None and requested is None:
            open_ones = service.open_journeys(session, customer)  # "still not working": the one open issue
            journey_id = open_ones[0].id if len(open_ones) == 1 else None
        if customer is None or journey_id is None:
            if requested is None and user_input(tracker).intent == "problem_persists":
                dispatcher.utter_message(response="utter_report_problem")  # no issue to go back to: ask what
            return []
        journey = service.journey(session, customer, journey_id)
        if not journey.is_open:
            return already_ended(dispatcher, tracker, service.title(journey.workflow), journey)
        result = service.prompt_again(session, customer, journey_id)
        if result.messages:
            assert result.journey is not None, "an open journey asked again is still there"
            dispatcher.utter_message(response="utter_journey_back_to", title=service.title(result.journey.workflow))
            say(dispatcher, result.messages)
        return [journey_slot(result, service)]


class ActionJourneyFollowUp(JourneyAction):
    """A follow-up or nudge the scheduler triggered in this conversation (intent `journey_follow_up`)."""

    def name(self) -> str:
        return "action_journey_follow_up"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        journey_id = as_id(next(tracker.get_latest_entity_values("journey_id"), None))
        follow_up_id = as_id(next(tracker.get_latest_entity_values("follow_up_id"), None))
        customer = _journey_customer(session, tracker, journey_id)
        if journey_id is None or customer is None:
            return []
        result = default_service().follow_up(
            session,
            customer,
            journey_id,
            follow_up_id,
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
        )
        say(dispatcher, result.messages)
        return after_turn(dispatcher, result, tracker, session)


def _journey_customer(session: Session, tracker: Tracker, journey_id: int | None) -> str | None:
    """Whose journey a follow-up is for. Triggered intents carry no customer token: the journey's own
    customer is read from the store, and only for a journey that last talked in this very conversation."""
    if journey_id is None:
        return None
    return store.customer_of(session, journey_id, conversation_id=tracker.sender_id)


class ActionListJourneys(JourneyAction):
    def name(self) -> str:
        return "action_list_journeys"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_journeys_sign_in")
            return []
        service = default_service()
        journeys = service.open_journeys(session, customer)
        if not journeys:
            dispatcher.utter_message(response="utter_no_open_journeys")
            return [SlotSet(JOURNEY_SLOT, None)]
        buttons = []
        for j in journeys[:5]:
            buttons.append(
                {"title": f"Continue: {service.title(j.workflow)}", "payload": f'/resume_issue{{"journey_id": {j.id}}}'}
            )
            buttons.append(
                {"title": f"Close: {service.title(j.workflow)}", "payload": f'/close_issue{{"journey_id": {j.id}}}'}
            )
        lines = "\n".join(
            f"• {service.title(j.workflow)}: {j.state.replace('_', ' ')}, since {j.opened_at:%d %B}" for j in journeys
        )
        dispatcher.utter_message(response="utter_open_journeys", journeys=lines, buttons=buttons)
        return []


class ActionCloseJourney(JourneyAction):
    def name(self) -> str:
        return "action_close_journey"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_journeys_sign_in")
            return []
        service = default_service()
        requested = next(tracker.get_latest_entity_values("journey_id"), None)
        if requested is not None and as_id(requested) is None:
            # An id that is not one (a tampered button): show the list rather than guess.
            return ActionListJourneys().handle(dispatcher, tracker, session)
        journey_id = as_id(requested or (tracker.get_slot(JOURNEY_SLOT) or {}).get("id"))
        if journey_id is None:
            open_ones = service.open_journeys(session, customer)
            if not open_ones and user_input(tracker).intent == SOLVED_INTENT:
                dispatcher.utter_message(response="utter_wf_glad_fixed")  # "it works now", with no issue open
                return []
            if len(open_ones) != 1:
                return ActionListJourneys().handle(dispatcher, tracker, session)
            journey_id = open_ones[0].id
        journey = service.journey(session, customer, journey_id)
        if not journey.is_open:
            return already_ended(dispatcher, tracker, service.title(journey.workflow), journey)
        message = user_input(tracker)
        confirmed = tracker.get_slot(AWAITING) == SOLVED_CONFIRMATION  # the "yes" to "is it sorted?"
        if message.intent == SOLVED_INTENT and not confirmed and _confidence(message) < SURE_SOLVED:
            dispatcher.utter_message(response="utter_confirm_solved", title=service.title(journey.workflow))
            return [SlotSet(AWAITING, SOLVED_CONFIRMATION)]
        if message.intent == SOLVED_INTENT or confirmed:  # "it's sorted now": fixed, not withdrawn
            closed = service.solved(session, customer, journey_id)
            dispatcher.utter_message(response="utter_journey_solved", title=service.title(closed.workflow))
            ask_survey(dispatcher, tracker, session, JOURNEY_RESOLVED, customer=customer, journey=closed)
        else:
            closed = service.close(session, customer, journey_id)
            dispatcher.utter_message(response="utter_journey_closed", title=service.title(closed.workflow))
        current = (tracker.get_slot(JOURNEY_SLOT) or {}).get("id")
        events = [SlotSet(AWAITING, None)] if confirmed else []
        return events + ([SlotSet(JOURNEY_SLOT, None)] if current in (None, closed.id) else [])


def _confidence(message: UserInput) -> float:
    return next((confidence for name, confidence in message.ranking if name == message.intent), 1.0)


class ActionRateJourney(JourneyAction):
    def name(self) -> str:
        return "action_rate_journey"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        asked = payloads.offered_values(tracker.events, "rate_journey", "journey_id")
        if not asked and offered_surveys(tracker):  # "9/10" to the effort or recommend question: its answer
            return [FollowupAction(ACTION_ANSWER_SURVEY)]
        tapped = next(tracker.get_latest_entity_values("score"), None)
        score = as_id(tapped) if tapped is not None else read_rating((tracker.latest_message or {}).get("text"))
        requested = next(tracker.get_latest_entity_values("journey_id"), None)
        if requested is None and len(asked) == 1:
            requested = next(iter(asked))  # typed: the survey the bot asked
        journey_id = as_id(requested)
        if customer is None or journey_id is None or score is None or not 1 <= score <= 5:
            dispatcher.utter_message(response="utter_csat_unclear")
            return []
        if str(journey_id) not in asked:
            # Only a survey the bot asked in this conversation takes an answer.
            dispatcher.utter_message(response="utter_csat_not_asked")
            return []
        default_service().rate(session, customer, journey_id, score)
        dispatcher.utter_message(response="utter_csat_thanks")
        return []


class ActionSessionStart(ShopAction):
    """A new conversation, on any channel: a signed-in customer with an open issue is offered to continue it
    (the journey lives in the database, not in the old conversation)."""

    reports_failure = False

    def name(self) -> str:
        return "action_session_start"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = customer_from_metadata(tracker.get_slot("session_started_metadata"))
        latest = default_service().welcome_back(session, customer) if customer is not None else None
        if latest is not None:
            dispatcher.utter_message(
                response="utter_journey_welcome_back",
                title=default_service().title(latest.workflow),
                buttons=[
                    {"title": "Continue", "payload": f'/resume_issue{{"journey_id": {latest.id}}}'},
                    {"title": "It's sorted, close it", "payload": f'/close_issue{{"journey_id": {latest.id}}}'},
                ],
            )
        return [SessionStarted(), ActionExecuted("action_listen")]

    def unavailable(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        # The conversation starts anyway; only the offer to continue an open issue is missing.
        return [SessionStarted(), ActionExecuted("action_listen")]
