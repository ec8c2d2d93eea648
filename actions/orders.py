"""Order status, delivery problems, cancellation, the delivery address, returns and refunds."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction, failed
from actions.context import order_buttons, requested_order_number, verified_customer
from actions.surveys import REQUEST_DONE, ask_survey
from bot.db.models import OPEN_ORDER_STATUSES
from bot.shop import addresses
from bot.shop import orders as shop_orders

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

AWAITING = "awaiting"
# Too late to cancel, but the order can still be refused or returned: the bot says how when asked.
TOO_LATE_TO_CANCEL = ("shipped", "out_for_delivery", "delivered")
CANCEL_ALTERNATIVES = "cancel_alternatives"
# The order may get a new address: the rules go on to change_address_form.
NEW_ADDRESS = "new_address"


def _status_message(dispatcher: CollectingDispatcher, order: Any) -> None:
    """Tell the customer where an order stands, in the words CX keeps in domain/orders.yml."""
    values = fmt.order_values(order)
    if order.is_late:
        dispatcher.utter_message(response="utter_order_late", **values)
    else:
        dispatcher.utter_message(response=f"utter_order_{order.status}", **values)


def open_orders_allowing(session: Session, customer: str, rule: Callable[[Any], tuple[bool, Any]]) -> list[Any]:
    """The customer's open orders that a shop rule (`can_cancel`, `can_change_address`, ...) allows: at most five,
    to pick from."""
    return [o for o in shop_orders.open_orders(session, customer) if rule(o)[0]][:5]


class OrderAction(ShopAction):
    """Finds the order the customer means, or lets them pick one of theirs."""

    intent: str = "order_status"
    awaiting: str = "order_for_status"

    def candidates(self, session: Session, customer: str) -> list[Any]:
        return shop_orders.recent_orders(session, customer, limit=5)

    @abstractmethod
    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]: ...

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_sign_in_needed")
            return [SlotSet(AWAITING, None), failed("sign_in_needed")]
        number = requested_order_number(tracker)
        if number:
            order = shop_orders.get_customer_order(session, customer, number)
            if order is None:
                dispatcher.utter_message(response="utter_order_not_found", order_id=number)
                return [SlotSet("order_id", None), SlotSet(AWAITING, None), failed("order_not_found")]
            return [SlotSet("order_id", number), SlotSet(AWAITING, None)] + self.act_on(
                dispatcher, tracker, session, customer, order
            )
        orders = self.candidates(session, customer)
        if tracker.get_slot(AWAITING) == self.awaiting:  # the bot asked which order: "the iPad one"
            meant = self._meant_by_words(tracker, orders)
            if meant is not None:
                order = next(o for o in orders if o.number == meant)
                return [SlotSet("order_id", meant), SlotSet(AWAITING, None)] + self.act_on(
                    dispatcher, tracker, session, customer, order
                )
        if not orders:
            dispatcher.utter_message(response=f"utter_no_orders_{self.awaiting}")
            return [SlotSet(AWAITING, None)]
        if len(orders) == 1:
            return [SlotSet("order_id", orders[0].number), SlotSet(AWAITING, None)] + self.act_on(
                dispatcher, tracker, session, customer, orders[0]
            )
        dispatcher.utter_message(response="utter_which_order", buttons=order_buttons(orders, self.intent))
        return [SlotSet(AWAITING, self.awaiting)]

    def answers_which_order(self, session: Session, tracker: Tracker) -> bool:
        """Whether the message answers this action's "which order?" by what is in one of the orders offered ("the
        Ugreen charger one"), however the NLU read it."""
        customer = verified_customer(tracker)
        if customer is None or tracker.get_slot(AWAITING) != self.awaiting:
            return False
        return self._meant_by_words(tracker, self.candidates(session, customer)) is not None

    @staticmethod
    def _meant_by_words(tracker: Tracker, orders: list[Any]) -> str | None:
        contents = [(o.number, " ".join(line.product_name for line in o.lines)) for o in orders]
        return shop_orders.order_meant(
            contents, (tracker.latest_message or {}).get("text"), discussed=tracker.get_slot("order_id")
        )


class ActionOrderStatus(OrderAction):
    def name(self) -> str:
        return "action_order_status"

    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]:
        if order.is_late and order.status in OPEN_ORDER_STATUSES:
            # A late order is a problem, however the customer asked: the late-delivery journey takes it (one
            # problem, one treatment), and what it promises is scheduled.
            return [FollowupAction(LATE_ORDER_HANDOVER)]
        _status_message(dispatcher, order)
        return []


# The action a late order found by a status question goes on to (`ActionJourneyStart` knows it came from here).
LATE_ORDER_HANDOVER = "action_journey_start"


class ActionDeliveryProblem(OrderAction):
    intent = "delivery_problem"
    awaiting = "order_for_delivery"

    def name(self) -> str:
        return "action_delivery_problem"

    def candidates(self, session: Session, customer: str) -> list[Any]:
        # A delivery problem is about an order on its way, or one that arrived in the last fortnight.
        recent = shop_orders.recent_orders(session, customer, limit=8)
        cutoff = dt.date.today() - dt.timedelta(days=14)
        relevant = [
            o
            for o in recent
            if o.status in OPEN_ORDER_STATUSES
            or (o.status == "delivered" and o.delivered_at and o.delivered_at.date() >= cutoff)
        ]
        return relevant[:5]

    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]:
        if order.is_late and order.status in OPEN_ORDER_STATUSES:
            return [FollowupAction(LATE_ORDER_HANDOVER)]  # one problem, one treatment: its journey
        values = fmt.order_values(order)
        if order.status == "delivered":
            dispatcher.utter_message(response="utter_delivery_marked_delivered", **values)
        elif order.status in OPEN_ORDER_STATUSES:
            dispatcher.utter_message(response="utter_delivery_on_track", **values)
        else:
            _status_message(dispatcher, order)
        return []


class ActionCancelOrderCheck(OrderAction):
    """Checks the shop's rules and asks for confirmation; nothing changes until the customer says yes."""

    intent = "cancel_order"
    awaiting = "order_for_cancel"

    def name(self) -> str:
        return "action_cancel_order_check"

    def candidates(self, session: Session, customer: str) -> list[Any]:
        return open_orders_allowing(session, customer, shop_orders.can_cancel)

    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]:
        allowed, reason = shop_orders.can_cancel(order)
        values = fmt.order_values(order)
        if allowed:
            dispatcher.utter_message(response="utter_confirm_cancel", **values)
            return [SlotSet("order_id", order.number), SlotSet(AWAITING, "cancel_confirmation")]
        dispatcher.utter_message(response=f"utter_cannot_cancel_{reason.value}", **values)
        events = [failed(f"cannot_cancel_{reason.value}")]
        if reason.value in TOO_LATE_TO_CANCEL:  # "what can I do instead?" is answered, not a dead end
            events += [SlotSet("order_id", order.number), SlotSet(AWAITING, CANCEL_ALTERNATIVES)]
        return events


class ActionChangeAddressCheck(OrderAction):
    """Finds the order and checks the shop's rule; `change_address_form` then asks for the new address."""

    intent = "change_address"
    awaiting = "order_for_address"

    def name(self) -> str:
        return "action_change_address_check"

    def candidates(self, session: Session, customer: str) -> list[Any]:
        return open_orders_allowing(session, customer, shop_orders.can_change_address)

    def act_on(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, customer: str, order: Any
    ) -> list[dict[str, Any]]:
        allowed, decision = shop_orders.can_change_address(order)
        if allowed and (address := addresses.address_in_request(tracker.latest_message.get("text"))) is not None:
            # "send TD106043 to 27 Harbour Street, Whitby YO21 3PU": the request says it all, nothing to ask.
            return [
                SlotSet("order_id", order.number),
                *_store_address(dispatcher, tracker, session, order.number, address),
            ]
        if allowed:
            return [SlotSet("order_id", order.number), SlotSet("new_address", None), SlotSet(AWAITING, NEW_ADDRESS)]
        dispatcher.utter_message(response=f"utter_cannot_change_address_{decision.value}", **fmt.order_values(order))
        return [failed(f"cannot_change_address_{decision.value}")]


class ValidateChangeAddressForm(FormValidationAction):
    """Only something a courier could deliver to is taken as the new address."""

    def name(self) -> str:
        return "validate_change_address_form"

    def validate_new_address(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if addresses.clean_address(slot_value if isinstance(slot_value, str) else None) is None:
            dispatcher.utter_message(response="utter_address_not_understood")
            return {"new_address": None}
        return {"new_address": slot_value}


class ActionChangeAddress(ShopAction):
    """Stores the new address the form collected (the customer hears "done" only once it is stored), or keeps the
    old one when the customer dropped the change."""

    def name(self) -> str:
        return "action_change_address"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        number = tracker.get_slot("order_id")
        address = tracker.get_slot("new_address")
        if verified_customer(tracker) is None or not number or not address:
            dispatcher.utter_message(response="utter_address_kept", order_id=number or "your order")
            return [SlotSet("new_address", None), SlotSet(AWAITING, None)]
        return _store_address(dispatcher, tracker, session, number, address)


def _store_address(
    dispatcher: CollectingDispatcher, tracker: Tracker, session: Session, number: str, address: str
) -> list[dict[str, Any]]:
    """Sends the order to `address` under the shop's rules; "done" is said only once it is stored."""
    customer = verified_customer(tracker)
    assert customer is not None, "only a signed-in customer's order is changed"
    events: list[dict[str, Any]] = [SlotSet("new_address", None), SlotSet(AWAITING, None)]
    result = shop_orders.change_shipping_address(session, customer, number, address)
    if result.changed:
        assert result.order is not None, "a changed order is there to show"
        dispatcher.utter_message(
            response="utter_address_changed", order_id=number, address=result.order.shipping_address
        )
        ask_survey(dispatcher, tracker, session, REQUEST_DONE, customer=customer)
        return events
    if result.order is None:
        dispatcher.utter_message(response="utter_order_not_found", order_id=number)
        return events + [failed("order_not_found")]
    if result.decision is shop_orders.AddressDecision.NOT_AN_ADDRESS:
        dispatcher.utter_message(response="utter_address_not_understood")
        return events + [failed("not_an_address")]
    # The order moved on (it shipped) between the question and the answer.
    dispatcher.utter_message(
        response=f"utter_cannot_change_address_{result.decision.value}", **fmt.order_values(result.order)
    )
    return events + [failed(f"cannot_change_address_{result.decision.value}")]


def _just_asked_to_confirm(tracker: Tracker) -> bool:
    """A "yes" cancels only as the answer to the bot's own question, never a stale one."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return False
    for event in reversed(events[:last_user]):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == "action_cancel_order_check"
    return False


class ActionCancelOrderConfirm(ShopAction):
    def name(self) -> str:
        return "action_cancel_order_confirm"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        number = tracker.get_slot("order_id")
        if customer is None or not number or not _just_asked_to_confirm(tracker):
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return [SlotSet(AWAITING, None)]
        result = shop_orders.cancel_order(session, customer, number)
        if result.cancelled:
            assert result.order is not None, "a cancelled order is there to show"
            dispatcher.utter_message(response="utter_cancel_done", order_id=number, total=fmt.money(result.order.total))
            ask_survey(dispatcher, tracker, session, REQUEST_DONE, customer=customer)
            return [SlotSet(AWAITING, None)]
        if result.order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=number)
            return [SlotSet(AWAITING, None), failed("order_not_found")]
        # The order moved on (e.g. shipped) between the question and the answer.
        dispatcher.utter_message(
            response=f"utter_cannot_cancel_{result.decision.value}", **fmt.order_values(result.order)
        )
        return [SlotSet(AWAITING, None), failed(f"cannot_cancel_{result.decision.value}")]


class ActionCancelOrderAbort(ShopAction):
    def name(self) -> str:
        return "action_cancel_order_abort"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_cancel_kept", order_id=tracker.get_slot("order_id") or "your order")
        return [SlotSet(AWAITING, None)]


class ActionReturnInfo(ShopAction):
    """Explains returns with the customer's own orders that can still go back."""

    def name(self) -> str:
        return "action_return_info"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_return_policy")
            return []
        returnable = [o for o in shop_orders.recent_orders(session, customer, limit=20) if o.return_window_open]
        if not returnable:
            dispatcher.utter_message(response="utter_no_returnable_orders")
            return []
        lines = fmt.bullet_list(
            f"{o.number}: {fmt.items(o.lines)} (return by {fmt.day(o.return_deadline)})" for o in returnable
        )
        dispatcher.utter_message(response="utter_returnable_orders", orders=lines)
        return []


class ActionRefundStatus(ShopAction):
    def name(self) -> str:
        return "action_refund_status"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer = verified_customer(tracker)
        if customer is None:
            dispatcher.utter_message(response="utter_sign_in_needed")
            return []
        refunds = shop_orders.refunds(session, customer)
        if not refunds:
            dispatcher.utter_message(response="utter_no_refunds")
            return []
        lines = fmt.bullet_list(f"{r.order_number}: {fmt.money(r.amount)}, {fmt.refund_state(r)}" for r in refunds)
        dispatcher.utter_message(response="utter_refunds", refunds=lines)
        return []
