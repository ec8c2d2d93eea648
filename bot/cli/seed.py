"""`tandem seed`: fill the database with the deterministic demo shop (and demo behaviour)."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_BAD_INPUT, CliError, add_database_url, database_url, iso_date, set_handler


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
                from bot.personalization.demo_behaviour import seed_demo_behaviour

                behaviour = seed_demo_behaviour(session, seed=args.seed)
    except ShopAlreadySeeded as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:  # e.g. a customer count out of range
        raise CliError(str(exc), code=EXIT_BAD_INPUT) from exc
    print(summary)
    if not args.no_behaviour:
        print(f"demo behaviour: {behaviour}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    seed = subparsers.add_parser("seed", help="fill the database with the deterministic demo shop")
    add_database_url(seed)
    seed.add_argument("--customers", type=int, default=1000, help="number of customers (default: 1000)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    seed.add_argument(
        "--anchor",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the shop's 'today' for order dates (default: today, UTC)",
    )
    seed.add_argument("--replace", action="store_true", help="delete existing shop data first")
    seed.add_argument("--no-progress", action="store_true", help="no progress bar")
    seed.add_argument("--no-behaviour", action="store_true", help="no demo consent answers and product views")
    set_handler(seed, _cmd_seed)
