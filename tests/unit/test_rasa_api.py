"""Tandem's one client of Rasa's HTTP API, against a small server that answers as Rasa 3.6 does.

The console's use of it (append, events) is covered by tests/console, the scheduler's (trigger_intent) by
tests/journeys/test_scheduler.py; here: replacing the served model, which the sentiment upgrade does on a
first run, and what each caller is told when Rasa refuses or cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot import rasa_api
from bot.rasa_api import RasaUnavailable
from bot.sentiment_upgrade import UpgradeFailed, load_model
from tests.support.background_server import BackgroundServer


@contextmanager
def rasa(status: int = 204) -> Iterator[tuple[str, list[dict]]]:
    """A Rasa stand-in in a thread of its own: PUT /model records what it was asked and answers `status`."""
    calls: list[dict] = []

    async def put_model(request: web.Request) -> web.Response:
        calls.append({"token": request.query.get("token"), "body": await request.json()})
        return web.Response(status=status, text="" if status < 300 else '{"message": "no such file"}')

    app = web.Application()
    app.router.add_put("/model", put_model)
    server = BackgroundServer(app).start()
    try:
        yield server.url, calls
    finally:
        server.stop()


def test_the_model_is_replaced_with_the_token_and_the_file_named(tmp_path: Path):
    model = tmp_path / "tandem-new.tar.gz"
    with rasa() as (url, calls):
        load_model(url + "/", "s3cret", model, timeout=5)
    assert calls == [{"token": "s3cret", "body": {"model_file": str(model)}}]


def test_a_refused_model_is_an_upgrade_failure_that_quotes_rasa(tmp_path: Path):
    with (
        rasa(status=500) as (url, _),
        pytest.raises(UpgradeFailed, match="Rasa did not load the model.*HTTP 500.*no such file"),
    ):
        load_model(url, "s3cret", tmp_path / "missing.tar.gz", timeout=5)


def test_an_unreachable_rasa_is_unavailable_not_a_crash():
    from bot.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RasaUnavailable, match="unreachable"):
        rasa_api.call(url, None, 2, lambda api: api.trigger_intent("conv", "journey_follow_up", {}))
