"""The endpoint files take their addresses from the environment (Rasa only expands unquoted ${...})."""

from __future__ import annotations

import pytest
from rasa.utils.endpoints import read_endpoint_config

from tests.support.rasa_model import ROOT

ENV = {
    "TANDEM_ACTION_ENDPOINT_URL": "http://actions.internal:5055/webhook",
    "TANDEM_TRACKER_DB": "/var/lib/tandem/trackers.db",
    "TANDEM_EVENTS_DB": "/var/lib/tandem/events.db",
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


def test_the_embedded_event_broker_is_rasas_sql_broker_in_a_file_of_its_own() -> None:
    """Both Rasa's tracker store and its SQL event broker name their table `events`: two files, never one."""
    broker = read_endpoint_config(str(ROOT / "endpoints.yml"), "event_broker")
    assert broker.type == "SQL" and broker.kwargs["dialect"] == "sqlite"
    assert broker.kwargs["db"] == ENV["TANDEM_EVENTS_DB"] != ENV["TANDEM_TRACKER_DB"]


def test_the_consumer_reads_the_queue_and_database_rasa_writes() -> None:
    from bot.insights.config import InsightsConfig

    config = InsightsConfig.from_env(ENV, ROOT)
    production = read_endpoint_config(str(ROOT / "config/endpoints.production.yml"), "event_broker")
    assert [config.queue] == production.kwargs["queues"]
    assert config.events_db_url == f"sqlite:///{ENV['TANDEM_EVENTS_DB']}"
    assert config.amqp_url == "amqp://tandem:broker-secret@rabbitmq.internal:5672/"


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
