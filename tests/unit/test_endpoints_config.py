"""The endpoint files take their addresses from the environment (Rasa only expands unquoted ${...})."""

from __future__ import annotations

import pytest
from rasa.utils.endpoints import read_endpoint_config

from tests.support.rasa_model import ROOT

ENV = {
    "TANDEM_ACTION_ENDPOINT_URL": "http://actions.internal:5055/webhook",
    "TANDEM_TRACKER_DB": "/var/lib/tandem/trackers.db",
    "TANDEM_TRACKER_DB_HOST": "db.internal",
    "TANDEM_TRACKER_DB_PORT": "5432",
    "TANDEM_TRACKER_DB_NAME": "rasa",
    "TANDEM_TRACKER_DB_USER": "rasa",
    "TANDEM_TRACKER_DB_PASSWORD": "secret",
    "TANDEM_REDIS_HOST": "redis.internal",
    "TANDEM_REDIS_PORT": "6379",
    "TANDEM_BROKER_HOST": "rabbitmq.internal",
    "TANDEM_BROKER_PORT": "5672",
    "TANDEM_BROKER_USER": "tandem",
    "TANDEM_BROKER_PASSWORD": "broker-secret",
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("path", ["endpoints.yml", "config/endpoints.production.yml"])
def test_the_action_server_address_comes_from_the_environment(path: str) -> None:
    assert read_endpoint_config(str(ROOT / path), "action_endpoint").url == ENV["TANDEM_ACTION_ENDPOINT_URL"]


@pytest.mark.parametrize("path", ["endpoints.yml", "config/endpoints.production.yml"])
def test_the_domain_goes_only_to_the_actions_that_read_it(path: str) -> None:
    """Rasa sends its 50 KB domain only to the form validators (validate_*), not with every action call."""
    assert read_endpoint_config(str(ROOT / path), "action_endpoint").kwargs["enable_selective_domain"] is True


def test_the_embedded_tracker_database_lives_where_the_environment_says() -> None:
    assert read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store").kwargs["db"] == ENV["TANDEM_TRACKER_DB"]


def test_production_trackers_and_locks_use_the_configured_servers() -> None:
    trackers = read_endpoint_config(str(ROOT / "config/endpoints.production.yml"), "tracker_store")
    locks = read_endpoint_config(str(ROOT / "config/endpoints.production.yml"), "lock_store")
    assert (trackers.url, trackers.kwargs["password"]) == ("db.internal", "secret")
    assert locks.url == "redis.internal"


def test_production_publishes_every_event_to_rabbitmq() -> None:
    broker = read_endpoint_config(str(ROOT / "config/endpoints.production.yml"), "event_broker")
    assert broker.type == "pika" and broker.url == "rabbitmq.internal"
    assert (broker.kwargs["port"], broker.kwargs["username"], broker.kwargs["password"]) == (
        "5672",
        "tandem",
        "broker-secret",
    )
    assert broker.kwargs["queues"] == ["tandem_events"]
