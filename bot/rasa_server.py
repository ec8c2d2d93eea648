"""`rasa run` with its HTTP API token taken from the settings rather than the command line, where `ps` shows it
to every user of the machine."""

from __future__ import annotations

import sys

from bot.settings import get_settings


def main(argv: list[str]) -> int:
    """`python -m bot.rasa_server --model ... --enable-api ...`: Rasa's own `rasa run` with `--auth-token` added
    inside the process (its arguments as `ps` lists them never hold the token)."""
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "run", *argv, "--auth-token", get_settings().rasa_api_token]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
