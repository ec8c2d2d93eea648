"""The project's trained model for the tests, trained once per change of what it is trained from.

CI starts from a clean checkout and trains once for the whole suite; locally the model is reused until
data, config or NLU code change (`bot.training.fingerprint`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from bot.processes import runtime_env
from bot.training import RASA, train_if_changed

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tandem" / "test-models"

__all__ = ["RASA", "ROOT", "rasa_env", "trained_model"]


def rasa_env(extra: Dict[str, str] | None = None) -> Dict[str, str]:
    return runtime_env(extra)


def trained_model() -> Path:
    return train_if_changed(CACHE, env=rasa_env(), log=CACHE / "train.log")
