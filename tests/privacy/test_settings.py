"""Where the privacy commands find Rasa's tracker store, and the retention setting, read from the same
variables the endpoints files read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, retention_days, tracker_db_url


def test_the_embedded_tracker_is_the_sqlite_file_endpoints_yml_names(tmp_path: Path):
    assert tracker_db_url({}, tmp_path) == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    assert tracker_db_url({"TANDEM_TRACKER_DB": "/var/lib/t.db"}, tmp_path) == "sqlite:////var/lib/t.db"


def test_the_production_tracker_is_postgresql_from_its_variables(tmp_path: Path):
    env = {
        "TANDEM_TRACKER_DB_HOST": "db.internal",
        "TANDEM_TRACKER_DB_PORT": "5433",
        "TANDEM_TRACKER_DB_NAME": "rasa",
        "TANDEM_TRACKER_DB_USER": "rasa",
        "TANDEM_TRACKER_DB_PASSWORD": "p@ss/word",
    }
    assert tracker_db_url(env, tmp_path) == "postgresql+psycopg2://rasa:p%40ss%2Fword@db.internal:5433/rasa"
    assert tracker_db_url({**env, "TANDEM_TRACKER_DB_URL": "sqlite://"}, tmp_path) == "sqlite://"


def test_retention_is_off_by_default_and_a_bad_value_names_the_variable():
    assert retention_days({}) is None and retention_days({"TANDEM_CONVERSATION_RETENTION_DAYS": "0"}) is None
    assert retention_days({"TANDEM_CONVERSATION_RETENTION_DAYS": "90"}) == 90
    with pytest.raises(ConfigError, match="TANDEM_CONVERSATION_RETENTION_DAYS"):
        retention_days({"TANDEM_CONVERSATION_RETENTION_DAYS": "soon"})
