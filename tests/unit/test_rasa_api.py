"""Tandem's one client of Rasa's HTTP API, against a small server that answers as Rasa 3.6 does.

The console's use of it (append, events) is covered by tests/console, the scheduler's (trigger_intent) by
tests/journeys/test_scheduler.py; here: replacing the served model, which a publish (bot.model_release, also the
sentiment upgrade's) does, and what each caller is told when Rasa refuses or cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot import rasa_api
from bot.model_release.instances import InstanceFailed, RasaInstance, load_model
from bot.rasa_api import RasaUnavailable
from tests.support.background_server import BackgroundServer


@contextmanager
def rasa(status: int = 204) -> Iterator[tuple[str, list[dict]]]:
    """A Rasa stand-in in a thread of its own: PUT /model records what it was asked and answers `status`; GET
    /status names the model it serves, as Rasa does (the file's name)."""
    calls: list[dict] = []
    serving = {"model_file": "tandem-old.tar.gz"}

    async def put_model(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append({"token": request.query.get("token"), "body": body})
        if status < 300:
            serving["model_file"] = Path(body["model_file"]).name
        return web.Response(status=status, text="" if status < 300 else '{"message": "no such file"}')

    async def get_status(request: web.Request) -> web.Response:
        return web.json_response(serving)

    app = web.Application()
    app.router.add_put("/model", put_model)
    app.router.add_get("/status", get_status)
    server = BackgroundServer(app).start()
    try:
        yield server.url, calls
    finally:
        server.stop()


def test_the_model_is_replaced_with_the_token_and_the_file_named(tmp_path: Path):
    model = tmp_path / "tandem-new.tar.gz"
    with rasa() as (url, calls):
        load_model(RasaInstance("rasa", url + "/"), "s3cret", model, timeout=5)
    assert calls == [{"token": "s3cret", "body": {"model_file": str(model)}}]


def test_a_refused_model_is_a_failure_that_names_the_server_and_quotes_rasa(tmp_path: Path):
    with (
        rasa(status=500) as (url, _),
        pytest.raises(InstanceFailed, match="rasa 2 did not load missing.tar.gz.*HTTP 500.*no such file"),
    ):
        load_model(RasaInstance("rasa 2", url), "s3cret", tmp_path / "missing.tar.gz", timeout=5)


def test_an_unreachable_rasa_is_unavailable_not_a_crash():
    from bot.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RasaUnavailable, match="unreachable"):
        rasa_api.call(url, None, 2, lambda api: api.trigger_intent("conv", "journey_follow_up", {}))
