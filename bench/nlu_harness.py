"""Train an NLU pipeline through Rasa's own API and parse texts with it: what the NLU benchmarks share."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Rasa caches trained components across runs; a benchmark must pay the full training cost each time.
os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")

import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent


def quiet_rasa() -> None:
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)


def train_and_parse(
    name: str, pipeline: list[dict[str, Any]], train_file: Path, texts: list[str], workdir: Path
) -> tuple[list[dict[str, Any]], float, list[float]]:
    """Returns (parse results, training seconds, per-message parse seconds)."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    config_path = workdir / f"{name}.config.yml"
    config_path.write_text(yaml.safe_dump({"recipe": "default.v1", "language": "en", "pipeline": pipeline}))
    started = time.perf_counter()
    model = train_nlu(str(config_path), str(train_file), output=str(workdir / name), fixed_model_name=name)
    train_s = time.perf_counter() - started
    agent = Agent.load(model)

    async def parse_all() -> tuple[list[dict[str, Any]], list[float]]:
        parsed, latencies = [], []
        for text in tqdm(texts, desc=f"{name}: parse", unit="msg", file=sys.stderr):
            t0 = time.perf_counter()
            parsed.append(await agent.parse_message(text))
            latencies.append(time.perf_counter() - t0)
        return parsed, latencies

    parsed, latencies = asyncio.run(parse_all())
    return parsed, train_s, latencies


def best_intent(parsed: dict[str, Any]) -> str:
    """The classifier's own best intent, also when the FallbackClassifier stepped in."""
    intent = parsed["intent"]["name"]
    if intent == "nlu_fallback":
        ranking = [r for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        intent = ranking[0]["name"] if ranking else intent
    return intent


def project_pipeline() -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
