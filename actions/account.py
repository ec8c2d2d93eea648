"""Greeting by name and the customer's plans for billing questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import formatting as fmt
from actions.base import ShopAction
from actions.context import verified_customer
from bot.shop import customers

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class ActionGreet(ShopAction):
    def name(self) -> str:
        return "action_greet"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer_id = verified_customer(tracker)
        customer = customers.get_customer(session, customer_id) if customer_id else None
        if customer is None:
            dispatcher.utter_message(response="utter_greet")
        else:
            dispatcher.utter_message(response="utter_greet_customer", name=customer.first_name)
        return []


class ActionBillingOverview(ShopAction):
    def name(self) -> str:
        return "action_billing_overview"

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        customer_id = verified_customer(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_sign_in_needed")
            return []
        plans = customers.customer_plans(session, customer_id, active_only=True)
        if not plans:
            dispatcher.utter_message(response="utter_billing_no_plans")
            return []
        total = sum(p.monthly_price for p in plans)
        dispatcher.utter_message(
            response="utter_billing_overview",
            plans=fmt.bullet_list(
                f"{p.name}: {fmt.money(p.monthly_price)} a month, since {fmt.day(p.started_at)}" for p in plans
            ),
            total=fmt.money(total),
        )
        return []
