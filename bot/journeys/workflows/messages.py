"""The `{placeholders}` a workflow response can use, and the buttons the runner attaches.

Values are strings ready for a chat message: context answers and operation results (nested results as
`<key>_<field>`, e.g. `{dispute_reference}`), plus the order, device, plan and customer the workflow is
about. Numbers with decimals read as money amounts ("45.00": templates write the "£"), dates (and ISO
date strings in results) as "Monday 3 November".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.journeys.types import BotMessage
from bot.journeys.workflows.facts import FactResolver
from bot.journeys.workflows.schema import ANSWER_ENTITY, ANSWER_INTENT, AskStep, Button, InstructStep

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Placeholders each fact namespace fills (when the workflow is about such an order, device, plan).
FACT_VALUES: dict[str, tuple[str, ...]] = {
    "customer": ("first_name",),
    "order": (
        "order_id",
        "items",
        "eta",
        "carrier",
        "tracking",
        "total",
        "order_status",
        "placed_on",
        "delivered_on",
        "days_late",
        "return_deadline",
    ),
    "device": ("device_name", "device_bought_on"),
    "plan": ("plan_name", "monthly_price", "plan_started_on"),
}


def day(value: date, today: date) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if abs((value - today).days) > 180:
        return f"{value.day} {value:%B %Y}"
    return f"{value:%A} {value.day} {value:%B}"


def format_value(value: Any, today: date) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, Decimal)):
        return f"{Decimal(str(value)):,.2f}"
    if isinstance(value, (date, datetime)):
        return day(value, today)
    if isinstance(value, str) and _ISO_DATE.match(value):
        return day(date.fromisoformat(value), today)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v, today) for v in value)
    return str(value)


def _fact_values(resolver: FactResolver, today: date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    customer = resolver.view("customer")
    if customer is not None:
        values["first_name"] = customer.first_name
    if resolver.context.get("order_id"):
        order = resolver.view("order")
        if order is not None:
            values.update(
                order_id=order.number,
                items=order.items,
                eta=order.estimated_delivery,
                carrier=order.carrier or "our courier",
                tracking=order.tracking_number or "not yet available",
                total=order.total,
                order_status=order.status.replace("_", " "),
                placed_on=order.placed_on,
                delivered_on=order.delivered_on,
                days_late=order.days_late,
                return_deadline=order.return_deadline,
            )
    if resolver.context.get("device_category"):
        device = resolver.view("device")
        if device is not None:
            values.update(device_name=device.name, device_bought_on=device.acquired_on)
    if resolver.context.get("plan_category"):
        plan = resolver.view("plan")
        if plan is not None:
            values.update(plan_name=plan.name, monthly_price=plan.monthly_price, plan_started_on=plan.started_on)
    return values


def message_values(resolver: FactResolver) -> dict[str, str]:
    """Every placeholder value this turn can fill, as display strings (unknown values are left out)."""
    today = resolver.shop.now().date()
    raw: dict[str, Any] = {}
    for key, value in resolver.context.items():
        if key.startswith("_"):
            continue
        if isinstance(value, Mapping):
            raw.update({f"{key}_{sub}": v for sub, v in value.items() if not isinstance(v, (Mapping, list))})
        else:
            raw[key] = value
    raw.update(_fact_values(resolver, today))
    return {k: format_value(v, today) for k, v in raw.items() if v is not None}


def answer_payload(entity: str, value: str) -> str:
    """The payload a workflow button sends: `/workflow_answer{"answer": "refund"}`."""
    return f"/{ANSWER_INTENT}{json.dumps({entity: value})}"


def _static_buttons(buttons: Sequence[Button]) -> tuple[dict[str, str], ...]:
    return tuple({"title": b.title, "payload": answer_payload(ANSWER_ENTITY, b.value)} for b in buttons)


def prompt(step: AskStep | InstructStep, resolver: FactResolver) -> BotMessage:
    """The question an ask or instruct step puts to the customer, with its buttons."""
    buttons: tuple[dict[str, str], ...] = ()
    if isinstance(step, AskStep):
        expect = step.expect
        if expect.buttons:
            buttons = _static_buttons(expect.buttons)
        elif expect.choices and expect.entity:
            buttons = tuple(
                {"title": f"{o.number}: {o.items}", "payload": answer_payload(expect.entity, o.number)}
                for o in resolver.shop.orders(expect.choices)
            )
    return BotMessage(step.response, message_values(resolver), buttons)


def say(response: str, resolver: FactResolver) -> BotMessage:
    return BotMessage(response, message_values(resolver))
