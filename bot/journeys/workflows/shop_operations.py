"""The shop's workflow operations.

Where the shop database has the data, they change it: a replacement order is a new `orders` row copying
the lines at price 0, a refund marks the order returned (delivered orders) or cancelled (lost in transit),
which is what `bot.shop.orders.refunds` reports. The shop has no tables for carriers, engineers, repairs,
labels, billing disputes or account credit: those operations return a reference number (derived from the
journey, so the same on every run) and their result is recorded in the journey only (`recorded_in`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.journeys.workflows.network import NetworkStatus
from bot.journeys.workflows.operations import OPERATIONS, OperationCall, OperationError, OperationRegistry, operation
from bot.shop import remedies
from bot.shop.orders import REFUND_WORKING_DAYS, OrderView, add_working_days
from bot.shop.remedies import RemedyRefused

RETURN_DROP_OFF_DAYS = 14
RETURN_TRANSIT_WORKING_DAYS = 3
CARRIER_ANSWER_WORKING_DAYS = 2
BILLING_ANSWER_WORKING_DAYS = 5
REPAIR_PRICE_FROM = 79.0
CREDIT_LIMIT = 50.0  # the bot may credit up to this much; more needs a person's approval


def _network(call: OperationCall) -> NetworkStatus:
    """The configured network status (a NetworkStatus or a feed file), else the feed in the environment.
    A feed that cannot be read is an operation failure: the workflow takes `on_error`."""
    status = call.config.get("network_status")
    if isinstance(status, NetworkStatus):
        return status
    try:
        return NetworkStatus.from_file(status) if status else NetworkStatus.from_env()
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise OperationError(f"network status unavailable: {exc}") from None


def _needs_session(call: OperationCall) -> Session:
    if call.session is None:
        raise OperationError("this operation needs the shop database")
    return call.session


def _order(call: OperationCall, number: Any) -> OrderView:
    try:
        return remedies.customer_order(_needs_session(call), call.customer_id, number, call.now().date())
    except RemedyRefused as exc:
        raise OperationError(str(exc)) from None


# --- home internet ------------------------------------------------------------------------------------------


@operation("check_outage", returns=("found", "area", "reference", "until"))
def check_outage(call: OperationCall) -> Mapping[str, Any]:
    """Is there a known network outage in the customer's postcode area?"""
    customer = call.facts.customer()
    area = customer.postcode_area if customer else None
    outage = _network(call).outage_for(area, call.now())
    if outage is None:
        return {"found": False, "area": area, "reference": None, "until": None}
    return {
        "found": True,
        "area": area,
        "reference": outage.reference,
        "until": outage.until.date() if outage.until else None,
    }


@operation("run_line_test", returns=("tested", "fault_found", "reference"))
def run_line_test(call: OperationCall) -> Mapping[str, Any]:
    """Test the customer's line from the exchange (result from the network status feed)."""
    result = _network(call).line_test(call.customer_id)
    return {"tested": result is not None, "fault_found": result == "fault", "reference": call.reference("LT")}


@operation("book_technician", optional=("reason",), returns=("reference", "visit_on", "window", "recorded_in"))
def book_technician(call: OperationCall) -> Mapping[str, Any]:
    """Book an engineer visit on the next working day but one."""
    visit = add_working_days(call.now().date(), 2)
    return {"reference": call.reference("ENG"), "visit_on": visit, "window": "8am to 1pm", "recorded_in": "journey"}


# --- deliveries -------------------------------------------------------------------------------------------------


@operation(
    "open_carrier_investigation", params=("order_id",), returns=("reference", "carrier", "answer_by", "recorded_in")
)
def open_carrier_investigation(call: OperationCall) -> Mapping[str, Any]:
    """Ask the carrier to trace a late or missing parcel."""
    order = _order(call, call.params["order_id"])
    if order.carrier is None:
        raise OperationError(f"order {order.number} has not been handed to a carrier")
    return {
        "reference": call.reference("TRACE"),
        "carrier": order.carrier,
        "answer_by": add_working_days(call.now().date(), CARRIER_ANSWER_WORKING_DAYS),
        "recorded_in": "journey",
    }


@operation(
    "create_replacement_order", optional=("order_id", "device_serial"), returns=("order_number", "eta", "replaces")
)
def create_replacement_order(call: OperationCall) -> Mapping[str, Any]:
    """A free replacement: a new order copying the original order's lines (or the faulty device) at price 0.

    Idempotent on the journey: the order number is derived from `call.key`, so a second run finds the order
    the first one placed instead of placing another (bot.shop.remedies).
    """
    session = _needs_session(call)
    order_id, serial = call.params.get("order_id"), call.params.get("device_serial")
    if not order_id and not serial:
        raise OperationError("create_replacement_order needs order_id or device_serial")
    try:
        placed = remedies.place_replacement(
            session,
            call.customer_id,
            call.key,
            call.now(),
            order_number=order_id or None,
            device_serial=None if order_id else serial,
        )
    except RemedyRefused as exc:
        raise OperationError(str(exc)) from None
    return {"order_number": placed.order_number, "eta": placed.eta, "replaces": placed.replaces}


@operation("issue_refund", params=("order_id",), returns=("reference", "amount", "expected_by", "order_status"))
def issue_refund(call: OperationCall) -> Mapping[str, Any]:
    """Refund an order in full (bot.shop.remedies); the amount and reference are recorded in the journey, and a
    second run reports the same refund."""
    try:
        refund = remedies.refund_order(_needs_session(call), call.customer_id, call.params["order_id"], call.now())
    except RemedyRefused as exc:
        raise OperationError(str(exc)) from None
    return {
        "reference": call.reference("REF"),
        "amount": float(refund.amount),
        "expected_by": add_working_days(refund.issued_on, REFUND_WORKING_DAYS),
        "order_status": refund.status,
    }


@operation(
    "create_return_label",
    params=("order_id",),
    optional=("purpose",),
    returns=("reference", "drop_off_by", "arrives_by", "purpose", "recorded_in"),
)
def create_return_label(call: OperationCall) -> Mapping[str, Any]:
    """A free return label for a delivered order inside its return window."""
    order = _order(call, call.params["order_id"])
    facts = call.facts.order(order.number)
    if facts is None or facts.status != "delivered" or not facts.return_window_open:
        raise OperationError(f"order {order.number} cannot be returned now")
    today = call.now().date()
    drop_off_by = min(today + timedelta(days=RETURN_DROP_OFF_DAYS), facts.return_deadline or today)
    return {
        "reference": call.reference("RET"),
        "drop_off_by": drop_off_by,
        "arrives_by": add_working_days(today, RETURN_TRANSIT_WORKING_DAYS),
        "purpose": call.params.get("purpose") or "refund",
        "recorded_in": "journey",
    }


# --- devices ----------------------------------------------------------------------------------------------------


@operation(
    "book_repair", optional=("device_serial",), returns=("reference", "price_from", "collection_on", "recorded_in")
)
def book_repair(call: OperationCall) -> Mapping[str, Any]:
    """Book a paid repair with courier collection (out of warranty)."""
    return {
        "reference": call.reference("REP"),
        "price_from": REPAIR_PRICE_FROM,
        "collection_on": add_working_days(call.now().date(), 1),
        "recorded_in": "journey",
    }


# --- billing ----------------------------------------------------------------------------------------------------


def _amount(value: Any, name: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise OperationError(f"{name} is not an amount: {value!r}") from None
    if amount < 0:
        raise OperationError(f"{name} is negative")
    return round(amount, 2)


@operation(
    "open_billing_dispute",
    params=("plan_category", "charged_amount"),
    returns=("reference", "plan_name", "plan_price", "difference", "answer_by", "recorded_in"),
)
def open_billing_dispute(call: OperationCall) -> Mapping[str, Any]:
    """Open a dispute with the billing team for a charge above the plan's monthly price."""
    charged = _amount(call.params["charged_amount"], "charged_amount")
    plans = [p for p in call.facts.plans() if p.category == call.params["plan_category"]]
    if not plans:
        raise OperationError("no active plan of that kind")
    plan = plans[0]
    return {
        "reference": call.reference("BILL"),
        "plan_name": plan.name,
        "plan_price": plan.monthly_price,
        "difference": round(max(0.0, charged - plan.monthly_price), 2),
        "answer_by": add_working_days(call.now().date(), BILLING_ANSWER_WORKING_DAYS),
        "recorded_in": "journey",
    }


@operation(
    "apply_account_credit",
    params=("amount",),
    optional=("reason",),
    returns=("reference", "amount", "on_bill_after", "recorded_in"),
)
def apply_account_credit(call: OperationCall) -> Mapping[str, Any]:
    """Credit the customer's account (shown on the next bill), up to CREDIT_LIMIT. No billing table: recorded in
    the journey."""
    amount = _amount(call.params["amount"], "amount")
    if amount == 0:
        raise OperationError("nothing to credit")
    if amount > CREDIT_LIMIT:
        raise OperationError(f"a credit of {amount:.2f} needs a person's approval (limit {CREDIT_LIMIT:.2f})")
    return {
        "reference": call.reference("CR"),
        "amount": amount,
        "on_bill_after": _first_of_next_month(call.now().date()),
        "recorded_in": "journey",
    }


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@operation("schedule_callback", optional=("reason",), returns=("reference", "callback_on", "recorded_in"))
def schedule_callback(call: OperationCall) -> Mapping[str, Any]:
    """Ask a person from the team to call the customer back on the next working day."""
    return {
        "reference": call.reference("CB"),
        "callback_on": add_working_days(call.now().date(), 1),
        "recorded_in": "journey",
    }


def default_operations() -> OperationRegistry:
    """The registry with the shop's operations (this module registers them when it is imported)."""
    return OPERATIONS
