"""Conditions as data and reading answers: the small rules every workflow step relies on."""

from __future__ import annotations

import pytest

from bot.journeys.types import UserInput
from bot.journeys.workflows.answers import interpret, parse_money, read_value
from bot.journeys.workflows.conditions import ConditionError, evaluate, parse_condition
from bot.journeys.workflows.loader import parse_duration
from bot.journeys.workflows.schema import AskStep, Expect, InstructStep

FACTS = {
    "order.status": "shipped",
    "order.days_late": 3,
    "plan.monthly_price": 33.0,
    "context.charged": 45.99,
    "context.answer": "Refund",
    "order.is_late": True,
    "order.delivered_on": None,
}


def holds(raw) -> bool:
    return evaluate(parse_condition(raw), FACTS.get)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"fact": "order.status", "in": ["shipped", "out_for_delivery"]}, True),
        ({"fact": "order.status", "not_in": ["delivered"]}, True),
        ({"fact": "context.answer", "equals": "refund"}, True),  # words compare without case
        ({"fact": "order.days_late", "gt": 2}, True),
        ({"fact": "order.days_late", "lte": 2}, False),
        ({"fact": "context.charged", "gt": {"fact": "plan.monthly_price"}}, True),
        ({"fact": "order.is_late", "is": True}, True),
        ({"fact": "order.delivered_on", "exists": False}, True),
        ({"fact": "order.delivered_on", "gt": 1}, False),  # a missing fact fails comparisons
        ({"fact": "order.delivered_on", "not_equals": "x"}, True),
        ({"all": [{"fact": "order.is_late", "is": True}, {"fact": "order.days_late", "gt": 5}]}, False),
        ({"any": [{"fact": "order.is_late", "is": False}, {"fact": "order.days_late", "gt": 2}]}, True),
        ({"not": {"fact": "order.status", "equals": "shipped"}}, False),
    ],
)
def test_conditions_answer_as_written(raw, expected) -> None:
    assert holds(raw) is expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"fact": "order.status"}, "exactly one operator"),
        ({"fact": "order.status", "equals": 1, "in": [1]}, "exactly one operator"),
        ({"fact": "status", "equals": "x"}, "dotted name"),
        ({"fact": "order.status", "in": "shipped"}, "needs a list"),
        ({"fact": "order.days_late", "gt": "two"}, "needs a number"),
        ({"fact": "order.is_late", "is": "yes"}, "true or false"),
        ({"all": []}, "non-empty list"),
        ({"colour": "red"}, "unknown condition keys"),
    ],
)
def test_conditions_that_cannot_work_are_explained(raw, message) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_condition(raw)


def test_money_and_order_numbers_are_read_from_what_customers_type() -> None:
    assert parse_money("I was charged £1,045.50 this month") == pytest.approx(1045.50)
    assert parse_money("45") == 45.0 and parse_money("no idea") is None
    assert read_value("my order is #TD 103300 thanks", "order_number") == "TD103300"
    assert read_value("103300", "order_number") is None  # bare digits are not an order number


def test_delays_read_as_seconds() -> None:
    assert parse_duration("2d") == 172800 and parse_duration("1d12h") == 129600 and parse_duration("30m") == 1800
    assert parse_duration("two days") is None and parse_duration("0d") is None


def test_an_instruct_takes_affirm_and_deny_only() -> None:
    step = InstructStep(id="s", response="r", next_if_fixed="fixed", next_if_not="next", on_fail="person")
    assert interpret(step, UserInput("affirm")).next == "fixed"
    assert interpret(step, UserInput("deny")).next == "next"
    assert interpret(step, UserInput("thank")) is None


def test_an_entity_answer_is_saved_under_its_name() -> None:
    step = AskStep(
        id="s",
        response="r",
        next="go",
        on_fail="person",
        expect=Expect("entity", entity="amount", value_type="money", save_as="charged"),
    )
    assert interpret(step, UserInput("inform", {"amount": "£12"})).updates == {"charged": 12.0}
    assert interpret(step, UserInput("inform", text="about 30 quid")).updates == {"charged": 30.0}
    assert interpret(step, UserInput("inform", text="no clue")) is None
