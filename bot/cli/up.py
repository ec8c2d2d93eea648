"""`tandem up` and `tandem down`: run the whole assistant, and stop it again."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_INTERRUPTED, CliError, set_handler


def _cmd_up(args: argparse.Namespace) -> int:
    from bot.stack import StackError, up

    try:
        if args.production:
            from bot.production.layout import Ports
            from bot.production.profile import up_production

            ports = Ports.from_public(args.public_port, args.instances)
            return up_production(args.customers, ports, args.listen_host, args.public_host)
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


def _instances(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 8:
        raise argparse.ArgumentTypeError("between 1 and 8")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser("up", help="migrate, seed, train if needed, and run the whole assistant")
    up.add_argument("--customers", type=int, default=1000, help="demo customers to seed into an empty database")
    up.add_argument("--rasa-port", type=int, default=5005)
    up.add_argument("--actions-port", type=int, default=5055)
    production = up.add_argument_group("production profile (docs/deploy.md)")
    production.add_argument(
        "--production",
        action="store_true",
        help="PostgreSQL, Redis and RabbitMQ of its own, several Rasa and action servers, nginx in front",
    )
    production.add_argument(
        "--instances", type=_instances, default=2, help="Rasa and action servers of each (default 2)"
    )
    production.add_argument(
        "--public-port",
        type=int,
        default=8080,
        help="nginx's port (default 8080); the profile's other processes take the next 29",
    )
    production.add_argument("--listen-host", default="0.0.0.0", help="the interface nginx listens on")
    production.add_argument("--public-host", default="localhost", help="the host name customers' browsers use")
    set_handler(up, _cmd_up)
    down = subparsers.add_parser("down", help="stop what `tandem up` started (also after `up` itself was killed)")
    set_handler(down, _cmd_down)
