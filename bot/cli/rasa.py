"""`tandem rasa ...` and `tandem rasa-token`: Rasa's own command line as Tandem runs it, and its API token."""

from __future__ import annotations

import argparse

from bot.cli.common import set_handler


def _cmd_rasa_token(args: argparse.Namespace) -> int:
    from bot.settings import get_settings

    print(get_settings().rasa_api_token)
    return 0


def _cmd_rasa(args: argparse.Namespace) -> int:
    from bot.rasa_cli import main as rasa_main

    return rasa_main(args.arguments)


def register(subparsers: argparse._SubParsersAction) -> None:
    token = subparsers.add_parser(
        "rasa-token", help="print the token of Rasa's HTTP API (TANDEM_RASA_TOKEN, else derived from the secret key)"
    )
    set_handler(token, _cmd_rasa_token)
    rasa = subparsers.add_parser(
        "rasa",
        help="Rasa's own command line as Tandem runs it, e.g. `tandem rasa data validate --domain domain`: "
        "no warnings about responses that only actions send, the API token kept out of `ps`",
    )
    rasa.add_argument("arguments", nargs=argparse.REMAINDER, help="what `rasa` takes")
    set_handler(rasa, _cmd_rasa)
