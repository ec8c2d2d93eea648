"""A real Tandem stack for end-to-end tests: PostgreSQL shop, action server and Rasa server processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DatabaseFactory
from tests.support.servers import free_port, running, wait_until_up
from tests.support.stack import seed_test_shop, tandem_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def postgres_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    factory = DatabaseFactory("postgresql", tmp_path_factory.mktemp("e2e-db"))
    url = factory.create()
    seed_test_shop(url, customers=50)
    yield url
    factory.close()


@pytest.fixture(scope="package")
def stack(postgres_shop: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with tandem_stack(postgres_shop, tmp_path_factory.mktemp("e2e")) as state:
        yield state


@pytest.fixture(scope="package")
def shop_page(stack) -> Iterator[str]:
    """The demo shop page with the widget, talking to the stack's Rasa."""
    port = free_port()
    env = dict(stack["env"], TANDEM_WEB_PORT=str(port), TANDEM_RASA_PUBLIC_URL=stack["rasa_base"])
    with running(
        [sys.executable, "-m", "bot.web.shop_site"],
        f"http://127.0.0.1:{port}/healthz",
        env,
        stack["workdir"] / "shop.log",
    ):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="package")
def console(stack) -> Iterator[str]:
    """The agent console, on the port Rasa wakes when a customer writes during a handoff."""
    port = stack["console_port"]
    with running(
        [sys.executable, "-m", "bot.console"],
        f"http://127.0.0.1:{port}/healthz",
        stack["env"],
        stack["workdir"] / "console.log",
    ):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def actions_down(stack: dict[str, Any]) -> Iterator[None]:
    """The stack's action server stopped for the block, then started again so the rest of the package is unaffected."""
    stack["actions"].terminate()
    stack["actions"].wait(timeout=20)
    try:
        yield
    finally:
        log_path = stack["workdir"] / "actions-restarted.log"
        with log_path.open("a") as out:  # the child keeps its own copy of the file
            process = subprocess.Popen(
                stack["actions_cmd"],
                cwd=Path(__file__).resolve().parents[2],
                env=stack["actions_env"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(stack["actions_health"], process, log_path)
        stack["actions"] = process
