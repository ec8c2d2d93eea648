"""`tandem db upgrade`: apply the Alembic migrations."""

from __future__ import annotations

import argparse

from bot.cli.common import add_database_url, database_url, redact, set_handler


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade

    url = database_url(args)
    upgrade(url, args.revision)
    print(f"Database at {redact(url)} is at revision {args.revision}.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema management")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    add_database_url(upgrade)
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    set_handler(upgrade, _cmd_upgrade)
