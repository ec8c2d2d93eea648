"""Changing what is in an order before it ships: add, remove, a new quantity, in the customer's words."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction, failed
from actions.context import verified_customer
from actions.orders import AWAITING, OrderAction, open_orders_allowing
from actions.surveys import REQUEST_DONE, ask_survey
from bot.db.session import DatabaseUnavailable, unit_of_work
from bot.shop import order_edits
from bot.shop import orders as shop_orders
from bot.shop.catalog import products_named
from bot.shop.order_edits import EditDecision, EditKind, EditResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

ORDER_CHANGE = "order_change"  # the slot with the customer's words; also the `awaiting` value before the form
PROBLEM = "order_change_problem"  # the last answer could not be used, and the bot already said why
LAST_CHANGED = "order_change_last"  # the SKU changed last: "actually i only need one" is about it
SEVERAL = "several_products:"  # PROBLEM's value after "which one shall I add?": "several_products:<count>:<words>"
# Answers the change action cannot act on: the bot says why and asks again.
ASK_AGAIN = {EditDecision.NOT_UNDERSTOOD, EditDecision.SEVERAL_PRODUCTS, EditDecision.NO_SUCH_PRODUCT}


def _say_problem(dispatcher: CollectingDispatcher, result: EditResult) -> str:
    """Say why the words could not be used, as a question the customer can answer in their own words or with a
    tap; returns what the next answer is read against (for "which one?": the count and the words asked about)."""
    if result.decision is EditDecision.SEVERAL_PRODUCTS:
        count = result.edit.quantity if result.edit else 1
        dispatcher.utter_message(
            response="utter_order_change_which_product",
            options=fmt.bullet_list(f"{p.name} ({fmt.money(p.price)})" for p in result.options),
            buttons=[
                {"title": p.name, "payload": f"add {count} {p.name}" if count > 1 else f"add {p.name}"}
                for p in result.options
            ],
        )
        return f"{SEVERAL}{count}:{result.edit.query if result.edit else ''}"
    if result.decision is EditDecision.NO_SUCH_PRODUCT:
        dispatcher.utter_message(
            response="utter_order_change_no_such_product", product=result.edit.query if result.edit else "that"
        )
    else:
        dispatcher.utter_message(response="utter_order_change_not_understood")
    return result.decision.value


def _answer_to_which(
    session: Session, customer: str | None, number: str, text: str | None, problem: str
) -> tuple[str, EditResult]:
    """The answer to "which one shall I add?" as a whole request, and what it would do: "the second one", "the
    cheapest" or "the anker one" after "add 2 chargers" is "add 2 <that charger>" (or fewer chargers to pick from)."""
    count, _, query = problem[len(SEVERAL) :].partition(":")
    picked = order_edits.choice_meant(text, products_named(session, query))
    request = f"add {count} {picked.name}" if picked is not None else f"add {count} {query} {text}"
    return request, order_edits.edit_order(session, customer, number, request, dry_run=True)


_LISTEN = FollowupAction("action_listen")


def _latest_text(tracker: Tracker) -> str | None:
    return (tracker.latest_message or {}).get("text")


class ActionChangeOrderCheck(OrderAction):
    """Finds the order and checks the shop's rule. A request that already says what to change ("remove the mouse
    from TD470913") goes straight to `action_change_order`; otherwise `change_order_form` asks."""

    intent = "change_order"
    awaiting = "order_for_change"

    def name(self) -> str:
        return "action_change_order_check"

    def candidates(self, session: Session, customer: str) -> list[Any]:
        return open_orders_allowing(session, customer, order_edits.can_change_items)

    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]:
        allowed, decision = order_edits.can_change_items(order)
        if not allowed:
            # The order stays the one under discussion ("a new one then" starts its return), and the turn ends here.
            dispatcher.utter_message(response=f"utter_cannot_change_order_{decision.value}", **fmt.order_values(order))
            return [SlotSet("order_id", order.number), failed(f"cannot_change_order_{decision.value}"), _LISTEN]
        events = [SlotSet("order_id", order.number), SlotSet(ORDER_CHANGE, None), SlotSet(PROBLEM, None)]
        text = _latest_text(tracker)
        if (tracker.latest_message or {}).get("intent", {}).get("name") == self.intent:
            preview = order_edits.edit_order(
                session, customer, order.number, text, dry_run=True, recent=tracker.get_slot(LAST_CHANGED)
            )
            if preview.decision not in ASK_AGAIN:
                return events + [
                    SlotSet(ORDER_CHANGE, text),
                    SlotSet(AWAITING, None),
                    FollowupAction("action_change_order"),
                ]
            if preview.decision in (EditDecision.SEVERAL_PRODUCTS, EditDecision.NO_SUCH_PRODUCT):
                problem = _say_problem(dispatcher, preview)
                return events + [SlotSet(PROBLEM, problem), SlotSet(AWAITING, ORDER_CHANGE)]
        return events + [SlotSet(AWAITING, ORDER_CHANGE)]


class ActionAskOrderChange(ShopAction):
    """The form's question: what the order holds and what can change. Silent when the last answer's problem was
    just explained (that explanation ends in the question)."""

    def name(self) -> str:
        return "action_ask_order_change"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        if tracker.get_slot(PROBLEM):
            return []
        customer = verified_customer(tracker)
        number = tracker.get_slot("order_id")
        order = shop_orders.get_customer_order(session, customer, number) if customer and number else None
        if order is None:
            dispatcher.utter_message(response="utter_order_change_question_plain")
            return []
        dispatcher.utter_message(
            response="utter_order_change_question",
            order_id=order.number,
            lines=fmt.line_list(order.lines),
        )
        return []


class ValidateChangeOrderForm(FormValidationAction):
    """Only words that say one change the shop can make are taken; otherwise the bot says why and asks again."""

    def name(self) -> str:
        return "validate_change_order_form"

    def validate_order_change(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = slot_value if isinstance(slot_value, str) else None
        customer, number = verified_customer(tracker), tracker.get_slot("order_id")
        problem = tracker.get_slot(PROBLEM) or ""
        try:
            with unit_of_work() as session:
                preview = None
                if problem.startswith(SEVERAL):
                    request, narrowed = _answer_to_which(session, customer, number, text, problem)
                    if narrowed.decision not in ASK_AGAIN:
                        return {ORDER_CHANGE: request, PROBLEM: None}
                    if narrowed.decision is EditDecision.SEVERAL_PRODUCTS:
                        preview = narrowed  # fewer to pick from: asked again
                preview = preview or order_edits.edit_order(
                    session, customer, number, text, dry_run=True, recent=tracker.get_slot(LAST_CHANGED)
                )
        except DatabaseUnavailable:
            logger.exception("validate_change_order_form: the shop database failed")
            return {ORDER_CHANGE: text, PROBLEM: None}  # action_change_order says the store is down
        if preview.decision not in ASK_AGAIN:
            return {ORDER_CHANGE: text, PROBLEM: None}  # a change, or a reason there is none: the action says it
        return {ORDER_CHANGE: None, PROBLEM: _say_problem(dispatcher, preview)}


class ActionChangeOrder(ShopAction):
    """Makes the change the customer typed (they hear "done" only once it is stored), or keeps the order as it
    was when they dropped it."""

    def name(self) -> str:
        return "action_change_order"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        number = tracker.get_slot("order_id")
        text = tracker.get_slot(ORDER_CHANGE)
        events: list[dict[str, Any]] = [SlotSet(ORDER_CHANGE, None), SlotSet(PROBLEM, None), SlotSet(AWAITING, None)]
        if customer is None or not number or not text:
            dispatcher.utter_message(response="utter_order_kept", order_id=number or "your order")
            return events
        result = order_edits.edit_order(session, customer, number, text, recent=tracker.get_slot(LAST_CHANGED))
        decision = result.decision
        if result.changed:
            assert result.order is not None, "a changed order is there to show"
            dispatcher.utter_message(
                response="utter_order_changed",
                change=_change_words(result),
                lines=fmt.line_list(result.order.lines),
                previous_total=fmt.money(result.previous_total),
                **fmt.order_values(result.order),
            )
            ask_survey(dispatcher, tracker, session, REQUEST_DONE, customer=customer)
            return events + [SlotSet(LAST_CHANGED, result.sku)]
        if decision is EditDecision.NOT_FOUND:
            dispatcher.utter_message(response="utter_order_not_found", order_id=number)
            return events + [failed("order_not_found")]
        if decision in (EditDecision.SHIPPED, EditDecision.DELIVERED, EditDecision.CLOSED):
            # The order moved on between the question and the answer.
            dispatcher.utter_message(
                response=f"utter_cannot_change_order_{decision.value}", **fmt.order_values(result.order)
            )
            return events + [failed(f"cannot_change_order_{decision.value}")]
        if decision is EditDecision.UNCHANGED:
            dispatcher.utter_message(
                response="utter_order_change_unchanged", product=result.product_name, **fmt.order_values(result.order)
            )
            return events
        if decision is EditDecision.LAST_ITEM:
            dispatcher.utter_message(
                response="utter_order_change_last_item", product=result.product_name, **fmt.order_values(result.order)
            )
            return events
        if decision is EditDecision.TOO_MANY:
            dispatcher.utter_message(
                response="utter_order_change_too_many",
                product=result.product_name,
                most=str(order_edits.MAX_ITEM_QUANTITY),
            )
            return events + [failed("too_many")]
        _say_problem(dispatcher, result)  # the words could not be used after all (a product went off sale)
        return events + [failed(f"order_change_{decision.value}")]


def _change_words(result: EditResult) -> str:
    """What changed, in a few words: "added 1 × Anker Nano Charger", "removed Logitech MX Master 3S",
    "changed Apple iPhone 15 Case to 1"."""
    edit, name = result.edit, result.product_name
    assert edit is not None, "only a change that was made is put in words"
    if edit.kind is EditKind.ADD:
        return f"added {edit.quantity} × {name}"
    if edit.quantity == 0:
        return f"removed {name}"
    return f"changed {name} to {edit.quantity}"
