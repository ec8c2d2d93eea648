"""Rasa's own command line as Tandem runs it: `run` takes the HTTP API token from the settings (never from the
command line, where `ps` shows it to every user) and stores every conversation or fails the message (never
one process's memory), and no command warns about responses that only actions send."""

from __future__ import annotations

import re
import sys


def _expect_action_responses() -> None:
    """Add each response that actions send to Rasa's list of expected warnings, which Rasa filters out itself
    (`rasa.utils.common.EXPECTED_WARNINGS`): exactly those warnings, so a response nobody sends is still reported."""
    from rasa.utils.common import EXPECTED_WARNINGS

    from bot.action_responses import sent_by_actions, unused_response_warning

    EXPECTED_WARNINGS.extend(
        (UserWarning, re.escape(unused_response_warning(name))) for name in sorted(sent_by_actions())
    )


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store could not be read or written; the message fails, and its sender retries it."""


def persist_or_fail() -> None:
    """Rasa wraps every tracker store in `FailSafeTrackerStore`: on a database error it keeps the conversation in
    this one process's memory (on a read, it even starts the conversation afresh) while the channel acknowledges
    the message, so the message never reaches the database and other instances never see it. Tandem acknowledges
    only what is stored: the error goes on to the channel, which answers 503, and the widget sends it again."""
    from rasa.core import agent
    from rasa.core.tracker_store import FailSafeTrackerStore

    class PersistOrFail(FailSafeTrackerStore):
        def on_tracker_store_error(self, error: Exception) -> None:
            raise TrackerStoreUnavailable(f"the tracker store failed: {error}") from error

        def on_tracker_store_retrieve_error(self, error: Exception) -> None:
            raise TrackerStoreUnavailable(f"the tracker store could not be read: {error}") from error

    agent.FailSafeTrackerStore = PersistOrFail


def main(argv: list[str]) -> int:
    """`python -m bot.rasa_cli train ...`, `... data validate`, `... test core|nlu ...`, `... run --model ...`."""
    arguments = list(argv)
    settings = None
    if arguments[:1] == ["run"]:
        from bot.settings import settings_or_exit

        # Both servers hold secrets (the API token; the key that verifies customers): the production profile's
        # check runs before either starts, before Rasa is even imported.
        settings = settings_or_exit()
    from rasa.__main__ import main as rasa_main

    _expect_action_responses()
    if arguments[:1] == ["run"]:
        persist_or_fail()
    if settings is not None and arguments[1:2] != ["actions"]:
        arguments += ["--auth-token", settings.rasa_api_token]
    # Rasa's default domain is `domain.yml`; Tandem's is the `domain/` folder (one file per topic). `test core`
    # takes the domain from the model and refuses the option.
    if (
        arguments[:1] in (["train"], ["data"], ["test"], ["interactive"])
        and arguments[:2] != ["test", "core"]
        and not any(a == "--domain" or a.startswith("--domain=") or a == "-d" for a in arguments)
    ):
        arguments += ["--domain", "domain"]
    sys.argv = ["rasa", *arguments]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
