"""`tandem insights ...`: turn Rasa's published events into the analytics tables (consume, backfill), and the
dashboard's figures in the terminal (report)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime

from bot.cli.common import EXIT_BAD_INPUT, CliError, add_database_url, database_url, iso_date, redact, set_handler


def _cmd_consume(args: argparse.Namespace) -> int:
    import logging
    import os
    from dataclasses import replace

    from bot.insights.config import InsightsConfig
    from bot.insights.consumer import consume

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = InsightsConfig.from_env(os.environ)
    if args.source:
        config = replace(config, source=args.source)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # the batch in hand is finished, then the consumer stops
        signal.signal(signum, lambda *_: stop.set())
    where = (
        redact(config.events_db_url) if config.source == "sql" else f"queue {config.queue} at {redact(config.amqp_url)}"
    )
    print(f"insights consumer: {config.source} ({where}) into {redact(database_url(args))}", flush=True)
    progress = consume(database_url(args), config, stop, once=args.once)
    print(progress.line(), flush=True)
    return 0


def _cmd_backfill(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError
    from tqdm import tqdm

    from bot.db.session import DatabaseUnavailable
    from bot.insights.backfill import backfill
    from bot.settings import get_settings

    tracker_url = args.tracker_url or get_settings().tracker_db_url
    since = datetime.combine(args.since, datetime.min.time()) if args.since else None
    bar = tqdm(desc="insights backfill", unit="conversation", disable=args.no_progress, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        report = backfill(database_url(args), tracker_url, since=since, on_progress=progress)
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        raise CliError(f"stopped, run it again to add the rest: {str(exc).splitlines()[0]}") from exc
    finally:
        bar.close()
    print(f"backfill from {redact(tracker_url)}: {report.line()}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bot.db.models import utcnow
    from bot.db.session import session_scope
    from bot.insights.dashboard import PANELS
    from bot.insights.period import filters_from
    from bot.insights.report import REPORT_TABLES, format_report
    from bot.insights.scope import FilterError
    from bot.insights.tables.catalogue import TABLES, all_tables

    try:
        f = filters_from(
            args.since, args.until, utcnow(), channel=args.channel, segment=args.segment, workflow=args.workflow
        )
    except FilterError as exc:
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    slugs = [s for s in REPORT_TABLES if not (args.no_clusters and s == "unknown-questions")]
    needed = {p for s in slugs for p in TABLES[s].panels}
    with session_scope(database_url(args)) as session:
        results = {name: panel(session, f) for name, panel in PANELS.items() if name in needed}
    print(format_report(all_tables(results, f), f, slugs), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tandem insights` and its subcommands; a new subcommand is one more `sub.add_parser` here."""
    insights = subparsers.add_parser("insights", help="analytics from Rasa's events: consume, backfill, report")
    sub = insights.add_subparsers(dest="insights_command", metavar="COMMAND", required=True)

    consume = sub.add_parser("consume", help="turn Rasa's published events into the analytics tables until stopped")
    add_database_url(consume)
    consume.add_argument(
        "--source",
        choices=("sql", "rabbitmq"),
        default=None,
        help="Rasa's SQL event broker table or the RabbitMQ queue (default: $TANDEM_INSIGHTS_SOURCE or sql)",
    )
    consume.add_argument("--once", action="store_true", help="take what is there now, then stop")
    set_handler(consume, _cmd_consume)

    backfill = sub.add_parser("backfill", help="count the history in Rasa's tracker store (idempotent)")
    add_database_url(backfill)
    backfill.add_argument(
        "--since", type=iso_date, metavar="DATE", help="only conversations started from this day on (YYYY-MM-DD, UTC)"
    )
    backfill.add_argument(
        "--tracker-url",
        metavar="URL",
        help="Rasa's SQL tracker store (default: from TANDEM_TRACKER_DB_URL, TANDEM_TRACKER_DB_* or TANDEM_TRACKER_DB)",
    )
    backfill.add_argument("--no-progress", action="store_true", help="no progress bar")
    set_handler(backfill, _cmd_backfill)

    report = sub.add_parser("report", help="the dashboard's figures in the terminal, against the previous period")
    add_database_url(report)
    report.add_argument(
        "--since", default="7d", metavar="SPAN|DATE", help="7d, 2w or 48h back from now, or a day (default: 7d)"
    )
    report.add_argument("--until", metavar="DATE", help="the last day included (YYYY-MM-DD; default: now)")
    report.add_argument("--channel", help="only conversations of this channel (Rasa's input channel)")
    report.add_argument("--segment", help="only customers of this segment (RFM segment of `tandem recs segments`)")
    report.add_argument("--workflow", help="only journeys of this workflow, and conversations that went through one")
    report.add_argument(
        "--no-clusters", action="store_true", help="leave out the unknown questions (spares loading the encoder)"
    )
    set_handler(report, _cmd_report)
