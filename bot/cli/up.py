"""`tandem up` and `tandem down`: run the whole assistant, and stop it again."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_INTERRUPTED, CliError, set_handler


def _cmd_up(args: argparse.Namespace) -> int:
    from bot.stack import StackError, up

    try:
        return up(seed_customers=args.customers, rasa_port=args.rasa_port, actions_port=args.actions_port)
    except StackError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:  # stopped while preparing: nothing was started yet
        raise CliError("stopped before the assistant started", code=EXIT_INTERRUPTED) from None


def _cmd_down(args: argparse.Namespace) -> int:
    from bot import run_lock
    from bot.settings import get_settings

    print(run_lock.down(get_settings().state_dir))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser("up", help="migrate, seed, train if needed, and run the whole assistant")
    up.add_argument("--customers", type=int, default=1000, help="demo customers to seed into an empty database")
    up.add_argument("--rasa-port", type=int, default=5005)
    up.add_argument("--actions-port", type=int, default=5055)
    set_handler(up, _cmd_up)
    down = subparsers.add_parser("down", help="stop what `tandem up` started (also after `up` itself was killed)")
    set_handler(down, _cmd_down)
