"""`tandem privacy ...`: customers' data rights (docs/privacy.md).

    tandem privacy export CUSTOMER [--out FILE]     everything held about the customer, as one JSON file
    tandem privacy erase CUSTOMER [--by NAME]       erase them from every store (idempotent, audited)
    tandem privacy purge --older-than DAYS          purge conversations idle for longer (retention)
    tandem privacy requests [--overdue]             customers' pending requests with their due dates

Exit codes as every command's (bot/cli/__init__.py): 1 for an unknown customer or a store that failed, 2 for
an output file that cannot be written or a bad number of days; `requests` exits 1 while any request is overdue
(for cron or a monitor).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    CliError,
    add_database_url,
    database_url,
    models_dir,
    redact,
    set_handler,
)

if TYPE_CHECKING:
    from bot.privacy.requests import PrivacyRequestView


def _where(args: argparse.Namespace):
    from bot.privacy.config import DataLocations

    where = DataLocations.from_settings()
    return replace(
        where,
        database_url=database_url(args),
        tracker_url=args.tracker_url if args.tracker_url is not None else where.tracker_url,
        models_dir=models_dir(args),
    )


def _store_errors() -> tuple[type[Exception], ...]:
    from bot.db.session import DatabaseUnavailable
    from bot.privacy.model_scrub import ModelScrubFailed
    from bot.privacy.tracker_store import TrackerStoreUnavailable

    return DatabaseUnavailable, TrackerStoreUnavailable, ModelScrubFailed


def _cmd_export(args: argparse.Namespace) -> int:
    from bot.privacy.service import UnknownCustomer, export_customer

    where = _where(args)
    try:
        document = export_customer(args.customer, where)
    except UnknownCustomer as exc:
        raise CliError(f"no customer {exc}") from exc
    except _store_errors() as exc:
        raise CliError(f"could not read every store ({redact(where.database_url)}): {exc}") from exc
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}", code=EXIT_BAD_INPUT) from exc
    conversations = document["conversations"]
    events = sum(len(c["events"]) for c in conversations)
    print(
        f"exported {args.customer} to {args.out}: {len(document['orders'])} orders, {len(conversations)} "
        f"conversations ({events} events), {len(document['journeys'])} journeys, {len(document['handoffs'])} handoffs"
    )
    return 0


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return args.by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:  # no user name in the environment nor the password database
        raise CliError("say who erases: --by NAME", code=EXIT_BAD_INPUT) from exc


def _cmd_erase(args: argparse.Namespace) -> int:
    from bot.privacy.service import UnknownCustomer, erase_customer

    where = _where(args)
    try:
        report = erase_customer(args.customer, by=_who(args), via="cli", where=where)
    except UnknownCustomer as exc:
        raise CliError(f"no customer {exc}, and no erasure of that id on record") from exc
    except _store_errors() as exc:
        raise CliError(f"erasure stopped, nothing in the shop database was changed; run it again: {exc}") from exc
    if not report.erased_now:
        last = report.earlier[-1]
        print(
            f"nothing left of {args.customer}: erased {last.erased_at:%Y-%m-%d %H:%M} UTC by {last.requested_by} "
            f"(audit #{last.id})"
        )
        return 0
    print(f"erased {args.customer} (audit #{report.audit_id}, by {_who(args)}):")
    for what, count in report.removed.items():
        print(f"  {what}: {count}")
    return 0


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not days > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of days: {text!r}")
    return days


def _cmd_purge(args: argparse.Namespace) -> int:
    from bot.privacy.retention import purge_idle_conversations

    try:
        report = purge_idle_conversations(timedelta(days=args.older_than), _where(args))
    except _store_errors() as exc:
        raise CliError(f"purge stopped: {exc}") from exc
    print(f"conversations idle for over {args.older_than:g} days: {report}")
    return 0


def _request_line(view: PrivacyRequestView, now: datetime) -> str:
    from bot.privacy.deadlines import describe

    flag = "OVERDUE" if view.is_overdue(now) else "due soon" if view.is_due_soon(now) else ""
    asked = f"asked {view.requested_at:%Y-%m-%d %H:%M} UTC"
    return "  ".join(part for part in (describe(view), asked, view.customer_external_id or "erased", flag) if part)


def _cmd_requests(args: argparse.Namespace) -> int:
    from bot.db.models import utcnow
    from bot.db.session import DatabaseUnavailable, unit_of_work
    from bot.privacy.requests import pending_requests

    now = utcnow()
    try:
        with unit_of_work(database_url(args)) as session:
            pending = pending_requests(session)
    except DatabaseUnavailable as exc:
        raise CliError(f"cannot read the requests ({redact(database_url(args))}): {exc}") from exc
    overdue = [v for v in pending if v.is_overdue(now)]
    shown = overdue if args.overdue else pending
    for view in shown:
        print(_request_line(view, now))
    print(f"{len(pending)} pending, {len(overdue)} overdue")
    return EXIT_FAILED if overdue else 0


def _common(parser: argparse.ArgumentParser) -> None:
    add_database_url(parser)
    parser.add_argument(
        "--tracker-url",
        metavar="URL",
        help="Rasa's SQL tracker store (default: from TANDEM_TRACKER_DB_URL, TANDEM_TRACKER_DB_* or TANDEM_TRACKER_DB)",
    )
    parser.add_argument("--models-dir", help="where models live (default: $TANDEM_MODELS_DIR or models/)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "privacy", help="customers' data rights: export, erase, retention purge, pending requests"
    )
    commands = parser.add_subparsers(dest="privacy_command", metavar="SUBCOMMAND", required=True)

    export = commands.add_parser("export", help="everything held about a customer, as one JSON file")
    export.add_argument("customer", metavar="CUSTOMER", help="the customer's external id, e.g. CUST-00042")
    export.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    _common(export)
    set_handler(export, _cmd_export)

    erase = commands.add_parser("erase", help="erase a customer from every store (idempotent, audited)")
    erase.add_argument("customer", metavar="CUSTOMER", help="the customer's external id, e.g. CUST-00042")
    erase.add_argument("--by", help="who erases, for the audit (default: your user name)")
    _common(erase)
    set_handler(erase, _cmd_erase)

    purge = commands.add_parser("purge", help="purge conversations idle for longer than DAYS")
    purge.add_argument("--older-than", metavar="DAYS", type=_days, required=True, help="idle for more days than this")
    _common(purge)
    set_handler(purge, _cmd_purge)

    pending = commands.add_parser(
        "requests", help="customers' pending requests, the oldest due first; exit 1 while any is overdue"
    )
    pending.add_argument("--overdue", action="store_true", help="list only the overdue ones")
    add_database_url(pending)
    set_handler(pending, _cmd_requests)
