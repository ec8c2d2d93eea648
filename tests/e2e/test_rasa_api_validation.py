"""Rasa's HTTP API, run as production runs it (token, real model): bodies that Rasa's own handlers answer with a 500
get a 400 in Rasa's error shape that says what is wrong (bot/channels/api_requests.py); the same requests without
the token are still refused with a 401; and what Tandem's own clients send (the console's events, the scheduler's
trigger_intent) and other well-formed requests still work, before and after a refused one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from bot import rasa_api
from bot.handoff.agent_events import bot_notice, listen, pause, resume, set_slot
from bot.journeys.store.views import FOLLOW_UP_INTENT

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}
USER = {
    "event": "user",
    "text": "hello",
    "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
}
NESTED = b"[" * 1000 + b"]" * 1000


def _raw(value: Any) -> bytes:
    """JSON as a broken client writes it: a lone surrogate as raw (invalid UTF-8) bytes."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# (method, path after /conversations/<id>/ or from the root, body, what the 400 says)
REFUSED = [
    ("POST", "tracker/events", b"[]", "holds no event"),
    ("POST", "tracker/events", NESTED, "nested more than 32 levels"),
    ("POST", "tracker/events", _raw([{"event": "user", "text": "hi"}]), 'needs "parse_data"'),
    ("POST", "tracker/events", _raw([{"event": "action"}]), "the name of an action is missing"),
    ("POST", "tracker/events", _raw([{"event": "action", "name": "action_nope"}]), '"action_nope" is no action'),
    ("POST", "tracker/events", _raw([{"event": "active_loop", "name": "no_form"}]), '"no_form" is no action'),
    ("POST", "tracker/events", _raw([{"event": "bot", "text": "\ud800"}]), "lone surrogate"),
    ("POST", "tracker/events", b'[{"event": "bot", "text": "\\udfff"}]', "lone surrogate"),
    ("PUT", "tracker/events", _raw(USER), "must be a list of events"),
    ("POST", "execute", b"", "must be a JSON object"),
    ("POST", "execute", _raw({"name": "action_nope"}), '"action_nope" is no action'),
    ("POST", "execute", _raw({"name": "utter_greet", "confidence": "high"}), '"confidence" must be a number'),
    ("POST", "trigger_intent", _raw(["greet"]), "must be a JSON object"),
    ("POST", "trigger_intent", _raw({"name": 5}), '"name" must be a string'),
    ("POST", "trigger_intent", _raw({"name": "greet", "entities": [1, "a"]}), '"entities" must be'),
    ("POST", "messages", _raw({"text": 5, "sender": "user"}), '"text" must be a string'),
    ("POST", "messages", _raw({"text": "hi", "sender": "bot"}), '"sender" must be "user"'),
    ("POST", "messages", _raw({"text": "hi", "sender": "user", "parse_data": {"intent": "greet"}}), "parse_data"),
    ("POST", "messages", _raw({"text": "\ud83d", "sender": "user"}), "lone surrogate"),
    ("POST", "/model/parse", b'{"text": ', "not JSON"),
    ("POST", "/model/parse", _raw(["hello"]), "must be a JSON object"),
    ("POST", "/model/parse", _raw({"message": "hello"}), '"text" must be a string'),
    ("POST", "/model/parse", _raw({"text": 5}), '"text" must be a string'),
    ("POST", "/model/predict", _raw([{"event": "action", "name": "action_nope"}]), '"action_nope" is no action'),
    ("POST", "/model/predict", _raw({"event": "pause"}), "must be a list of events"),
    ("PUT", "/model", _raw(["/models/x.tar.gz"]), "must be a JSON object"),
    ("POST", "/model/test/intents", _raw({"common_examples": []}), "not NLU data in Rasa's JSON format"),
]


def _url(stack: dict[str, Any], path: str, conversation: str) -> str:
    return stack["rasa_base"] + (path if path.startswith("/") else f"/conversations/{conversation}/{path}")


def _token(stack: dict[str, Any]) -> dict[str, str]:
    return {"token": stack["rasa_token"]}


@pytest.mark.parametrize(("method", "path", "body", "says"), REFUSED, ids=[f"{m} {p}: {s}" for m, p, _, s in REFUSED])
def test_a_body_rasa_would_fail_on_gets_a_400_that_says_why(stack, method, path, body, says):
    conversation = f"validation-{uuid.uuid4().hex}"
    url = _url(stack, path, conversation)
    reply = requests.request(method, url, params=_token(stack), data=body, headers=JSON, timeout=60)
    assert reply.status_code == 400, reply.text[:300]
    error = reply.json()
    assert error["status"] == "failure" and error["reason"] == "BadRequest" and error["code"] == 400
    assert error["version"]
    assert says in error["message"]
    # Without the token Rasa refuses it, as before: the check runs only for requests Rasa would serve.
    assert requests.request(method, url, data=body, headers=JSON, timeout=60).status_code == 401


YAML_REFUSED = [
    (
        "/model/test/intents",
        b'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - \xff\xfe\n',
        "not valid UTF-8",
    ),
    (
        "/model/test/intents",
        b'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - "\\ud800"\n',
        "lone surrogate",
    ),
    # Rasa reads these as an empty mapping, which its schema passes, and then fails on them.
    ("/model/test/intents", b"0", "must be a YAML mapping"),
    ("/model/train", b"false", "must be a YAML mapping"),
    ("/model/train", b"\xff", "not valid UTF-8"),
]


@pytest.mark.parametrize(("path", "body", "says"), YAML_REFUSED, ids=[f"{p}: {s}" for p, _, s in YAML_REFUSED])
def test_yaml_training_or_test_data_rasa_would_fail_on_gets_a_400(stack, path, body, says):
    url, yaml = stack["rasa_base"] + path, {"Content-Type": "application/x-yaml"}
    reply = requests.post(url, params=_token(stack), data=body, headers=yaml, timeout=60)
    assert reply.status_code == 400, reply.text[:300]
    assert reply.json()["reason"] == "BadRequest" and says in reply.json()["message"]
    assert requests.post(url, data=body, headers=yaml, timeout=60).status_code == 401


def _ok(reply: requests.Response) -> Any:
    assert reply.status_code == 200, reply.text[:300]
    return reply.json() if reply.headers.get("Content-Type", "").startswith("application/json") else reply.text


def test_what_tandems_clients_send_still_works_after_a_refused_request(stack):
    conversation = f"validation-{uuid.uuid4().hex}"
    base, token = stack["rasa_base"], stack["rasa_token"]
    refused = requests.post(
        _url(stack, "tracker/events", conversation),
        params=_token(stack),
        json=[{"event": "action", "name": "action_nope"}],
        timeout=60,
    )
    assert refused.status_code == 400
    # The console: an agent joins, writes, and hands the conversation back (bot.console.api, bot.console.delivery).
    events = [
        pause(),
        bot_notice("Ann from our team has joined the chat.", {"type": "handoff", "status": "assigned"}),
        resume(),
        listen(),
        set_slot("handoff_reason", None),
    ]
    rasa_api.call(base, token, 60, lambda api: api.append(conversation, events))
    stored = rasa_api.call(base, token, 60, lambda api: api.events(conversation))
    assert "Ann from our team has joined the chat." in [e.get("text") for e in stored]
    assert not any(e.get("name") == "action_nope" for e in stored)
    # The follow-up scheduler (bot.journeys.scheduler): an intent with its ids as entities, as an object.
    entities = {"journey_id": 999_999, "follow_up_id": 999_999}
    rasa_api.call(base, token, 60, lambda api: api.trigger_intent(conversation, FOLLOW_UP_INTENT, entities))
    # The conversation can still be predicted on and written out as a story.
    assert _ok(requests.post(_url(stack, "predict", conversation), params=_token(stack), timeout=60))["scores"]
    assert "steps" in _ok(requests.get(_url(stack, "story", conversation), params=_token(stack), timeout=60))


def test_well_formed_requests_of_every_checked_kind_still_work(stack):
    conversation = f"validation-{uuid.uuid4().hex}"
    params = _token(stack)

    def post(path: str, body: Any, method: str = "POST") -> Any:
        return _ok(requests.request(method, _url(stack, path, conversation), params=params, json=body, timeout=120))

    post("tracker/events", [{"event": "action", "name": "action_listen"}, USER], method="PUT")
    post("tracker/events", {"event": "slot", "name": "handoff_reason", "value": None})
    post("tracker/events", [{"event": "action", "name": "utter_greet", "policy": "p", "confidence": 0.9}])
    post("execute", {"name": "utter_greet", "policy": "manual", "confidence": 1})
    post("trigger_intent", {"name": "greet", "entities": [{"entity": "product_sku", "value": "PHN-0001"}]})
    post("messages", {"text": "hello", "sender": "user"})
    post("messages", {"text": "hello", "sender": "user", "parse_data": {**USER["parse_data"], "text": "hello"}})
    assert post("/model/parse", {"text": "where is my order?"})["intent"]["name"]
    assert post("/model/parse", {"text": ["hello"]})["text"] == "hello"
    assert post("/model/predict", [{"event": "action", "name": "action_listen"}, USER])["scores"]
    examples = {"rasa_nlu_data": {"common_examples": [{"text": "hello there", "intent": "greet", "entities": []}]}}
    assert "intent_evaluation" in post("/model/test/intents", examples)
    test_set = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello there \\ud83d\\ude00\n'
    reply = requests.post(
        stack["rasa_base"] + "/model/test/intents",
        params=params,
        data=test_set.encode(),
        headers={"Content-Type": "application/x-yaml"},
        timeout=120,
    )
    assert "intent_evaluation" in _ok(reply)
