"""The `tandem` command: `tandem db upgrade`, `tandem seed`, ...

Each subcommand is a `register_*` function that adds its parser and sets `handler`; add a new one to
`COMMANDS` to extend the CLI. Handlers return the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Callable

Handler = Callable[[argparse.Namespace], int]


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


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


# --- tandem db ... --------------------------------------------------------------------------------------------


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade

    url = database_url(args)
    upgrade(url, args.revision)
    print(f"Database at {_redact(url)} is at revision {args.revision}.")
    return 0


def register_db(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema management")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    up = db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    add_database_url(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=_cmd_db_upgrade)


# --- tandem seed ----------------------------------------------------------------------------------------------


def _cmd_seed(args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.shop.seed import ShopAlreadySeeded, seed_shop

    url = database_url(args)
    upgrade(url)
    try:
        with session_scope(url) as session:
            summary = seed_shop(
                session,
                seed=args.seed,
                customers=args.customers,
                anchor=args.anchor,
                progress=not args.no_progress,
                replace=args.replace,
            )
            if not args.no_behaviour:
                from bot.personalization.demo import seed_demo_behaviour

                behaviour = seed_demo_behaviour(session, seed=args.seed)
    except ShopAlreadySeeded as exc:
        print(f"tandem seed: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"tandem seed: {exc}", file=sys.stderr)
        return 2
    print(summary)
    if not args.no_behaviour:
        print(f"demo behaviour: {behaviour}")
    return 0


def register_seed(subparsers: argparse._SubParsersAction) -> None:
    seed = subparsers.add_parser("seed", help="fill the database with the deterministic demo shop")
    add_database_url(seed)
    seed.add_argument("--customers", type=int, default=1000, help="number of customers (default: 1000)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    seed.add_argument(
        "--anchor", type=_iso_date, default=None, metavar="YYYY-MM-DD",
        help="the shop's 'today' for order dates (default: today, UTC)",
    )
    seed.add_argument("--replace", action="store_true", help="delete existing shop data first")
    seed.add_argument("--no-progress", action="store_true", help="no progress bar")
    seed.add_argument("--no-behaviour", action="store_true", help="no demo consent answers and product views")
    seed.set_defaults(handler=_cmd_seed)


# --- tandem up ------------------------------------------------------------------------------------------------


def _cmd_up(args: argparse.Namespace) -> int:
    from bot.stack import up

    try:
        return up(seed_customers=args.customers, rasa_port=args.rasa_port, actions_port=args.actions_port)
    except KeyboardInterrupt:  # stopped while preparing: nothing was started yet
        print("stopped before the assistant started", file=sys.stderr)
        return 130


def _cmd_down(args: argparse.Namespace) -> int:
    from bot import run_lock
    from bot.settings import get_settings

    print(run_lock.down(get_settings().state_dir))
    return 0


def _cmd_rasa_token(args: argparse.Namespace) -> int:
    from bot.settings import get_settings

    print(get_settings().rasa_api_token)
    return 0


def register_up(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser("up", help="migrate, seed, train if needed, and run the whole assistant")
    up.add_argument("--customers", type=int, default=1000, help="demo customers to seed into an empty database")
    up.add_argument("--rasa-port", type=int, default=5005)
    up.add_argument("--actions-port", type=int, default=5055)
    up.set_defaults(handler=_cmd_up)
    down = subparsers.add_parser("down", help="stop what `tandem up` started (also after `up` itself was killed)")
    down.set_defaults(handler=_cmd_down)
    token = subparsers.add_parser(
        "rasa-token", help="print the token of Rasa's HTTP API (TANDEM_RASA_TOKEN, else derived from the secret key)"
    )
    token.set_defaults(handler=_cmd_rasa_token)
    rasa = subparsers.add_parser(
        "rasa", help="Rasa's own command line as Tandem runs it, e.g. `tandem rasa data validate`: no warnings "
                     "about responses that only actions send, the API token kept out of `ps`")
    rasa.add_argument("arguments", nargs=argparse.REMAINDER, help="what `rasa` takes")
    rasa.set_defaults(handler=_cmd_rasa)


def _cmd_rasa(args: argparse.Namespace) -> int:
    from bot.rasa_cli import main as rasa_main

    return rasa_main(args.arguments)


# --------------------------------------------------------------------------------------------------------------

# --- tandem sentiment ... -------------------------------------------------------------------------------------


def _cmd_sentiment_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.sentiment.data import SentimentDataMissing
    from bot.sentiment.training import RECIPES, ensure_model
    from bot.settings import get_settings

    models = Path(args.models_dir) if args.models_dir else get_settings().models_dir
    on_step = None
    if args.progress_file:
        from bot.sentiment.progress import ProgressFile

        on_step = ProgressFile(Path(args.progress_file)).write
    try:
        path = ensure_model(models, RECIPES[args.recipe], on_step=on_step)
    except SentimentDataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"sentiment model '{args.recipe}': {path}")
    return 0


def _cmd_sentiment_predict(args: argparse.Namespace) -> int:
    import json

    from bot.sentiment.defaults import default_model_path
    from bot.sentiment.model import SentimentModelError, load_sentiment_model

    try:
        model = load_sentiment_model(args.model or default_model_path())
    except SentimentModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for text in args.text:
        print(json.dumps({"text": text, **model.predict(text).as_dict()}))
    return 0


def register_sentiment(subparsers: argparse._SubParsersAction) -> None:
    from bot.sentiment.training import RECIPES

    sentiment = subparsers.add_parser("sentiment", help="build or try the sentiment model")
    sub = sentiment.add_subparsers(dest="sentiment_command", metavar="COMMAND", required=True)
    build = sub.add_parser("build", help="fine-tune the default sentiment model (cached; minutes on a CPU)")
    build.add_argument("--recipe", choices=sorted(RECIPES), default="default")
    build.add_argument("--models-dir", help="where models live (default: $TANDEM_MODELS_DIR or models/)")
    build.add_argument("--progress-file", help="keep the steps done and in all in this JSON file while training")
    build.set_defaults(handler=_cmd_sentiment_build)
    predict = sub.add_parser("predict", help="print the sentiment of each TEXT")
    predict.add_argument("text", nargs="+")
    predict.add_argument("--model", help="model folder or hub id (default: the built default model)")
    predict.set_defaults(handler=_cmd_sentiment_predict)


def register_recs(subparsers: argparse._SubParsersAction) -> None:
    from bot.personalization.cli import register

    register(subparsers)


def register_workflows(subparsers: argparse._SubParsersAction) -> None:
    from bot.journeys.cli import register

    register(subparsers)


def register_journeys(subparsers: argparse._SubParsersAction) -> None:
    from bot.journeys.store_cli import register

    register(subparsers)


def register_agents(subparsers: argparse._SubParsersAction) -> None:
    from bot.console.cli import register

    register(subparsers)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_db, register_seed, register_up, register_sentiment, register_recs, register_workflows,
    register_journeys,
    register_agents,
]


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used for display
        return "<database>"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem customer-service assistant tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tandem` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
