"""`tandem journeys ...`: KPIs, a customer's journeys, an agent's resolution, and the follow-up scheduler."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import timedelta

from bot.cli.common import CliError, add_database_url, database_url, set_handler


def _rasa_sender(args: argparse.Namespace):
    from bot.journeys.config import JourneyConfig
    from bot.journeys.scheduler import RasaHttpSender
    from bot.settings import get_settings

    return RasaHttpSender(
        args.rasa_url or get_settings().rasa_url,
        args.rasa_token or get_settings().rasa_api_token,
        timeout=JourneyConfig.from_env().send_timeout_seconds,
    )


def _cmd_kpis(args: argparse.Namespace) -> int:
    from bot.db.models import utcnow
    from bot.db.session import session_scope
    from bot.journeys.kpis import format_kpis, journey_kpis

    until = utcnow()
    with session_scope(database_url(args)) as session:
        rows = journey_kpis(session, since=until - timedelta(days=args.days), until=until)
    if not rows:
        print(f"No journeys opened in the last {args.days} days.")
        return 0
    print(f"Journeys opened in the last {args.days} days (FCR: first-contact resolution; TTR: time to resolution)")
    print(format_kpis(rows))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.journeys.store import customer_journeys, open_journeys
    from bot.shop.customers import customer_pk

    with session_scope(database_url(args)) as session:
        customer_id = customer_pk(session, args.customer)
        if customer_id is None:
            raise CliError(f"no customer {args.customer}")
        journeys = customer_journeys(session, customer_id) if args.all else open_journeys(session, customer_id)
    if not journeys:
        print(f"{args.customer} has no {'' if args.all else 'open '}journeys.")
        return 0
    for j in journeys:
        extra = f", escalated: {j.escalation_reason}" if j.escalation_reason else ""
        extra += f", outcome: {j.outcome}" if j.outcome else ""
        extra += f", reopened {j.reopened_count}x" if j.reopened_count else ""
        print(
            f"#{j.id:<6} {j.state:<21} {j.workflow} @ {j.current_step or '-'}  ({j.problem_key}; "
            f"{j.steps} steps, opened {j.opened_at:%Y-%m-%d %H:%M}, last activity {j.updated_at:%Y-%m-%d %H:%M}"
            f"{extra})"
        )
    return 0


def _cmd_followups(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from bot.db.models import JourneyFollowUp, utcnow
    from bot.db.session import session_scope
    from bot.journeys.config import JourneyConfig
    from bot.journeys.scheduler import FollowUpScheduler

    url = database_url(args)
    if args.run_once:
        report = FollowUpScheduler(url, _rasa_sender(args), config=JourneyConfig.from_env()).tick()
        print(f"follow-ups: {report}")
        return 1 if report.failed or report.retrying else 0  # scripts can tell something was not delivered
    now = utcnow()
    with session_scope(url) as session:
        counts = dict(
            session.execute(select(JourneyFollowUp.status, func.count()).group_by(JourneyFollowUp.status)).all()
        )
        due = session.execute(
            select(func.count())
            .select_from(JourneyFollowUp)
            .where(JourneyFollowUp.status == "pending", JourneyFollowUp.due_at <= now)
        ).scalar_one()
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "none"
    print(f"follow-ups: {summary}; due now: {due} (send them with --run-once, or run `tandem journeys scheduler`)")
    return 0


def _cmd_scheduler(args: argparse.Namespace) -> int:
    import logging

    from bot.journeys.config import JourneyConfig
    from bot.journeys.scheduler import FollowUpScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    from bot.privacy.housekeeping import housekeeping_from_settings

    config = JourneyConfig.from_env()
    privacy = housekeeping_from_settings(database_url(args))
    scheduler = FollowUpScheduler(database_url(args), _rasa_sender(args), config=config, housekeeping=privacy)
    if privacy.retention is not None:
        print(
            f"conversation retention: purging conversations idle for over {privacy.retention.retention} hourly",
            flush=True,
        )
    print("privacy requests: warning hourly about any past its due date", flush=True)
    print(f"follow-up scheduler: polling every {config.poll_seconds:g} s (Ctrl-C to stop)", flush=True)
    scheduler.run_forever(stop)
    print("follow-up scheduler stopped", flush=True)
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from bot.db.session import session_scope
    from bot.journeys.store import JourneyError, mark_resolved

    try:
        with session_scope(database_url(args)) as session:
            journey = mark_resolved(session, args.journey_id, args.agent, args.outcome)
    except (JourneyError, LookupError) as exc:
        raise CliError(str(exc)) from exc
    print(f"journey {journey.id} ({journey.workflow}) resolved by agent {args.agent}: {journey.outcome}")
    return 0


def _add_rasa(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rasa-url", help="Rasa server with --enable-api (default: $TANDEM_RASA_URL)")
    parser.add_argument("--rasa-token", help="Rasa's --auth-token (default: $TANDEM_RASA_TOKEN)")


def register(subparsers: argparse._SubParsersAction) -> None:
    journeys = subparsers.add_parser("journeys", help="issue journeys: KPIs, a customer's journeys, follow-ups")
    sub = journeys.add_subparsers(dest="journeys_command", metavar="COMMAND", required=True)

    kpis = sub.add_parser("kpis", help="first-contact resolution, time to resolution, escalations, CSAT per workflow")
    add_database_url(kpis)
    kpis.add_argument("--days", type=int, default=30, help="journeys opened in the last N days (default: 30)")
    set_handler(kpis, _cmd_kpis)

    listing = sub.add_parser("list", help="a customer's open journeys (newest activity first)")
    add_database_url(listing)
    listing.add_argument("customer", metavar="CUSTOMER", help="customer external id, e.g. CUST-00042")
    listing.add_argument("--all", action="store_true", help="also resolved and closed journeys")
    set_handler(listing, _cmd_list)

    followups = sub.add_parser("followups", help="count scheduled follow-ups; --run-once sends the due ones now")
    add_database_url(followups)
    _add_rasa(followups)
    followups.add_argument("--run-once", action="store_true", help="one scheduler pass: nudge, flag, send")
    set_handler(followups, _cmd_followups)

    resolve = sub.add_parser("resolve", help="an agent marks a journey resolved (the customer confirmed elsewhere)")
    add_database_url(resolve)
    resolve.add_argument("journey_id", type=int, metavar="JOURNEY")
    resolve.add_argument("--agent", required=True, help="who resolved it (stored as resolved_by agent:<name>)")
    resolve.add_argument("--outcome", default="resolved_by_agent", help="how it was resolved")
    set_handler(resolve, _cmd_resolve)

    scheduler = sub.add_parser("scheduler", help="run the follow-up scheduler until stopped (SIGTERM/Ctrl-C)")
    add_database_url(scheduler)
    _add_rasa(scheduler)
    set_handler(scheduler, _cmd_scheduler)
