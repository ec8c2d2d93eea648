"""A running action server starts serving a freshly trained personalization model without a restart."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.db.models import BehaviourEvent
from bot.db.session import session_scope
from bot.identity import sign_customer
from bot.personalization import store
from bot.personalization.jobs.recommender_training import train
from bot.shop.customers import customer_pk
from tests.support.rasa_model import rasa_env
from tests.support.servers import action_server_command, free_port, running

pytestmark = pytest.mark.slow

CUSTOMER = "CUST-00011"


def _call(url: str) -> dict[str, Any]:
    metadata = {"customer_token": sign_customer(CUSTOMER)}
    latest = {
        "text": "recommend some headphones",
        "intent": {"name": "ask_recommendation", "confidence": 0.99},
        "entities": [{"entity": "product_category", "value": "headphones"}],
        "metadata": metadata,
    }
    payload = {
        "next_action": "action_recommend_products",
        "sender_id": "live-reload",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "live-reload",
            "slots": {},
            "latest_message": latest,
            "events": [
                {
                    "event": "user",
                    "text": latest["text"],
                    "parse_data": latest,
                    "metadata": metadata,
                    "input_channel": "tandem",
                }
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    response = requests.post(url, json=payload, timeout=30)
    response.raise_for_status()
    return response.json()["responses"][0]


def _impression_strategies(url: str) -> set:
    with session_scope(url) as session:
        cid = customer_pk(session, CUSTOMER)
        return set(
            session.execute(
                select(BehaviourEvent.strategy).where(
                    BehaviourEvent.customer_id == cid, BehaviourEvent.kind == "impression"
                )
            ).scalars()
        )


def test_the_action_server_picks_up_a_published_model_by_itself(postgres_shop, tmp_path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    with session_scope(postgres_shop) as session:
        store.set_consent(session, customer_pk(session, CUSTOMER), True)
    port = free_port()
    env = rasa_env(
        {"TANDEM_DATABASE_URL": postgres_shop, "TANDEM_MODELS_DIR": str(models), "TANDEM_STATE_DIR": str(tmp_path)}
    )
    with running(action_server_command(port), f"http://127.0.0.1:{port}/health", env, tmp_path / "actions.log"):
        webhook = f"http://127.0.0.1:{port}/webhook"
        before = _call(webhook)
        # No model yet: the shop's best sellers, which are not impressions of any strategy.
        assert before["response"] == "utter_recommendations" and "best sellers" in before["products"]
        assert _impression_strategies(postgres_shop) == set()

        with session_scope(postgres_shop) as session:
            train(session, models, progress=False)
        deadline = time.monotonic() + 30
        while not _impression_strategies(postgres_shop):
            assert time.monotonic() < deadline, "the action server never switched to the published model"
            time.sleep(0.5)
            assert _call(webhook)["response"] == "utter_recommendations"
    assert _impression_strategies(postgres_shop) <= {"hybrid", "popularity"}
