"""Publishing and rolling back across several Rasa servers (the production profile runs two), against stand-ins that
answer Rasa's `PUT /model` and `GET /status` as Rasa 3.6 does; the real server is in tests/e2e/test_model_publish.py.
What is protected: one server at a time, nothing recorded unless every server took the model, the swapped ones put
back when one refuses, a failed check refuses the publish with its reasons, and `tandem model` says all of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from bot.model_release.config import parse_config
from bot.model_release.instances import RasaInstance
from bot.model_release.publish import PublishError, publish, rollback
from bot.model_release.registry import NothingToRollBack, Registry
from bot.model_release.service import Workspace
from tests.model_release.test_registry import a_model, content
from tests.support.background_server import BackgroundServer


@dataclass
class StandIn:
    """One Rasa server: what it serves, and each load it was asked for with when it began and ended."""

    name: str
    serving: str = "tandem-a.tar.gz"
    refuse: set[str] = field(default_factory=set)  # model files it fails to load (HTTP 500, as Rasa does)
    loads: list[tuple[str, float, float]] = field(default_factory=list)
    url: str = ""
    token: str = "tok"  # Rasa's API token: a request without it is refused


@contextmanager
def servers(*stand_ins: StandIn) -> Iterator[list[RasaInstance]]:
    with ExitStack() as stack:
        for stand_in in stand_ins:
            stack.enter_context(_serve(stand_in))
        yield [RasaInstance(s.name, s.url) for s in stand_ins]


@contextmanager
def _serve(stand_in: StandIn) -> Iterator[None]:
    async def put_model(request: web.Request) -> web.Response:
        if request.query.get("token") != stand_in.token:
            return web.json_response({"message": "User is not authenticated."}, status=401)
        model = Path((await request.json())["model_file"])
        started = time.monotonic()
        await asyncio.sleep(0.2)  # loading takes a while
        stand_in.loads.append((model.name, started, time.monotonic()))
        if model.name in stand_in.refuse or not model.exists():
            return web.json_response({"message": f"An unexpected error occurred. {model}"}, status=500)
        stand_in.serving = model.name
        return web.Response(status=204)

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": stand_in.serving, "model_id": "x"})

    app = web.Application()
    app.router.add_put("/model", put_model)
    app.router.add_get("/status", status)
    server = BackgroundServer(app).start()
    stand_in.url = server.url
    try:
        yield
    finally:
        server.stop()


def two_models(tmp_path: Path, check_passed: bool | None = True) -> Registry:
    """tandem-a serves; tandem-b is a candidate whose check passed (or failed, or never ran: None)."""
    registry = Registry(tmp_path)
    for name in ("tandem-a", "tandem-b"):
        registry.register(a_model(tmp_path, name), trained_by="tests")
    registry.record_published("tandem-a", "tandem up")
    if check_passed is not None:
        registry.save_check(
            "tandem-b", {"passed": check_passed, "reasons": [] if check_passed else ["story 'cancel' failed"]}
        )
    return registry


def test_every_server_loads_the_model_one_after_the_other_before_it_is_recorded(tmp_path: Path):
    registry = two_models(tmp_path)
    first, second = StandIn("rasa 1"), StandIn("rasa 2")
    events = []
    with servers(first, second) as instances:
        result = publish(registry, "tandem-b", instances, "tok", by="ana", progress=events.append)
    assert (first.serving, second.serving) == ("tandem-b.tar.gz", "tandem-b.tar.gz")
    [(_, _, first_done)] = first.loads
    [(_, second_began, _)] = second.loads
    assert first_done <= second_began  # never both loading: one always answers
    assert [loaded.instance for loaded in result.loaded] == ["rasa 1", "rasa 2"]
    assert result.previous == "tandem-a" and registry.current().name == "tandem-b"
    assert [e.message for e in events][-1] == "rasa 2 serves tandem-b.tar.gz" and events[-1].fraction == 1.0


def test_a_server_that_refuses_the_model_puts_the_others_back_and_nothing_is_recorded(tmp_path: Path):
    registry = two_models(tmp_path)
    first, second = StandIn("rasa 1"), StandIn("rasa 2", refuse={"tandem-b.tar.gz"})
    with servers(first, second) as instances, pytest.raises(PublishError) as refused:
        publish(registry, "tandem-b", instances, "tok", by="ana")
    assert "rasa 2 did not load tandem-b.tar.gz" in str(refused.value)
    assert "1 server(s) put back on their previous model" in str(refused.value)
    assert (first.serving, second.serving) == ("tandem-a.tar.gz", "tandem-a.tar.gz")
    assert [name for name, _, _ in first.loads] == ["tandem-b.tar.gz", "tandem-a.tar.gz"]
    assert registry.current().name == "tandem-a" and not registry.get("tandem-b").published


@pytest.mark.parametrize(
    "check_passed, why",
    [(False, "failed its check: story 'cancel' failed"), (None, "has not been checked")],
)
def test_a_model_without_a_passed_check_is_not_published(tmp_path: Path, check_passed, why):
    registry = two_models(tmp_path, check_passed)
    server = StandIn("rasa")
    with servers(server) as instances, pytest.raises(PublishError, match=why):
        publish(registry, "tandem-b", instances, "tok", by="ana")
    assert server.loads == [] and registry.current().name == "tandem-a"


def test_a_rollback_loads_the_previous_model_into_every_server_and_then_there_is_nothing_before_it(tmp_path: Path):
    registry = two_models(tmp_path)
    first, second = StandIn("rasa 1"), StandIn("rasa 2")
    with servers(first, second) as instances:
        publish(registry, "tandem-b", instances, "tok", by="ana")
        result = rollback(registry, instances, "tok", by="ana")
        assert (result.model, result.previous) == ("tandem-a", "tandem-b")
        assert (first.serving, second.serving) == ("tandem-a.tar.gz", "tandem-a.tar.gz")
        with pytest.raises(NothingToRollBack):
            rollback(registry, instances, "tok", by="ana")
    assert content(registry.current().path) == "model tandem-a" and registry.get("tandem-b").withdrawn


def test_tandem_model_publish_and_rollback_say_what_each_server_did(tmp_path: Path, capsys):
    from bot.settings import get_settings

    two_models(tmp_path)
    server = StandIn("rasa", token=get_settings().rasa_api_token)
    with servers(server):
        args = ["--models-dir", str(tmp_path), "--rasa-url", server.url]
        assert main(["model", "publish", "tandem-b", *args]) == 0
        out = capsys.readouterr().out
        assert f"rasa at {server.url} loads tandem-b.tar.gz (1 of 1)" in out
        assert "published tandem-b (before: tandem-a)" in out
        assert main(["model", "list", "--models-dir", str(tmp_path)]) == 0
        listing = capsys.readouterr().out.splitlines()
        assert listing[0].startswith("* tandem-b") or listing[1].startswith("* tandem-b")
        assert any(line.startswith("r tandem-a") for line in listing)
        assert main(["model", "rollback", *args]) == 0
        assert "rolled back to tandem-a (before: tandem-b)" in capsys.readouterr().out
        assert main(["model", "rollback", *args]) == 1
        assert "nothing to roll back to" in capsys.readouterr().err
    assert server.serving == "tandem-a.tar.gz"


def test_tandem_model_publish_of_a_failed_model_prints_the_reasons_and_exits_1(tmp_path: Path, capsys):
    two_models(tmp_path, check_passed=False)
    assert (
        main(["model", "publish", "tandem-b", "--models-dir", str(tmp_path), "--rasa-url", "http://127.0.0.1:9"]) == 1
    )
    assert "failed its check: story 'cancel' failed" in capsys.readouterr().err


def test_publishing_with_no_server_running_records_it_for_the_next_start(tmp_path: Path):
    registry = two_models(tmp_path)
    config = parse_config({"registry": {"keep_published": 2, "keep_unpublished": 1}})
    ws = Workspace(tmp_path, tmp_path / "state", "tok", config)
    from bot.model_release.service import publish as publish_model

    _, result = publish_model(ws, "tandem-b", by="ana")
    assert result.loaded == () and registry.current().name == "tandem-b"
