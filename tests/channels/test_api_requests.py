"""The checks in front of Rasa's HTTP API, without a server: what Tandem's own clients send passes, and the cases
that need care (nesting, surrogates escaped in YAML, YAML aliases, what Rasa itself also takes) are decided right.
Against the real Rasa: tests/e2e/test_rasa_api_validation.py."""

from __future__ import annotations

import uuid

import pytest
from sanic import Sanic

from bot.channels.api_requests import MAX_DEPTH, BadRequest, _read_yaml, check, validate_api_request
from bot.channels.signed_rest import TandemInput
from bot.channels.socket import TandemSocketInput
from bot.handoff.agent_events import agent_message, bot_notice, listen, pause, resume, set_slot

ACTIONS = {"action_listen", "utter_greet", "feedback_form"}


def test_what_the_console_and_the_scheduler_send_passes():
    events = [pause(), agent_message("Hi, Ann here", "Ann"), bot_notice(None, {"type": "csat"}), resume(), listen()]
    check("append_events", [*events, set_slot("handoff_reason", None)], ACTIONS)
    check("trigger_intent", {"name": "journey_follow_up", "entities": {"journey_id": 1, "follow_up_id": 2}}, ACTIONS)
    check("load_model", {"model_file": "/models/tandem.tar.gz"}, ACTIONS)


@pytest.mark.parametrize(
    ("handler", "body"),
    [
        ("parse", {"text": ["hello"]}),  # the NLU emulators' format: Rasa parses the first text
        ("append_events", {"event": "active_loop", "name": None}),  # a loop ends
        ("append_events", {"event": "active_loop", "name": "feedback_form"}),
        ("execute_action", {"name": "utter_greet", "confidence": None, "policy": None}),
        ("add_message", {"text": "hi", "sender": "user", "parse_data": {}}),  # empty: Rasa parses the text
        ("append_events", {"event": "action", "name": "anything"}),  # no model loaded: Rasa answers 409 itself
    ],
)
def test_what_rasa_takes_and_handles_passes(handler, body):
    check(handler, body, None if body.get("name") == "anything" else ACTIONS)


def test_nesting_is_limited_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(BadRequest, match=f"more than {MAX_DEPTH} levels"):
        check("append_events", deep, ACTIONS)
    shallow: list = [{"event": "pause"}]
    for _ in range(MAX_DEPTH - 2):  # the innermost event object exactly at the limit
        shallow = [shallow]
    with pytest.raises(BadRequest, match="Event 1 is not a JSON object"):  # deep enough to be read, still no event
        check("append_events", shallow, ACTIONS)


def test_yaml_reads_escaped_pairs_as_rasa_does_and_refuses_lone_surrogates():
    assert _read_yaml(b'text: "hi \\ud83d\\ude00"') == {"text": "hi \U0001f600"}
    with pytest.raises(BadRequest, match="lone surrogate"):
        _read_yaml(b'text: "hi \\ud83d"')
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        _read_yaml(b"text: \xff")


def test_yaml_aliases_are_walked_once():
    layers = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    layers += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    body = _read_yaml("\n".join(layers).encode())  # nine to the ninth values when expanded
    check("train", body, ACTIONS, yaml=True)


def test_both_channels_register_the_checks_on_rasas_app_once():
    async def on_message(_message) -> None:
        return None

    app = Sanic(f"api-requests-{uuid.uuid4().hex}")
    app.blueprint(TandemInput().blueprint(on_message), url_prefix="/webhooks/tandem")
    app.blueprint(TandemSocketInput().blueprint(on_message), url_prefix="/webhooks/tandem_socket")
    assert list(app.request_middleware).count(validate_api_request) == 1
