"""A real Tandem stack for tests and benchmarks: a seeded shop, the action server and Rasa, as processes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.db.session import session_scope
from bot.personalization.demo_behaviour import seed_demo_behaviour
from bot.personalization.jobs.recommender_training import train as train_recommenders
from bot.settings import load_settings
from bot.shop.seed import seed_shop
from tests.support.rasa_model import rasa_env, trained_model
from tests.support.servers import action_server_command, free_port, rasa_server_command, running, write_endpoints

__all__ = ["seed_test_shop", "tandem_stack"]


def seed_test_shop(url: str, customers: int = 50) -> None:
    """The demo shop (anchored today, so "late" and "returnable" mean what they say) with demo behaviour."""
    with session_scope(url) as session:
        seed_shop(session, customers=customers, anchor=dt.date.today())
        seed_demo_behaviour(session)


@contextmanager
def tandem_stack(database_url: str, workdir: Path, *, events_db: Path | None = None) -> Iterator[dict[str, Any]]:
    """Rasa (REST and socket channels, HTTP API) and the action server on free ports, on `database_url`.

    Yields what tests need to talk to it; a test may replace `state["actions"]` (a restarted action server),
    and whichever is current is stopped at the end. Rasa's HTTP API takes a token, as in production:
    `state["rasa_token"]`, from the settings of `state["env"]` (which a console started on that env shares).
    With `events_db`, Rasa publishes every event to its SQL event broker in that file (endpoints.yml's default).
    """
    model = trained_model()
    actions_port, rasa_port, console_port = free_port(), free_port(), free_port()
    # Rasa wakes the agent console (when a test starts one, on `console_port`) when a customer writes.
    env = rasa_env(
        {
            "TANDEM_DATABASE_URL": database_url,
            "TANDEM_STATE_DIR": str(workdir),
            "TANDEM_CONSOLE_PORT": str(console_port),
            "TANDEM_CONSOLE_URL": f"http://127.0.0.1:{console_port}",
            "TANDEM_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        }
    )
    endpoints = write_endpoints(workdir / "endpoints.yml", actions_port, workdir / "tracker.db", events_db)
    actions_cmd = action_server_command(actions_port)
    # The action server serves a personalization model trained on this shop (not a developer's models/).
    models_dir = workdir / "models"
    with session_scope(database_url) as session:
        train_recommenders(session, models_dir, progress=False)
    actions_env = dict(env, TANDEM_MODELS_DIR=str(models_dir))
    with running(
        actions_cmd, f"http://127.0.0.1:{actions_port}/health", actions_env, workdir / "actions.log"
    ) as actions:
        with running(
            rasa_server_command(model, rasa_port, endpoints),
            f"http://127.0.0.1:{rasa_port}/webhooks/tandem/",
            env,
            workdir / "rasa.log",
        ):
            state = {
                "url": f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook",
                "rasa_base": f"http://127.0.0.1:{rasa_port}",
                "rasa_token": load_settings(env).rasa_api_token,
                "console_port": console_port,
                "actions": actions,
                "actions_cmd": actions_cmd,
                "actions_health": f"http://127.0.0.1:{actions_port}/health",
                "env": env,
                "actions_env": actions_env,
                "workdir": workdir,
                "database_url": database_url,
            }
            yield state
            if state["actions"] is not actions and state["actions"].poll() is None:
                state["actions"].terminate()
                state["actions"].wait(timeout=20)
