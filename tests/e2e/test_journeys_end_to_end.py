"""Issue journeys through the real stack: REST channel -> Rasa -> action server -> PostgreSQL.

A journey survives a restart of both servers, and a due follow-up reaches the customer's conversation
through Rasa's HTTP API, sent by the scheduler on a clock the test moves (no sleeping).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Customer, CustomerPlan, Journey, JourneyFollowUp, JourneyStep, Order, Product, utcnow
from bot.db.session import session_scope
from bot.identity import sign_customer
from bot.journeys.scheduler import FollowUpScheduler, RasaHttpSender
from tests.e2e.test_rest_end_to_end import say, texts
from tests.support.rasa_model import rasa_env, trained_model
from tests.support.servers import action_server_command, free_port, rasa_server_command, running, write_endpoints

pytestmark = pytest.mark.slow


def _internet_customer(url: str, skip: int = 0) -> str:
    with session_scope(url) as session:
        return session.execute(
            select(Customer.external_id)
            .join(CustomerPlan)
            .join(Product, Product.id == CustomerPlan.product_id)
            .where(Product.category == "home_internet", CustomerPlan.status == "active")
            .order_by(Customer.external_id)
            .offset(skip)
            .limit(1)
        ).scalar_one()


def _journey(url: str, customer: str) -> Journey:
    with session_scope(url) as session:
        journey = (
            session.execute(
                select(Journey).join(Customer).where(Customer.external_id == customer).order_by(Journey.id.desc())
            )
            .scalars()
            .first()
        )
        session.expunge(journey)
        return journey


def _steps(url: str, journey_id: int) -> list[str]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(JourneyStep.step).where(JourneyStep.journey_id == journey_id).order_by(JourneyStep.seq)
            ).scalars()
        )


def test_a_journey_survives_a_restart_of_rasa_and_the_action_server(postgres_shop: str, tmp_path: Path) -> None:
    customer = _internet_customer(postgres_shop)
    token = sign_customer(customer)
    model = trained_model()
    env = rasa_env({"TANDEM_DATABASE_URL": postgres_shop, "TANDEM_STATE_DIR": str(tmp_path)})
    tracker_db = tmp_path / "tracker.db"

    def servers(tag: str):
        actions_port, rasa_port = free_port(), free_port()
        endpoints = write_endpoints(tmp_path / f"endpoints-{tag}.yml", actions_port, tracker_db)
        actions = running(
            action_server_command(actions_port),
            f"http://127.0.0.1:{actions_port}/health",
            env,
            tmp_path / f"actions-{tag}.log",
        )
        rasa = running(
            rasa_server_command(model, rasa_port, endpoints),
            f"http://127.0.0.1:{rasa_port}/webhooks/tandem/",
            env,
            tmp_path / f"rasa-{tag}.log",
        )
        return actions, rasa, f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook"

    actions, rasa, url = servers("first")
    with actions, rasa:
        status, reply = say(url, "e2e-journey-restart", "my internet is down", token)
        assert status == 200 and reply, reply
    before = _journey(postgres_shop, customer)
    assert before.workflow == "no_internet" and before.state == "waiting_for_customer"
    waiting_at = before.current_step

    actions, rasa, url = servers("second")  # new processes; the database and tracker store remain
    with actions, rasa:
        status, reply = say(url, "e2e-journey-restart", "no", token)
        assert status == 200
    after = _journey(postgres_shop, customer)
    assert after.id == before.id
    assert after.current_step != waiting_at  # the answer moved the same journey on
    assert _steps(postgres_shop, after.id)[-1] == after.current_step or after.state != "waiting_for_customer"
    assert texts(reply)


def test_a_due_follow_up_reaches_the_conversation_through_rasa(stack, postgres_shop: str) -> None:
    with session_scope(postgres_shop) as session:
        customer, number = session.execute(
            select(Customer.external_id, Order.order_number)
            .join(Customer)
            .where(Order.status.in_(("shipped", "out_for_delivery")), Order.estimated_delivery < utcnow().date())
            .order_by(Order.order_number)
        ).first()
    token = sign_customer(customer)
    sender_id = "e2e-journey-follow-up"
    status, reply = say(stack["url"], sender_id, f"my parcel {number} is late", token)
    assert status == 200, reply
    journey = _journey(postgres_shop, customer)
    assert journey.workflow == "late_delivery"
    # Walk the journey until it waits for the company with a follow-up scheduled (bounded: at most 6 answers).
    for _ in range(6):
        with session_scope(postgres_shop) as session:
            pending = (
                session.execute(
                    select(JourneyFollowUp).where(
                        JourneyFollowUp.journey_id == journey.id,
                        JourneyFollowUp.status == "pending",
                        JourneyFollowUp.kind == "follow_up",
                    )
                )
                .scalars()
                .first()
            )
        if pending is not None:
            break
        buttons = [b for m in reply for b in (m.get("buttons") or [])]
        answer = buttons[0]["payload"] if buttons else "yes"
        status, reply = say(stack["url"], sender_id, answer, token)
        assert status == 200
    assert pending is not None, "the late-delivery journey never scheduled a follow-up"

    later = pending.due_at + timedelta(minutes=1)
    scheduler = FollowUpScheduler(
        postgres_shop, RasaHttpSender(stack["rasa_base"], stack["rasa_token"]), clock=lambda: later
    )
    sent = scheduler.run_once()
    assert pending.id in {s.follow_up_id for s in sent}
    with session_scope(postgres_shop) as session:
        assert session.get(JourneyFollowUp, pending.id).status == "sent"
        steps = list(session.execute(select(JourneyStep.intent).where(JourneyStep.journey_id == journey.id)).scalars())
    assert "journey_follow_up" in steps  # the follow-up turn was recorded by the action server
