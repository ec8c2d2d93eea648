"""The `tandem` command (`tandem db upgrade`, `tandem seed`, ...): one module per command, named after it.

Each command module has a `register(subparsers)` that adds its parser and sets a handler with
`common.set_handler`; add a new module to `COMMANDS` to extend the CLI. Command modules import only
`bot.cli.common` and the services they call, never each other; heavy libraries (Rasa, TensorFlow, PyTorch,
scikit-learn) are imported inside handlers so `tandem --help` stays fast.

Errors and exit codes, the same for every command:

- 0: done.
- 1: the command ran but did not do what was asked. A handler either raises `CliError(message)`, which
  `main()` prints once on stderr as `tandem <command>: error: <message>` with the whole command, e.g.
  `tandem agents create: error: ...` (a refusal, an unknown customer or agent, a journey already resolved),
  or prints its normal report on stdout and returns 1 so scripts can tell (rows rejected, problems in a
  workflow file, nothing to suggest, a follow-up not delivered).
- 2: what it was given cannot be used: a bad command line (argparse prints the usage and the error) or
  `CliError(message, code=EXIT_BAD_INPUT)`, e.g. a file it cannot read, a missing model or data set, a count
  out of range.
- 130: stopped with Ctrl-C before anything started (`tandem up`).
- `tandem rasa` returns Rasa's own exit code, `tandem up` the assistant's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bot.cli import (
    agents,
    audit,
    db,
    insights,
    journeys,
    model,
    privacy,
    rasa,
    recs,
    review,
    seed,
    sentiment,
    status,
    up,
    workflows,
)
from bot.cli.common import EXIT_BAD_INPUT, CliError, Handler
from bot.settings import ConfigError

# In the order `tandem --help` lists them.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    db.register,
    seed.register,
    up.register,
    status.register,
    rasa.register,
    sentiment.register,
    model.register,
    recs.register,
    workflows.register,
    journeys.register,
    insights.register,
    review.register,
    agents.register,
    privacy.register,
    audit.register,
]


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
    try:
        return handler(args)
    except CliError as exc:
        print(f"{args.command_name}: error: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:  # e.g. the production profile without its secrets
        print(f"{args.command_name}: error: configuration: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
