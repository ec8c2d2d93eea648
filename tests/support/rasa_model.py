"""The project's trained model for the tests, trained once per change of what it is trained from.

CI starts from a clean checkout and trains once for the whole suite; locally the model is reused until
data, config or NLU code change (`bot.training.fingerprint`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

from bot.training import RASA, train_if_changed

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tandem" / "test-models"

__all__ = ["RASA", "ROOT", "rasa_env", "trained_model"]


def rasa_env(extra: Dict[str, str] | None = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    env.update(extra or {})
    return env


def trained_model() -> Path:
    return train_if_changed(CACHE, env=rasa_env(), log=CACHE / "train.log")
