"""An Accept header that Sanic cannot parse no longer turns Rasa's 404s, 405s and 400s into 500s."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sanic import Sanic
from sanic.compat import Header
from sanic.errorpages import TextRenderer, exception_response
from sanic.exceptions import InvalidHeader, NotFound
from sanic.request import Request

from bot.channels.accept import ignore_malformed_accept
from bot.channels.signed_rest import TandemInput
from bot.channels.socket import TandemSocketInput


@pytest.fixture
def app() -> Sanic:
    return Sanic(f"accept-{uuid.uuid4().hex}")


def _request(app: Sanic, accept: str) -> Request:
    return Request(b"/nowhere", Header({"accept": accept}), "1.1", "GET", None, app)


@pytest.mark.parametrize("accept", ["x", "*", "text/*;q=abc", "text/html;q=2", "text/html;charset", "q=1", "é"])
def test_an_accept_header_sanic_cannot_parse_counts_as_none_and_the_error_keeps_its_status(app, accept):
    with pytest.raises((InvalidHeader, ValueError)):
        _ = _request(app, accept).accept  # what made Sanic's error page fail, so a 404 became a 500
    request = _request(app, accept)
    asyncio.run(ignore_malformed_accept(request))
    assert list(request.accept) == []
    assert exception_response(request, NotFound("nothing here"), False, "auto", TextRenderer).status == 404


def test_a_valid_accept_header_is_left_as_it_is(app):
    request = _request(app, "application/json, text/plain;q=0.5, */*;q=0.1")
    asyncio.run(ignore_malformed_accept(request))
    assert [str(a) for a in request.accept][:2] == ["application/json", "text/plain;q=0.5"]


def test_both_channels_register_it_on_rasas_app_once(app):
    async def on_message(_message) -> None:
        return None

    app.blueprint(TandemInput().blueprint(on_message), url_prefix="/webhooks/tandem")
    app.blueprint(TandemSocketInput().blueprint(on_message), url_prefix="/webhooks/tandem_socket")
    assert list(app.request_middleware).count(ignore_malformed_accept) == 1
