"""Does the customer's message answer the step that waits for it, and with what?

An `ask` accepts one of its intents, one of its buttons (`/workflow_answer{"answer": ...}`, or the button's
title or value typed), or an entity value read by its type (an order number, an amount); an `instruct`
accepts affirm ("it works now") or deny. Anything else is not an answer: the runner asks again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.journeys.types import UserInput
from bot.journeys.workflows.schema import (
    ANSWER_ENTITY,
    EXPECT_BUTTONS,
    EXPECT_INTENT,
    AskStep,
    InstructStep,
    Step,
)
from bot.shop.orders import normalize_order_number

_MONEY = re.compile(r"[£$€]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_ORDER_IN_TEXT = re.compile(r"#?\s*td\s*[-_#:.]?\s*\d{6}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    next: str
    updates: dict[str, Any] = field(default_factory=dict)  # context keys the answer sets


def parse_money(text: Any) -> float | None:
    """45, "£45.99", "1,200.50 pounds" -> a float; None when there is no amount."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if text >= 0 else None
    match = _MONEY.search(str(text or ""))
    if not match:
        return None
    whole, cents = match.groups()
    return float(whole.replace(",", "")) + (float(f"0.{cents}") if cents else 0.0)


def read_value(raw: Any, value_type: str) -> Any:
    """An entity value (or the message text) read as `value_type`; None when it is not one."""
    if raw is None:
        return None
    if value_type == "order_number":
        found = _ORDER_IN_TEXT.search(str(raw))
        return normalize_order_number(found.group(0)) if found else None
    if value_type == "money":
        return parse_money(raw)
    if value_type == "number":
        match = re.search(r"\d+", str(raw))
        return int(match.group(0)) if match else None
    text = str(raw).strip()
    return text or None


def _entity(user_input: UserInput, name: str) -> Any:
    value = user_input.entities.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value


def _same_text(a: Any, b: str) -> bool:
    return str(a).strip().casefold() == b.strip().casefold()


def interpret(step: Step, user_input: UserInput) -> Answer | None:
    """The answer `user_input` gives to `step`, or None when it does not fit."""
    if isinstance(step, InstructStep):
        if user_input.intent == "affirm":
            return Answer(step.next_if_fixed)
        if user_input.intent == "deny":
            return Answer(step.next_if_not)
        return None
    if not isinstance(step, AskStep):
        return None
    expect = step.expect
    if expect.kind == EXPECT_INTENT:
        target = expect.intents.get(user_input.intent or "")
        return Answer(target) if target else None
    if expect.kind == EXPECT_BUTTONS:
        pressed = _entity(user_input, ANSWER_ENTITY)
        key = expect.save_as or ANSWER_ENTITY
        for button in expect.buttons:
            if (pressed is not None and _same_text(pressed, button.value)) or (
                user_input.text and (_same_text(user_input.text, button.title) or _same_text(user_input.text, button.value))
            ):
                return Answer(button.next, {key: button.value})
        return None
    assert expect.entity is not None and step.next is not None
    value = read_value(_entity(user_input, expect.entity), expect.value_type)
    if value is None and expect.value_type != "text":  # the NLU missed it: read the typed text
        value = read_value(user_input.text, expect.value_type)
    if value is None:
        return None
    return Answer(step.next, {expect.save_as or expect.entity: value})
