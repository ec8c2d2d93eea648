"""`tandem up` and the production profile run the consumer as a supervised worker, each on its own Rasa broker."""

from __future__ import annotations

from pathlib import Path

from bot.production import profile
from bot.production.layout import Layout, Ports
from bot.settings import load_settings
from bot.stack import services


def test_tandem_up_runs_the_consumer_on_the_environments_source(tmp_path: Path):
    settings = load_settings({"TANDEM_STATE_DIR": str(tmp_path), "TANDEM_SECRET_KEY": "x" * 40})
    by_name = {s.name: s for s in services(settings, tmp_path / "model.tar.gz", "endpoints.yml", 5005, 5055)}
    consumer = by_name["insights consumer"]
    assert consumer.health_url is None  # a worker: running is healthy, and the supervisor restarts it
    assert consumer.command[-3:] == ["bot.cli", "insights", "consume"]  # TANDEM_INSIGHTS_SOURCE, else endpoints.yml's
    assert consumer.log == tmp_path / "logs" / "insights-consumer.log"


def test_the_production_profile_consumes_rabbitmq(tmp_path: Path):
    settings = load_settings({"TANDEM_STATE_DIR": str(tmp_path), "TANDEM_SECRET_KEY": "x" * 40})
    layout = Layout(tmp_path / "production", Ports.from_public(18080), "127.0.0.1", "localhost")
    by_name = {s.name: s for s in profile.app_services(settings, layout, tmp_path / "model.tar.gz")}
    assert by_name["insights consumer"].command[-2:] == ["--source", "rabbitmq"]
