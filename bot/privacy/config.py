"""Where a customer's data lives: the shop database, Rasa's tracker store and the recommender's model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataLocations:
    """The stores an export reads and an erasure clears; `tracker_url` "" or `models_dir` None: not kept here."""

    database_url: str
    tracker_url: str = ""
    models_dir: Path | None = None
    secret_key: str = ""  # keys the audit's hash of an erased customer's id (bot.db.models.PrivacyErasure)

    @classmethod
    def from_settings(cls) -> DataLocations:
        """The configured stores (`TANDEM_DATABASE_URL`, the tracker variables, `TANDEM_MODELS_DIR`)."""
        from bot.settings import get_settings

        settings = get_settings()
        return cls(
            database_url=settings.database_url,
            tracker_url=settings.tracker_db_url,
            models_dir=settings.models_dir,
            secret_key=settings.secret_key,
        )
