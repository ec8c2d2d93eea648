"""Sentiment through the real stack: the trained Rasa model with the small sentiment model inside it."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Handoff
from bot.db.session import session_scope
from bot.domain_files import load_domain
from bot.identity import sign_customer
from tests.e2e.test_rest_end_to_end import an_order, say, texts
from tests.support.rasa_model import ROOT

pytestmark = pytest.mark.slow

UNHAPPY = [
    "my internet is not working again, this is terrible",
    "it still doesn't work, this is awful and I'm furious",
    "still broken, worst service ever, I hate this",
]


def get_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def negative_variants(response: str) -> set:
    domain = load_domain(ROOT / "domain")
    return {
        v["text"]
        for v in domain["responses"][response]
        if any(c.get("name") == "sentiment" and c.get("value") == "negative" for c in v.get("condition", []))
    }


def test_model_parse_shows_each_messages_sentiment(stack):
    parsed = get_json(f"{stack['rasa_base']}/model/parse?token={stack['rasa_token']}", {"text": UNHAPPY[1]})
    assert parsed["sentiment"]["label"] == "negative"
    assert parsed["sentiment"]["score"] < -0.3
    happy = get_json(
        f"{stack['rasa_base']}/model/parse?token={stack['rasa_token']}", {"text": "thank you so much, that was great!"}
    )
    assert happy["sentiment"]["label"] == "positive"


def test_unhappy_customers_get_empathy_then_the_offer_of_a_person(stack, postgres_shop):
    # A visitor who is not signed in: no issue journey can start, so the generic answer (and its empathetic
    # variant) is what they get. Signed-in customers' journeys: tests/e2e/test_journeys_end_to_end.py.
    token = None
    sender = "e2e-sentiment-streak"
    _, reply = say(stack["url"], sender, UNHAPPY[0], token)
    assert texts(reply) in negative_variants("utter_report_problem")
    _, reply = say(stack["url"], sender, UNHAPPY[1], token)
    assert not any(m.get("buttons") for m in reply)
    _, reply = say(stack["url"], sender, UNHAPPY[2], token)
    offer = reply[-1]
    assert [b["payload"] for b in offer["buttons"]] == ["/ask_human", "/deny"]
    _, reply = say(stack["url"], sender, "/ask_human", token)
    # Accepting starts a handoff for the streak: queued for a person, or a promised follow-up when nobody is
    # online (which depends on the other tests' agents); either way the record is stored with the reason.
    assert any((m.get("custom") or {}).get("type") == "handoff" for m in reply), reply
    with session_scope(postgres_shop) as session:
        handoff = session.execute(select(Handoff).where(Handoff.conversation_id == sender)).scalar_one()
    assert handoff.reason == "negative_streak" and handoff.status in ("waiting", "follow_up")
    assert handoff.sentiment < -0.3

    tracker = get_json(f"{stack['rasa_base']}/conversations/{sender}/tracker?token={stack['rasa_token']}")
    assert tracker["slots"]["handoff_reason"] == "negative_streak"
    assert tracker["slots"]["sentiment_trend"]["negative_streak"] == 3
    assert tracker["slots"]["sentiment_trend"]["worst"] < -0.3


def test_each_messages_sentiment_is_stored_with_the_conversation(stack, postgres_shop):
    customer, _ = an_order(postgres_shop, "delivered")
    sender = "e2e-sentiment-stored"
    for text in ("hello", UNHAPPY[2]):
        status, _ = say(stack["url"], sender, text, sign_customer(customer))
        assert status == 200
    with sqlite3.connect(stack["workdir"] / "tracker.db") as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    stored = [json.loads(data)["parse_data"]["sentiment"] for (data,) in rows]
    assert len(stored) == 2
    assert stored[1]["label"] == "negative"
    assert all({"label", "score", "confidence"} <= set(s) for s in stored)
