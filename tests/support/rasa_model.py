"""The project's trained model for the tests, trained once per change of what it is trained from.

CI starts from a clean checkout and trains once for the whole suite; locally the model is reused until
data, config or NLU code change (`bot.training.fingerprint`). The Rasa model carries a small but real
sentiment model (the `small` recipe: two MiniLM layers, fine-tuned for about a minute), built once and
cached the same way, instead of the default one that takes minutes to build.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from bot.processes import runtime_env
from bot.sentiment.defaults import ENV as SENTIMENT_ENV
from bot.sentiment.training import RECIPES, ensure_model
from bot.training import RASA, train_if_changed

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tandem" / "test-models"

__all__ = ["RASA", "ROOT", "CACHE", "rasa_env", "small_sentiment_model", "trained_model"]


@lru_cache(maxsize=1)
def small_sentiment_model() -> Path:
    """Built once (about a minute), then reused; every Rasa process the tests start serves it."""
    path = ensure_model(CACHE, RECIPES["small"], progress=False)
    os.environ[SENTIMENT_ENV] = str(path)
    return path


RATE_LIMITS = ("TANDEM_RATE_PER_CUSTOMER", "TANDEM_RATE_PER_ADDRESS", "TANDEM_RATE_LOGIN_PER_ADDRESS")


def rasa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Tests and benchmarks send everything from 127.0.0.1: rate limits off unless the caller's environment sets them."""
    limits = {name: os.environ.get(name, "0") for name in RATE_LIMITS}
    return runtime_env({**limits, SENTIMENT_ENV: str(small_sentiment_model()), **(extra or {})})


def trained_model() -> Path:
    small_sentiment_model()
    return train_if_changed(CACHE, env=rasa_env(), log=CACHE / "train.log")


@lru_cache(maxsize=1)
def nlu_parser():  # -> Callable[[str], dict]
    """The trained model's NLU in this process: text -> Rasa's parse data (intent ranking, entities, sentiment)."""
    import asyncio

    from rasa.core.agent import Agent

    os.environ.update(rasa_env())
    agent = Agent.load(str(trained_model()))
    loop = asyncio.new_event_loop()

    def parse(text: str) -> dict:
        return loop.run_until_complete(agent.parse_message(text))

    return parse
