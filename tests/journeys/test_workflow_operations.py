"""Workflow operations on the real shop: what they change, and that a replay after a crash changes nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import session_scope
from bot.journeys.types import UserInput
from bot.journeys.workflows import OperationError, ShopDbFacts, WorkflowRunner, default_operations, load_workflows
from bot.journeys.workflows.network import NetworkStatus
from bot.shop.orders import refunds
from bot.shop.seed import seed_now
from tests.conftest import SHOP_ANCHOR

NOW = seed_now(SHOP_ANCHOR)
LATER = NOW.replace(day=2)  # TD103300 is 3 days late: straight to the carrier trace
OPERATIONS = default_operations()


def _free_orders(url: str, customer: str) -> list[str]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(Order.order_number)
                .join(Customer)
                .where(Customer.external_id == customer, Order.total == 0)
                .order_by(Order.order_number)
            ).scalars()
        )


def _run(name: str, session, customer: str, key: str, **params):
    return OPERATIONS.run(
        name, params, customer_id=customer, session=session, facts=ShopDbFacts(session, customer, now=NOW), key=key
    )


def test_a_replacement_replayed_after_a_crash_is_not_placed_twice(fresh_shop_db: str) -> None:
    runner = WorkflowRunner(load_workflows(), ShopDbFacts.at(LATER))
    with session_scope(fresh_shop_db) as session:
        choose = runner.start("late_delivery", "CUST-00026", {"order_id": "TD103300"}, session, journey_id="J-1")
    assert choose.current_step == "choose_remedy"
    tap = UserInput("workflow_answer", {"answer": "replacement"})
    with session_scope(fresh_shop_db) as session:  # the order is committed ...
        sent = runner.advance(
            "late_delivery", "choose_remedy", choose.context, tap, "CUST-00026", session, journey_id="J-1"
        )
    # ... but the process died before the journey saved `sent.context`: the turn is replayed from `choose`.
    with session_scope(fresh_shop_db) as session:
        replayed = runner.advance(
            "late_delivery", "choose_remedy", choose.context, tap, "CUST-00026", session, journey_id="J-1"
        )
    number = sent.context["replacement"]["order_number"]
    assert replayed.context["replacement"]["order_number"] == number
    assert _free_orders(fresh_shop_db, "CUST-00026") == [number]
    with session_scope(fresh_shop_db) as session:  # another journey is another replacement
        runner.advance("late_delivery", "choose_remedy", choose.context, tap, "CUST-00026", session, journey_id="J-2")
    assert len(_free_orders(fresh_shop_db, "CUST-00026")) == 2


def test_a_crash_before_the_commit_leaves_no_replacement_and_the_replay_places_one(fresh_shop_db: str) -> None:
    with pytest.raises(RuntimeError):
        with session_scope(fresh_shop_db) as session:
            _run(
                "create_replacement_order",
                session,
                "CUST-00026",
                "J-9:late_delivery:send_replacement",
                order_id="TD103300",
            )
            raise RuntimeError("the action server died")
    assert _free_orders(fresh_shop_db, "CUST-00026") == []
    with session_scope(fresh_shop_db) as session:
        result = _run(
            "create_replacement_order", session, "CUST-00026", "J-9:late_delivery:send_replacement", order_id="TD103300"
        )
    assert _free_orders(fresh_shop_db, "CUST-00026") == [result["order_number"]]
    with session_scope(fresh_shop_db) as session:
        order = session.execute(select(Order).where(Order.order_number == result["order_number"])).scalar_one()
        original = session.execute(select(Order).where(Order.order_number == "TD103300")).scalar_one()
        assert order.status == "placed" and order.shipping_address == original.shipping_address
        assert [(line.product_id, line.quantity, float(line.unit_price)) for line in order.lines] == [
            (line.product_id, line.quantity, 0.0) for line in original.lines
        ]


def test_a_refund_replayed_refunds_once_and_shows_in_the_customers_refunds(fresh_shop_db: str) -> None:
    with session_scope(fresh_shop_db) as session:
        first = _run("issue_refund", session, "CUST-00026", "J-3:late_delivery:refund", order_id="TD103300")
    with session_scope(fresh_shop_db) as session:
        again = _run("issue_refund", session, "CUST-00026", "J-3:late_delivery:refund", order_id="TD103300")
        shown = refunds(session, "CUST-00026", today=NOW.date())
    assert again == first and first["order_status"] == "cancelled" and first["amount"] == pytest.approx(80.97)
    assert [r.order_number for r in shown] == ["TD103300"]


def test_reference_numbers_are_stable_within_a_journey_and_differ_between_journeys(session) -> None:
    one = _run("book_technician", session, "CUST-00001", "J-1:no_internet:book_technician")
    same = _run("book_technician", session, "CUST-00001", "J-1:no_internet:book_technician")
    other = _run("book_technician", session, "CUST-00001", "J-2:no_internet:book_technician")
    assert one == same and one["reference"] != other["reference"] and one["reference"].startswith("ENG-")
    assert one["visit_on"] == "2026-11-03"  # Sunday 1 November + 2 working days: Tuesday


def test_operations_refuse_what_the_shop_rules_do_not_allow(session) -> None:
    with pytest.raises(OperationError, match="cannot be returned"):  # delivered 47 days ago
        _run("create_return_label", session, "CUST-00004", "k", order_id="TD103205")
    with pytest.raises(OperationError, match="no order TD103300"):  # someone else's order
        _run("issue_refund", session, "CUST-00004", "k", order_id="TD103300")
    with pytest.raises(OperationError, match="missing order_id"):
        _run("open_carrier_investigation", session, "CUST-00026", "k")
    with pytest.raises(OperationError, match="needs a person's approval"):
        _run("apply_account_credit", session, "CUST-00001", "k", amount=120)


def test_outages_and_line_tests_come_from_the_network_status_feed(tmp_path: Path, session) -> None:
    feed = tmp_path / "network.yml"
    feed.write_text(
        'outages:\n  - {area: E18, until: "2026-11-01T18:00", reference: INC-7}\nline_tests:\n  CUST-00001: fault\n'
    )
    ops = OPERATIONS.with_config(network_status=str(feed))
    facts = ShopDbFacts(session, "CUST-00001", now=NOW)
    outage = ops.run("check_outage", {}, customer_id="CUST-00001", session=session, facts=facts, key="k")
    line = ops.run("run_line_test", {}, customer_id="CUST-00001", session=session, facts=facts, key="k")
    assert outage == {"found": True, "area": "E18", "reference": "INC-7", "until": "2026-11-01"}
    assert line["tested"] and line["fault_found"]
    later = ShopDbFacts(session, "CUST-00001", now=NOW.replace(hour=19))
    assert not ops.run("check_outage", {}, customer_id="CUST-00001", session=session, facts=later, key="k")["found"]
    unknown = OPERATIONS.with_config(network_status=NetworkStatus())
    assert (
        unknown.run("run_line_test", {}, customer_id="CUST-00001", session=session, facts=facts, key="k")["tested"]
        is False
    )


def test_every_operation_declares_what_it_returns() -> None:
    assert OPERATIONS.names() == sorted(
        [
            "apply_account_credit",
            "book_repair",
            "book_technician",
            "check_outage",
            "create_replacement_order",
            "create_return_label",
            "issue_refund",
            "open_billing_dispute",
            "open_carrier_investigation",
            "run_line_test",
            "schedule_callback",
        ]
    )
    assert all(OPERATIONS.get(name).returns and OPERATIONS.get(name).doc for name in OPERATIONS.names())


def test_a_callback_is_booked_for_the_next_working_day(session) -> None:
    result = _run("schedule_callback", session, "CUST-00001", "J-1:x:callback", reason="billing")
    assert result["callback_on"] == "2026-11-02" and result["reference"].startswith("CB-")
