"""A real Tandem stack for end-to-end tests: PostgreSQL shop, action server and Rasa server processes."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from bot.db.session import session_scope
from bot.personalization.demo import seed_demo_behaviour
from bot.personalization.training import train as train_recommenders
from bot.shop.seed import seed_shop
from tests.conftest import DatabaseFactory
from tests.support.rasa_model import rasa_env, trained_model
from tests.support.servers import (
    action_server_command,
    free_port,
    rasa_server_command,
    running,
    write_endpoints,
)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="package")
def postgres_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    factory = DatabaseFactory("postgresql", tmp_path_factory.mktemp("e2e-db"))
    url = factory.create()
    with session_scope(url) as session:
        seed_shop(session, customers=50, anchor=dt.date.today())
        seed_demo_behaviour(session)
    yield url
    factory.close()


@pytest.fixture(scope="package")
def stack(postgres_shop: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("e2e")
    model = trained_model()
    actions_port, rasa_port, console_port = free_port(), free_port(), free_port()
    # Rasa wakes the agent console (when a test starts one, on `console_port`) when a customer writes.
    env = rasa_env({"TANDEM_DATABASE_URL": postgres_shop, "TANDEM_STATE_DIR": str(workdir),
                    "TANDEM_CONSOLE_PORT": str(console_port),
                    "TANDEM_CONSOLE_URL": f"http://127.0.0.1:{console_port}",
                    "TANDEM_RASA_URL": f"http://127.0.0.1:{rasa_port}"})
    endpoints = write_endpoints(workdir / "endpoints.yml", actions_port, workdir / "tracker.db")
    actions_cmd = action_server_command(actions_port)
    # The action server serves a personalization model trained on this shop (not a developer's models/).
    models_dir = workdir / "models"
    with session_scope(postgres_shop) as session:
        train_recommenders(session, models_dir, progress=False)
    actions_env = dict(env, TANDEM_MODELS_DIR=str(models_dir))
    with running(actions_cmd, f"http://127.0.0.1:{actions_port}/health", actions_env, workdir / "actions.log") as actions:
        with running(rasa_server_command(model, rasa_port, endpoints), f"http://127.0.0.1:{rasa_port}/webhooks/tandem/", env, workdir / "rasa.log"):
            state = {
                "url": f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook",
                "rasa_base": f"http://127.0.0.1:{rasa_port}",
                "console_port": console_port,
                "actions": actions,
                "actions_cmd": actions_cmd,
                "actions_health": f"http://127.0.0.1:{actions_port}/health",
                "env": env,
                "actions_env": actions_env,
                "workdir": workdir,
            }
            yield state
            # A test may have replaced the action server process; stop whichever is current.
            if state["actions"] is not actions and state["actions"].poll() is None:
                state["actions"].terminate()
                state["actions"].wait(timeout=20)




@pytest.fixture(scope="package")
def shop_page(stack) -> Iterator[str]:
    """The demo shop page with the widget, talking to the stack's Rasa."""
    port = free_port()
    env = dict(stack["env"], TANDEM_WEB_PORT=str(port), TANDEM_RASA_PUBLIC_URL=stack["rasa_base"])
    with running([sys.executable, "-m", "bot.web.shop_site"], f"http://127.0.0.1:{port}/healthz", env,
                 stack["workdir"] / "shop.log"):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="package")
def console(stack) -> Iterator[str]:
    """The agent console, on the port Rasa wakes when a customer writes during a handoff."""
    port = stack["console_port"]
    with running([sys.executable, "-m", "bot.console"], f"http://127.0.0.1:{port}/healthz", stack["env"],
                 stack["workdir"] / "console.log"):
        yield f"http://127.0.0.1:{port}"
