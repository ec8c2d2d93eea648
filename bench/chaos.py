"""Faults under load on the production profile: messages sent / acknowledged / answered / lost / duplicated for
each fault, agent replies and follow-ups delivered once, and the time to recover from each fault.

Starts `tandem up --production` (own PostgreSQL, Redis, RabbitMQ, two Rasa and two action servers, nginx) with the
tests' trained models, holds a load of customers (chatting, one handed to an agent who replies, journeys' follow-ups
falling due), and `kill -9`s, in turn, a Rasa instance, an action server, the console, the scheduler, nginx,
Redis, PostgreSQL and RabbitMQ (tests/support/chaos.py). `tests/production/test_chaos.py` is the CI's short form.

    python bench/chaos.py [--customers 6] [--faults "rasa 1,redis"]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.console.agents import create_agent
from bot.db.session import session_scope
from bot.handoff.routing import default_rules
from tests.support.chaos import ALL_FAULTS, CHAOS_ENV, Plan, run_chaos
from tests.support.production import production_profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=6, help="customers chatting all the time")
    parser.add_argument("--follow-up-customers", type=int, default=2)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS), help="comma-separated, in order")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds of load after each recovery")
    args = parser.parse_args()
    faults = tuple(f.strip() for f in args.faults.split(",") if f.strip())
    unknown = [f for f in faults if f not in ALL_FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(ALL_FAULTS)}")
    plan = Plan(
        faults=faults, customers=args.customers, follow_up_customers=args.follow_up_customers, settle=args.settle
    )
    print("starting the production profile...", flush=True)
    with production_profile(extra_env=CHAOS_ENV) as production:
        username, password = f"chaos{uuid.uuid4().hex[:6]}", "chaos-password-123"
        with session_scope(production.database_url) as session:
            create_agent(
                session, username, "Chaos Agent", password, role="admin", known_queues=default_rules().queue_keys
            )
        print(
            f"load: {plan.customers} customers chatting, {plan.follow_up_customers} receiving follow-ups, one with an agent; "
            f"faults: {', '.join(faults)}",
            flush=True,
        )
        report = asyncio.run(run_chaos(production, plan, password, username))
    print(report.table())
    problems = report.problems()
    print("\n".join(["problems:", *problems]) if problems else "nothing lost, nothing doubled")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
