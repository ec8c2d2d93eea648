"""Every path of every shop workflow, run by the step runner on the real demo shop (SQLite and PostgreSQL).

Each row: the customer, what the report already said, the answers given turn by turn ("fire" = the
follow-up's delay passed and the scheduler resumed the journey), and how the journey must end (state,
outcome or escalation reason) through exactly which steps. Every message on the way must have all its
`{placeholders}` filled, so nothing like "order {order_id}" ever reaches a customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db.models import Customer, CustomerDevice, Order, OrderLine, Product
from bot.domain_files import load_domain
from bot.journeys.types import StepResult, UserInput
from bot.journeys.workflows import ShopDbFacts, WorkflowRunner, default_operations, load_workflows
from bot.journeys.workflows.loader import ROOT
from bot.journeys.workflows.network import NetworkStatus, Outage
from bot.journeys.workflows.schema import OperationStep
from bot.shop.seed import seed_now
from tests.conftest import SHOP_ANCHOR

NOW = seed_now(SHOP_ANCHOR)
WORKFLOWS = load_workflows()
RESPONSES = load_domain(ROOT / "domain")["responses"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")

NETWORKS = {
    None: NetworkStatus(),
    "outage": NetworkStatus(outages=(Outage("E18", "INC-1001", NOW + timedelta(hours=5)),)),
    "fault": NetworkStatus(line_tests={"CUST-00001": "fault"}),
    "ok": NetworkStatus(line_tests={"CUST-00001": "ok"}),
    "down": str(ROOT / "no-such-network-status-feed.yml"),  # the feed cannot be read
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now


def user_input(move: str) -> UserInput:
    kind, _, value = move.partition(":")
    if kind in ("affirm", "deny"):
        return UserInput(intent=kind, text=kind)
    if kind == "button":
        return UserInput(intent="workflow_answer", entities={"answer": value})
    if kind == "order":
        return UserInput(intent="inform", entities={"order_id": value}, text=value)
    return UserInput(intent="inform", text=value)  # "say:..." free text


@dataclass
class Journey:
    results: list[StepResult] = field(default_factory=list)

    @property
    def last(self) -> StepResult:
        return self.results[-1]

    @property
    def steps(self) -> list[str]:
        return [s for r in self.results for s in r.steps_taken]


def drive(
    workflow: str,
    customer: str,
    session,
    script: list[str],
    *,
    context: dict | None = None,
    days_later: int = 0,
    network: str | None = None,
    journey_id: str = "journey-1",
) -> Journey:
    """Run a journey: start, then each move (an answer, or "fire" for a due follow-up)."""
    clock = Clock(NOW + timedelta(days=days_later))
    runner = WorkflowRunner(
        WORKFLOWS,
        lambda s, c: ShopDbFacts(s, c, now=clock.now),
        default_operations().with_config(network_status=NETWORKS[network]),
    )
    journey = Journey([runner.start(workflow, customer, context or {}, session, journey_id=journey_id)])
    for move in script:
        last = journey.last
        assert last.state not in ("resolved", "escalated"), f"journey ended before '{move}': {journey.steps}"
        if move == "fire":
            (follow_up,) = last.follow_ups
            clock.now += timedelta(seconds=follow_up.delay_seconds)
            journey.results.append(
                runner.resume(workflow, last.current_step, last.context, customer, session, journey_id=journey_id)
            )
        else:
            journey.results.append(
                runner.advance(
                    workflow,
                    last.current_step,
                    last.context,
                    user_input(move),
                    customer,
                    session,
                    journey_id=journey_id,
                )
            )
    return journey


def assert_messages_complete(journey: Journey, workflow: str | None = None) -> None:
    """Every message fills its response, and an operation's confirmation ("Done: I've refunded ...") comes in
    the same result as the operation's stored outcome: the store writes both in one transaction, before the bot
    answers, so the bot never confirms what is not recorded."""
    confirms = {}
    if workflow is not None:
        confirms = {
            step.response: step.result_key
            for step in WORKFLOWS[workflow].steps.values()
            if isinstance(step, OperationStep) and step.response
        }
    for result in journey.results:
        for message in result.messages:
            assert message.response in RESPONSES, message.response
            for variant in RESPONSES[message.response]:
                missing = set(PLACEHOLDER.findall(variant["text"])) - set(message.values)
                assert not missing, f"{message.response} lacks {missing}"
            if message.response in confirms:
                assert result.context.get(confirms[message.response]), (
                    f"{message.response} said without the stored result '{confirms[message.response]}'"
                )


@dataclass(frozen=True)
class Path:
    name: str
    customer: str
    script: list[str]
    state: str
    end: str  # the outcome (resolved) or escalation reason (escalated)
    steps: list[str]
    context: dict[str, Any] = field(default_factory=dict)
    days_later: int = 0
    network: str | None = None
    prepare: Callable[[Session, str], None] | None = None  # change the shop first (rolled back after the test)

    def __str__(self) -> str:
        return self.name


def discontinue_devices(session: Session, customer: str) -> None:
    """The customer's device models are no longer sold."""
    owned = select(CustomerDevice.product_id).join(Customer).where(Customer.external_id == customer)
    session.execute(
        update(Product).where(Product.id.in_(owned)).values(active=False).execution_options(synchronize_session="fetch")
    )


def shipped_without_a_carrier(number: str) -> Callable[[Session, str], None]:
    """Order `number` shows as shipped, but no carrier was ever recorded (the trace cannot be opened)."""

    def prepare(session: Session, customer: str) -> None:
        session.execute(
            update(Order)
            .where(Order.order_number == number)
            .values(status="shipped", carrier=None)
            .execution_options(synchronize_session="fetch")
        )

    return prepare


def nothing_returnable(session: Session, customer: str) -> None:
    """Every delivered order of the customer arrived long ago: none can go back."""
    mine = select(Customer.id).where(Customer.external_id == customer)
    session.execute(
        update(Order)
        .where(Order.customer_id.in_(mine), Order.status == "delivered")
        .values(delivered_at=NOW - timedelta(days=100))
        .execution_options(synchronize_session="fetch")
    )


def discontinue_order_items(number: str) -> Callable[[Session, str], None]:
    """The items of order `number` are no longer sold."""

    def prepare(session: Session, customer: str) -> None:
        items = select(OrderLine.product_id).join(Order).where(Order.order_number == number)
        session.execute(
            update(Product)
            .where(Product.id.in_(items))
            .values(active=False)
            .execution_options(synchronize_session="fetch")
        )

    return prepare


def run_path(workflow: str, path: Path, session) -> Journey:
    if path.prepare:
        path.prepare(session, path.customer)
    journey = drive(
        workflow,
        path.customer,
        session,
        path.script,
        context=dict(path.context),
        days_later=path.days_later,
        network=path.network,
    )
    assert journey.steps == path.steps
    assert journey.last.state == path.state
    assert (journey.last.outcome if path.state == "resolved" else journey.last.escalation_reason) == path.end
    assert journey.last.current_step is None
    assert_messages_complete(journey, workflow)
    return journey


# --- no internet ----------------------------------------------------------------------------------------------

NI_START = ["has_plan", "outage_check", "outage_found"]
NO_INTERNET = [
    Path(
        "no home internet plan: a person checks the line",
        "CUST-00006",
        [],
        "escalated",
        "no_home_internet_plan",
        ["has_plan", "no_plan"],
    ),
    Path(
        "a router restart fixes it",
        "CUST-00001",
        ["affirm"],
        "resolved",
        "fixed_by_router_restart",
        NI_START + ["restart_router", "fixed_by_restart"],
    ),
    Path(
        "known outage: back when it ends",
        "CUST-00001",
        ["fire", "affirm"],
        "resolved",
        "back_after_outage",
        NI_START + ["wait_for_outage", "back_after_outage", "back_after_outage_fixed"],
        network="outage",
    ),
    Path(
        "outage over but still down: restart fixes it",
        "CUST-00001",
        ["fire", "deny", "affirm"],
        "resolved",
        "fixed_by_router_restart",
        NI_START + ["wait_for_outage", "back_after_outage", "restart_router", "fixed_by_restart"],
        network="outage",
    ),
    Path(
        "lights normal: reseating the cable fixes it",
        "CUST-00001",
        ["deny", "button:normal", "affirm"],
        "resolved",
        "fixed_by_cables",
        NI_START + ["restart_router", "lights", "check_cables", "fixed_by_cables"],
    ),
    Path(
        "no lights: another socket fixes it",
        "CUST-00001",
        ["deny", "button:no_power", "affirm"],
        "resolved",
        "fixed_by_power",
        NI_START + ["restart_router", "lights", "check_power", "fixed_by_power"],
    ),
    Path(
        "no lights at all, whatever the socket: the router is dead",
        "CUST-00001",
        ["deny", "button:no_power", "deny"],
        "escalated",
        "router_no_power",
        NI_START + ["restart_router", "lights", "check_power", "router_faulty"],
    ),
    Path(
        "line fault: the engineer fixes it",
        "CUST-00001",
        ["deny", "button:no_signal", "affirm", "fire", "affirm"],
        "resolved",
        "fixed_by_technician",
        NI_START
        + [
            "restart_router",
            "lights",
            "line_test",
            "line_result",
            "offer_technician",
            "book_technician",
            "after_visit",
            "fixed_after_visit",
            "fixed_by_technician",
        ],
        network="fault",
    ),
    Path(
        "line fault: still down after the engineer",
        "CUST-00001",
        ["deny", "button:no_signal", "affirm", "fire", "deny"],
        "escalated",
        "still_down_after_technician",
        NI_START
        + [
            "restart_router",
            "lights",
            "line_test",
            "line_result",
            "offer_technician",
            "book_technician",
            "after_visit",
            "fixed_after_visit",
            "still_down_after_visit",
        ],
        network="fault",
    ),
    Path(
        "no line test result: engineer offered, customer declines",
        "CUST-00001",
        ["deny", "button:normal", "deny", "deny"],
        "escalated",
        "technician_declined",
        NI_START
        + [
            "restart_router",
            "lights",
            "check_cables",
            "line_test",
            "line_result",
            "offer_technician",
            "technician_declined",
        ],
    ),
    Path(
        "line tests fine but still offline: a person looks",
        "CUST-00001",
        ["deny", "button:no_signal"],
        "escalated",
        "line_ok_still_offline",
        NI_START + ["restart_router", "lights", "line_test", "line_result", "line_ok"],
        network="ok",
    ),
    Path(
        "network systems down: troubleshooting goes on, then a person",
        "CUST-00001",
        ["deny", "button:no_signal"],
        "escalated",
        "operation_failed",
        ["has_plan", "outage_check", "restart_router", "lights", "line_test", "systems_failed"],
        network="down",
    ),
    Path(
        "answers that never fit: asked twice more, then a person",
        "CUST-00001",
        ["say:banana", "say:what?", "say:hmm"],
        "escalated",
        "answers_not_understood",
        NI_START + ["restart_router", "restart_router", "restart_router", "answers_unclear"],
    ),
]

# --- device will not turn on ----------------------------------------------------------------------------------

TRIED_ALL = ["charge", "other_charger", "forced_restart", "device_known", "warranty"]
DEVICE = [
    Path(
        "charging for 30 minutes brings it back",
        "CUST-00004",
        ["button:phones", "affirm"],
        "resolved",
        "fixed_by_charging",
        ["known_device_kind", "which_device", "charge", "fixed_by_charging"],
    ),
    Path(
        "another charger works: the charger was faulty",
        "CUST-00004",
        ["deny", "affirm"],
        "resolved",
        "fixed_by_other_charger",
        ["known_device_kind", "charge", "other_charger", "fixed_by_other_charger"],
        context={"device_category": "phones"},
    ),
    Path(
        "a forced restart brings it back",
        "CUST-00004",
        ["deny", "deny", "affirm"],
        "resolved",
        "fixed_by_forced_restart",
        ["known_device_kind", "charge", "other_charger", "forced_restart", "fixed_by_restart"],
        context={"device_category": "phones"},
    ),
    Path(
        "under warranty: a free replacement that works",
        "CUST-00004",
        ["deny", "deny", "deny", "affirm", "fire", "affirm"],
        "resolved",
        "replaced_under_warranty",
        ["known_device_kind"]
        + TRIED_ALL
        + ["offer_replacement", "replace_device", "replacement_follow_up", "replacement_works", "replaced"],
        context={"device_category": "phones"},
    ),
    Path(
        "under warranty: replacement declined",
        "CUST-00004",
        ["deny", "deny", "deny", "deny"],
        "escalated",
        "replacement_declined",
        ["known_device_kind"] + TRIED_ALL + ["offer_replacement", "replacement_declined"],
        context={"device_category": "phones"},
    ),
    Path(
        "under warranty: the replacement does not work either",
        "CUST-00004",
        ["deny", "deny", "deny", "affirm", "fire", "deny"],
        "escalated",
        "replacement_not_working",
        ["known_device_kind"]
        + TRIED_ALL
        + [
            "offer_replacement",
            "replace_device",
            "replacement_follow_up",
            "replacement_works",
            "replacement_not_working",
        ],
        context={"device_category": "phones"},
    ),
    Path(
        "over a year old: a paid repair that works",
        "CUST-00003",
        ["deny", "deny", "deny", "button:book", "fire", "affirm"],
        "resolved",
        "repaired",
        ["known_device_kind"]
        + TRIED_ALL
        + ["offer_repair", "book_repair", "repair_follow_up", "repair_works", "repaired"],
        context={"device_category": "phones"},
    ),
    Path(
        "over a year old: repaired but still broken",
        "CUST-00003",
        ["deny", "deny", "deny", "button:book", "fire", "deny"],
        "escalated",
        "repair_not_working",
        ["known_device_kind"]
        + TRIED_ALL
        + ["offer_repair", "book_repair", "repair_follow_up", "repair_works", "repair_not_working"],
        context={"device_category": "phones"},
    ),
    Path(
        "bought elsewhere: the customer declines a paid repair",
        "CUST-00006",
        ["deny", "deny", "deny", "button:decline"],
        "resolved",
        "repair_declined",
        ["known_device_kind"] + TRIED_ALL + ["offer_repair", "repair_declined"],
        context={"device_category": "phones"},
    ),
    Path(
        "bought elsewhere: the customer wants a person",
        "CUST-00006",
        ["deny", "deny", "deny", "button:person"],
        "escalated",
        "customer_asked_for_person",
        ["known_device_kind"] + TRIED_ALL + ["offer_repair", "repair_person"],
        context={"device_category": "phones"},
    ),
    Path(
        "under warranty but the model is no longer sold: a person offers another",
        "CUST-00004",
        ["deny", "deny", "deny", "affirm"],
        "escalated",
        "operation_failed",
        ["known_device_kind"] + TRIED_ALL + ["offer_replacement", "replace_device", "systems_failed"],
        context={"device_category": "phones"},
        prepare=discontinue_devices,
    ),
    Path(
        "answers that never fit: a person helps",
        "CUST-00004",
        ["say:maybe", "say:perhaps", "say:dunno"],
        "escalated",
        "answers_not_understood",
        ["known_device_kind", "charge", "charge", "charge", "answers_unclear"],
        context={"device_category": "phones"},
    ),
    Path(
        "a device we have no record of: a person helps",
        "CUST-00004",
        ["button:laptops", "deny", "deny", "deny"],
        "escalated",
        "device_not_on_account",
        [
            "known_device_kind",
            "which_device",
            "charge",
            "other_charger",
            "forced_restart",
            "device_known",
            "device_not_found",
        ],
    ),
]

# --- late delivery --------------------------------------------------------------------------------------------

TRACE = ["trace", "choose_remedy"]
LATE = [
    Path(
        "on track: told when it comes",
        "CUST-00010",
        ["affirm"],
        "resolved",
        "informed_on_track",
        ["given_order", "where_is_it", "on_track", "informed_on_track"],
        context={"order_id": "TD103309"},
    ),
    Path(
        "on track is not good enough: a person",
        "CUST-00010",
        ["deny"],
        "escalated",
        "customer_unhappy_on_track",
        ["given_order", "where_is_it", "on_track", "on_track_not_enough"],
        context={"order_id": "TD103309"},
    ),
    Path(
        "a little late: the customer waits and it arrives within 2 days",
        "CUST-00026",
        ["order:TD103300", "button:wait", "fire", "affirm"],
        "resolved",
        "arrived_late",
        [
            "given_order",
            "ask_order",
            "where_is_it",
            "slightly_late",
            "wait_slightly_late",
            "arrived_after_wait",
            "arrived_late",
        ],
    ),
    Path(
        "a little late, then missing: a replacement that arrives",
        "CUST-00026",
        ["order:td-103300", "button:wait", "fire", "deny", "button:replacement", "fire", "affirm"],
        "resolved",
        "replacement_delivered",
        ["given_order", "ask_order", "where_is_it", "slightly_late", "wait_slightly_late", "arrived_after_wait"]
        + TRACE
        + ["send_replacement", "replacement_follow_up", "replacement_arrived", "replacement_delivered"],
    ),
    Path(
        "a little late: it turns up while the bot asks what the customer would like",
        "CUST-00026",
        ["order:TD103300", "button:arrived"],
        "resolved",
        "arrived_late",
        ["given_order", "ask_order", "where_is_it", "slightly_late", "arrived_late"],
    ),
    Path(
        "a little late: the customer would rather have a refund now",
        "CUST-00026",
        ["order:TD103300", "button:refund", "affirm"],
        "resolved",
        "refund_issued",
        ["given_order", "ask_order", "where_is_it", "slightly_late", "refund", "refund_confirm", "refunded"],
    ),
    Path(
        "very late: the customer waits for the trace, and it arrives",
        "CUST-00026",
        ["button:wait", "fire", "affirm"],
        "resolved",
        "arrived_late",
        ["given_order", "where_is_it"] + TRACE + ["wait_for_trace", "arrived_after_trace", "arrived_late"],
        context={"order_id": "TD103300"},
        days_later=1,
    ),
    Path(
        "very late and never handed to a carrier: the customer waits, then wants a refund",
        "CUST-00004",
        ["button:wait", "fire", "deny", "button:refund", "affirm"],
        "resolved",
        "refund_issued",
        [
            "given_order",
            "where_is_it",
            "stuck_in_warehouse",
            "wait_in_warehouse",
            "arrived_after_trace",
            "choose_remedy",
            "refund",
            "refund_confirm",
            "refunded",
        ],
        context={"order_id": "TD103316"},
        days_later=5,
    ),
    Path(
        "very late: refunded",
        "CUST-00026",
        ["button:refund", "affirm"],
        "resolved",
        "refund_issued",
        ["given_order", "where_is_it"] + TRACE + ["refund", "refund_confirm", "refunded"],
        context={"order_id": "TD103300"},
        days_later=1,
    ),
    Path(
        "very late: the refund is not enough",
        "CUST-00026",
        ["button:refund", "deny"],
        "escalated",
        "refund_disputed",
        ["given_order", "where_is_it"] + TRACE + ["refund", "refund_confirm", "refund_not_enough"],
        context={"order_id": "TD103300"},
        days_later=1,
    ),
    Path(
        "very late: the replacement goes missing too",
        "CUST-00026",
        ["button:replacement", "fire", "deny"],
        "escalated",
        "replacement_missing",
        ["given_order", "where_is_it"]
        + TRACE
        + ["send_replacement", "replacement_follow_up", "replacement_arrived", "replacement_missing"],
        context={"order_id": "TD103300"},
        days_later=1,
    ),
    Path(
        "very late: the customer wants a person",
        "CUST-00026",
        ["button:person"],
        "escalated",
        "customer_asked_for_person",
        ["given_order", "where_is_it"] + TRACE + ["remedy_person"],
        context={"order_id": "TD103300"},
        days_later=1,
    ),
    Path(
        "marked delivered: found with a neighbour",
        "CUST-00035",
        ["affirm"],
        "resolved",
        "found_after_delivery",
        ["given_order", "where_is_it", "marked_delivered", "found_it"],
        context={"order_id": "TD103296"},
    ),
    Path(
        "marked delivered but not there: traced and refunded",
        "CUST-00035",
        ["deny", "button:refund", "affirm"],
        "resolved",
        "refund_issued",
        ["given_order", "where_is_it", "marked_delivered"] + TRACE + ["refund", "refund_confirm", "refunded"],
        context={"order_id": "TD103296"},
    ),
    Path(
        "answers that never fit: a person helps",
        "CUST-00010",
        ["say:??", "say:eh", "say:hmm"],
        "escalated",
        "answers_not_understood",
        ["given_order", "where_is_it", "on_track", "on_track", "on_track", "answers_unclear"],
        context={"order_id": "TD103309"},
    ),
    Path(
        "a cancelled order is not on its way: a person checks",
        "CUST-00024",
        [],
        "escalated",
        "order_not_in_transit",
        ["given_order", "where_is_it", "not_on_its_way"],
        context={"order_id": "TD103026"},
    ),
    Path(
        "order numbers that are not theirs: asked twice more, then a person",
        "CUST-00026",
        ["order:TD999999", "order:TD103309", "say:no idea"],
        "escalated",
        "order_not_identified",
        ["given_order", "ask_order", "ask_order", "ask_order", "order_not_identified"],
    ),
    Path(
        "very late and never handed to a carrier: nothing to trace, refunded",
        "CUST-00004",
        ["button:refund", "affirm"],
        "resolved",
        "refund_issued",
        ["given_order", "where_is_it", "stuck_in_warehouse", "refund", "refund_confirm", "refunded"],
        context={"order_id": "TD103316"},
        days_later=5,
    ),
    Path(
        "very late, shipped, but no carrier on record: the trace fails, a person takes over",
        "CUST-00004",
        [],
        "escalated",
        "operation_failed",
        ["given_order", "where_is_it", "trace", "systems_failed"],
        context={"order_id": "TD103316"},
        days_later=5,
        prepare=shipped_without_a_carrier("TD103316"),
    ),
]

# --- return and refund ----------------------------------------------------------------------------------------

RETURN_START = ["given_order", "can_it_go_back", "refund_or_exchange", "label", "parcel_follow_up", "parcel_sent"]
RETURNS = [
    Path(
        "refund: label, parcel sent, refunded",
        "CUST-00004",
        ["button:refund", "fire", "affirm", "affirm"],
        "resolved",
        "refund_issued",
        RETURN_START + ["refund_or_send", "refund", "refund_confirm", "refunded"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "refund, but the refund does not settle it",
        "CUST-00004",
        ["button:refund", "fire", "affirm", "deny"],
        "escalated",
        "refund_disputed",
        RETURN_START + ["refund_or_send", "refund", "refund_confirm", "refund_query"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "exchange: the same item again, delivered",
        "CUST-00004",
        ["button:exchange", "fire", "affirm", "fire", "affirm"],
        "resolved",
        "exchanged",
        RETURN_START + ["refund_or_send", "exchange", "exchange_follow_up", "exchange_arrived", "exchanged"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "exchange: the new item never arrives",
        "CUST-00004",
        ["button:exchange", "fire", "affirm", "fire", "deny"],
        "escalated",
        "exchange_missing",
        RETURN_START + ["refund_or_send", "exchange", "exchange_follow_up", "exchange_arrived", "exchange_missing"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "parcel sent late, after a reminder",
        "CUST-00004",
        ["button:refund", "fire", "deny", "fire", "affirm", "affirm"],
        "resolved",
        "refund_issued",
        RETURN_START
        + ["parcel_reminder", "parcel_sent_again", "refund_or_send", "refund", "refund_confirm", "refunded"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "parcel never sent: a person follows up",
        "CUST-00004",
        ["button:refund", "fire", "deny", "fire", "deny"],
        "escalated",
        "return_parcel_not_sent",
        RETURN_START + ["parcel_reminder", "parcel_sent_again", "parcel_not_sent"],
        context={"order_id": "TD103248"},
    ),
    Path(
        "exchange for an item no longer sold: a person offers another",
        "CUST-00004",
        ["button:exchange", "fire", "affirm"],
        "escalated",
        "operation_failed",
        RETURN_START + ["refund_or_send", "exchange", "systems_failed"],
        context={"order_id": "TD103248"},
        prepare=discontinue_order_items("TD103248"),
    ),
    Path(
        "nothing inside the return window: said so, and an older order named is out of its window",
        "CUST-00004",
        ["order:TD103248"],
        "escalated",
        "out_of_return_window",
        ["given_order", "any_returnable", "ask_older_order", "can_it_go_back", "out_of_window"],
        prepare=nothing_returnable,
    ),
    Path(
        "an order that is not theirs, three times: a person helps",
        "CUST-00004",
        ["order:TD103309", "say:TD000001", "say:no idea"],
        "escalated",
        "order_not_identified",
        ["given_order", "any_returnable", "ask_order", "ask_order", "ask_order", "order_not_identified"],
    ),
    Path(
        "answers that never fit: a person helps",
        "CUST-00004",
        ["say:hmm", "say:both?", "say:neither"],
        "escalated",
        "answers_not_understood",
        [
            "given_order",
            "can_it_go_back",
            "refund_or_exchange",
            "refund_or_exchange",
            "refund_or_exchange",
            "answers_unclear",
        ],
        context={"order_id": "TD103248"},
    ),
    Path(
        "order picked from the list, then the customer wants a person",
        "CUST-00004",
        ["order:TD103248", "button:person"],
        "escalated",
        "customer_asked_for_person",
        ["given_order", "any_returnable", "ask_order", "can_it_go_back", "refund_or_exchange", "return_person"],
    ),
    Path(
        "out of the 30-day window: a person checks the warranty",
        "CUST-00004",
        [],
        "escalated",
        "out_of_return_window",
        ["given_order", "can_it_go_back", "out_of_window"],
        context={"order_id": "TD103205"},
    ),
    Path(
        "already returned: told it was refunded",
        "CUST-00004",
        ["affirm"],
        "resolved",
        "already_refunded",
        ["given_order", "can_it_go_back", "already_refunded", "already_refunded_informed"],
        context={"order_id": "TD103184"},
    ),
    Path(
        "already returned, but the customer disagrees",
        "CUST-00004",
        ["deny"],
        "escalated",
        "refund_disputed",
        ["given_order", "can_it_go_back", "already_refunded", "refund_query"],
        context={"order_id": "TD103184"},
    ),
    Path(
        "not delivered yet: told to refuse it or return later",
        "CUST-00004",
        ["affirm"],
        "resolved",
        "informed_not_delivered",
        ["given_order", "can_it_go_back", "not_delivered_yet", "informed_not_delivered"],
        context={"order_id": "TD103316"},
    ),
    Path(
        "not delivered yet, and that does not help",
        "CUST-00004",
        ["deny"],
        "escalated",
        "return_before_delivery",
        ["given_order", "can_it_go_back", "not_delivered_yet", "not_delivered_query"],
        context={"order_id": "TD103316"},
    ),
]

# --- wrong charge ---------------------------------------------------------------------------------------------

CHARGE_START = ["has_plans", "known_line", "which_line", "plan_found", "ask_amount", "compare"]
DISPUTE = ["confirm_dispute", "dispute", "credit", "bill_follow_up", "bill_ok"]
CHARGES = [
    Path(
        "no plans at all: billing finds the charge",
        "CUST-00010",
        [],
        "escalated",
        "charge_without_plan",
        ["has_plans", "no_plans"],
    ),
    Path(
        "the charge matches the plan: explained",
        "CUST-00001",
        ["button:home_internet", "say:£33", "affirm"],
        "resolved",
        "charge_explained",
        CHARGE_START + ["explain_price", "explained"],
    ),
    Path(
        "the charge matches the plan, but the customer is not convinced",
        "CUST-00001",
        ["button:home_internet", "say:33.00", "deny"],
        "escalated",
        "charge_still_unclear",
        CHARGE_START + ["explain_price", "still_unclear"],
    ),
    Path(
        "a charge that is not for a plan",
        "CUST-00001",
        ["button:other"],
        "escalated",
        "charge_not_for_a_plan",
        ["has_plans", "known_line", "which_line", "other_charge"],
    ),
    Path(
        "charged for a plan they do not have",
        "CUST-00003",
        ["button:mobile_plans"],
        "escalated",
        "charged_for_plan_not_held",
        ["has_plans", "known_line", "which_line", "plan_found", "plan_not_found"],
    ),
    Path(
        "a higher first bill: part-month explained",
        "CUST-00004",
        ["say:I was charged £22.50", "affirm"],
        "resolved",
        "first_bill_explained",
        [
            "has_plans",
            "known_line",
            "plan_found",
            "ask_amount",
            "compare",
            "explain_first_bill",
            "explained_first_bill",
        ],
        context={"plan_category": "home_internet"},
    ),
    Path(
        "a higher first bill not explained: disputed and credited",
        "CUST-00004",
        ["say:22.50", "deny", "affirm", "fire", "affirm"],
        "resolved",
        "dispute_credited",
        ["has_plans", "known_line", "plan_found", "ask_amount", "compare", "explain_first_bill"]
        + DISPUTE
        + ["credited"],
        context={"plan_category": "home_internet"},
    ),
    Path(
        "overcharged: disputed, credited, next bill right",
        "CUST-00001",
        ["button:home_internet", "say:£45.99", "affirm", "fire", "affirm"],
        "resolved",
        "dispute_credited",
        CHARGE_START + DISPUTE + ["credited"],
    ),
    Path(
        "overcharged: the bill is still wrong after the credit",
        "CUST-00001",
        ["button:home_internet", "say:£45.99", "affirm", "fire", "deny"],
        "escalated",
        "bill_still_wrong",
        CHARGE_START + DISPUTE + ["still_wrong"],
    ),
    Path(
        "overcharged by more than the bot may credit: the billing team decides",
        "CUST-00001",
        ["button:home_internet", "say:£150", "affirm"],
        "escalated",
        "billing_needs_person",
        CHARGE_START + ["confirm_dispute", "dispute", "credit", "billing_team"],
    ),
    Path(
        "overcharged, but no dispute wanted: a person talks it through",
        "CUST-00001",
        ["button:mobile_plans", "say:£30", "deny"],
        "escalated",
        "dispute_declined",
        CHARGE_START + ["confirm_dispute", "dispute_declined"],
    ),
    Path(
        "an amount never given: asked twice more, then a person",
        "CUST-00001",
        ["button:home_internet", "say:no idea", "say:dunno", "say:the usual"],
        "escalated",
        "answers_not_understood",
        [
            "has_plans",
            "known_line",
            "which_line",
            "plan_found",
            "ask_amount",
            "ask_amount",
            "ask_amount",
            "answers_unclear",
        ],
    ),
]


@pytest.mark.parametrize("path", NO_INTERNET, ids=str)
def test_no_internet(path: Path, session) -> None:
    run_path("no_internet", path, session)


@pytest.mark.parametrize("path", DEVICE, ids=str)
def test_device_wont_turn_on(path: Path, session) -> None:
    run_path("device_wont_turn_on", path, session)


@pytest.mark.parametrize("path", LATE, ids=str)
def test_late_delivery(path: Path, session) -> None:
    run_path("late_delivery", path, session)


@pytest.mark.parametrize("path", RETURNS, ids=str)
def test_return_refund(path: Path, session) -> None:
    run_path("return_refund", path, session)


@pytest.mark.parametrize("path", CHARGES, ids=str)
def test_wrong_charge(path: Path, session) -> None:
    run_path("wrong_charge", path, session)


def test_every_step_of_every_workflow_is_on_some_tested_path() -> None:
    tables = {
        "no_internet": NO_INTERNET,
        "device_wont_turn_on": DEVICE,
        "late_delivery": LATE,
        "return_refund": RETURNS,
        "wrong_charge": CHARGES,
    }
    assert set(tables) == set(WORKFLOWS)
    for workflow, paths in tables.items():
        walked = {step for path in paths for step in path.steps}
        assert walked == set(WORKFLOWS[workflow].steps), (
            f"{workflow}: untested {set(WORKFLOWS[workflow].steps) - walked}"
        )


# --- what the paths change in the shop ------------------------------------------------------------------------


def _order(session, number: str) -> Order:
    return session.execute(select(Order).where(Order.order_number == number)).scalar_one()


def test_a_late_order_refunded_is_cancelled_with_its_refund_recorded(session) -> None:
    journey = run_path("late_delivery", next(p for p in LATE if p.name == "very late: refunded"), session)
    refund = journey.last.context["refund"]
    assert _order(session, "TD103300").status == "cancelled"
    assert refund["amount"] == pytest.approx(80.97) and refund["reference"].startswith("REF-")


def test_a_returned_order_refunded_is_marked_returned(session) -> None:
    run_path("return_refund", RETURNS[0], session)
    assert _order(session, "TD103248").status == "returned"


def test_a_warranty_replacement_is_a_free_order_of_the_same_device(session) -> None:
    journey = run_path("device_wont_turn_on", DEVICE[3], session)
    number = journey.last.context["replacement"]["order_number"]
    order = _order(session, number)
    customer = session.execute(select(Customer).where(Customer.id == order.customer_id)).scalar_one()
    assert customer.external_id == "CUST-00004" and order.status == "placed" and float(order.total) == 0
    assert [float(line.unit_price) for line in order.lines] == [0.0]
    assert order.lines[0].product.category == "phones"


def test_a_dispute_credits_exactly_the_overcharge(session) -> None:
    journey = run_path("wrong_charge", CHARGES[7], session)
    assert journey.last.context["credit"]["amount"] == pytest.approx(12.99)  # £45.99 charged, plan £33.00
    first_bill = run_path("wrong_charge", CHARGES[6], session)
    assert first_bill.last.context["credit"]["amount"] == pytest.approx(7.50)  # £22.50 charged, plan £15.00
