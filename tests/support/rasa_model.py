"""Train the project's model once per change of what it is trained from, and reuse it across runs.

The key covers everything `rasa train` reads plus our NLU components' code, so a cached model is never
stale; CI starts from a clean checkout and trains once for the whole suite.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable

ROOT = Path(__file__).resolve().parents[2]
RASA = str(Path(sys.executable).with_name("rasa"))
CACHE = ROOT / ".tandem" / "test-models"


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


def _inputs() -> Iterable[Path]:
    yield ROOT / "config.yml"
    yield ROOT / "domain.yml"
    yield from sorted((ROOT / "data").rglob("*.yml"))
    yield from sorted((ROOT / "bot" / "nlu").rglob("*.py"))
    yield ROOT / "requirements" / "lock.txt"


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def trained_model() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    key = fingerprint()
    model = CACHE / f"{key}.tar.gz"
    if model.exists():
        return model
    started = time.monotonic()
    print(f"\ntraining the Tandem model for the tests (key {key})...", file=sys.stderr, flush=True)
    log = CACHE / f"{key}.train.log"
    with log.open("w") as out:
        result = subprocess.run(
            [RASA, "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
             "--out", str(CACHE), "--fixed-model-name", key],
            cwd=ROOT, env=rasa_env(), stdout=out, stderr=subprocess.STDOUT, timeout=1200,
        )
    if result.returncode != 0 or not model.exists():
        raise RuntimeError(f"rasa train failed ({result.returncode}); its output ends:\n{log.read_text()[-4000:]}")
    print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return model
