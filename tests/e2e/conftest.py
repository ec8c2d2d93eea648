"""A real Tandem stack for end-to-end tests: PostgreSQL shop, action server and Rasa server processes."""

from __future__ import annotations

import datetime as dt
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
    env = rasa_env({"TANDEM_DATABASE_URL": postgres_shop, "TANDEM_STATE_DIR": str(workdir)})
    actions_port, rasa_port = free_port(), free_port()
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


