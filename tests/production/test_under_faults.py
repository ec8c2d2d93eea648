"""Faults under load, short form (`bench/chaos.py` runs every fault with more customers): nothing acknowledged is
lost or doubled while a Rasa instance, an action server, the console and the databases are killed in turn.

It shares the package's production profile and leaves it damaged (restarted processes), so it runs last."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.console.agents import create_agent
from bot.db.session import session_scope
from bot.handoff.routing import default_rules
from tests.support.chaos import Plan, run_chaos
from tests.support.production import Production

pytestmark = pytest.mark.slow

# The processes whose loss a customer would feel most; bench/chaos.py adds the scheduler, nginx and RabbitMQ.
FAULTS = ("rasa 1", "action server 1", "agent console", "postgresql", "redis")


def test_killing_processes_under_load_loses_and_doubles_nothing(production: Production):
    username, password = f"chaos{uuid.uuid4().hex[:6]}", "chaos-password-123"
    with session_scope(production.database_url) as session:
        create_agent(session, username, "Chaos Agent", password, role="admin", known_queues=default_rules().queue_keys)
    plan = Plan(faults=FAULTS, customers=3, follow_up_customers=1, warm_up=10.0, settle=12.0)
    report = asyncio.run(run_chaos(production, plan, password, username))
    print(report.table())
    assert report.problems() == [], "\n".join(report.problems()[:20]) + "\n" + report.table()
    assert len(report.windows) == len(FAULTS)
    # The load really had messages during the faults, an agent and follow-ups in it.
    assert len([s for s in report.sent if s.window != "warm-up" and s.acked]) >= len(FAULTS)
    assert report.agent_replies and report.follow_ups
