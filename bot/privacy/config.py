"""Where a customer's data lives: the shop database, Rasa's tracker store, Rasa's SQL event broker (the events not
yet counted by the insights consumer) and the recommender's model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLocations:
    """The stores an export reads and an erasure clears; `tracker_url` or `events_url` "", `models_dir` None: not
    kept here."""

    database_url: str
    tracker_url: str = ""
    models_dir: Path | None = None
    secret_key: str = ""  # keys the audit's hash of an erased customer's id (bot.db.models.PrivacyErasure)
    events_url: str = ""  # Rasa's SQL event broker (endpoints.yml): events waiting for the insights consumer

    @classmethod
    def from_settings(cls) -> DataLocations:
        """The configured stores (`TANDEM_DATABASE_URL`, the tracker and event broker variables,
        `TANDEM_MODELS_DIR`)."""
        import os

        from bot.insights.config import events_db_url
        from bot.settings import get_settings

        settings = get_settings()
        return cls(
            database_url=settings.database_url,
            tracker_url=settings.tracker_db_url,
            models_dir=settings.models_dir,
            secret_key=settings.secret_key,
            events_url=events_db_url(os.environ, settings.state_dir),
        )
