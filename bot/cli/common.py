"""What every `tandem` command shares: the database option, the date parser, the error convention."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class CliError(Exception):
    """A handler's reason to stop: `main()` prints it once as `tandem <command>: error: <message>`."""

    def __init__(self, message: str, *, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def set_handler(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Make `handler` run for this (sub)command; its `prog` ("tandem recs import") names it in error messages."""
    parser.set_defaults(handler=handler, command_name=parser.prog)


def database_url(args: argparse.Namespace) -> str:
    """`--database-url` if given, else the configured TANDEM_DATABASE_URL (bot.settings)."""
    if getattr(args, "database_url", None):
        return args.database_url
    from bot.settings import get_settings

    return get_settings().database_url


def add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: $TANDEM_DATABASE_URL or the SQLite file under .tandem/)",
    )


def models_dir(args: argparse.Namespace) -> Path:
    """`--models-dir` if given, else the configured TANDEM_MODELS_DIR (bot.settings)."""
    if getattr(args, "models_dir", None):
        return Path(args.models_dir)
    from bot.settings import get_settings

    return get_settings().models_dir


def iso_date(text: str) -> date:
    """An argparse `type`: a bad date is a usage error (exit 2) that shows the format wanted."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"
