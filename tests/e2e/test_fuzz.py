"""A seeded fuzz of the running stack (short form; `bench/fuzz.py` runs 10,000 requests): the REST and socket.io
channels, the shop's API, the agent console's API and websocket, and Rasa's HTTP API (behind its token, as in
production) answer hostile input with 4xx, never a 500, refuse what lacks credentials with 401 or 403, leave no
traceback in any server's log, and everything still answers afterwards."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from bot.console.agents import create_agent
from bot.db.models import Customer, Handoff
from bot.db.session import session_scope
from bot.handoff.routing import default_rules
from bot.settings import get_settings
from tests.support.fuzz import Surfaces, run_fuzz

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("TANDEM_FUZZ_SEED", "12"))
REQUESTS = int(os.environ.get("TANDEM_FUZZ_REQUESTS", "600"))
PASSWORD = "fuzz-password-123"


def test_hostile_requests_get_clear_answers_and_leave_the_stack_running(stack, shop_page, console, postgres_shop):
    username = f"fuzz{uuid.uuid4().hex[:6]}"
    with session_scope(postgres_shop) as session:
        create_agent(session, username, "Fuzz Agent", PASSWORD, role="admin", known_queues=default_rules().queue_keys)
        customers = list(
            session.execute(select(Customer.external_id).order_by(Customer.external_id).limit(5)).scalars()
        )
        handoffs = list(session.execute(select(Handoff.id)).scalars())
    surfaces = Surfaces(
        rasa_url=stack["rasa_base"],
        shop_url=shop_page.rstrip("/"),
        console_url=console,
        console_username=username,
        console_password=PASSWORD,
        customers=customers,
        rasa_token=stack["rasa_token"],
        handoff_ids=handoffs,
        conversation_ids=[f"fuzz-{i}" for i in range(3)],
    )
    logs = [stack["workdir"] / name for name in ("rasa.log", "actions.log", "shop.log", "console.log")]
    report = run_fuzz(surfaces, seed=SEED, requests_total=REQUESTS, secret_key=get_settings().secret_key, logs=logs)
    print(report.table())
    assert report.failures == [], "\n".join(report.failures[:10])
    assert report.tracebacks == [], "\n\n".join(report.tracebacks[:3])
    assert report.unhealthy == []
    assert report.total == REQUESTS
