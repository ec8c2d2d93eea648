"""Train the Rasa model only when something it is trained from changed.

The fingerprint covers everything `rasa train` reads plus our NLU components' code and the pinned
environment, so a model named after it is never stale. `tandem up` and the tests share it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from bot.domain_files import domain_files
from bot.run_lock import die_with_parent
from bot.settings import PROJECT_ROOT

RASA = str(Path(sys.executable).with_name("rasa"))


def training_inputs(root: Path = PROJECT_ROOT) -> Iterable[Path]:
    """What `rasa train` reads, and the code it runs. Not the workflows (workflows/) or the handoff rules
    (config/handoff.yml): the action server reads those, so editing them needs no new model."""
    yield root / "config.yml"
    yield from domain_files(root / "domain")
    yield from sorted((root / "data").rglob("*.yml"))
    yield from sorted((root / "bot" / "nlu").rglob("*.py"))
    yield from sorted((root / "bot" / "policies").rglob("*.py"))
    yield from sorted((root / "bot" / "sentiment").rglob("*.py"))
    yield root / "requirements" / "lock.txt"


def fingerprint(root: Path = PROJECT_ROOT, sentiment_model: Path | None = None) -> str:
    from bot.sentiment.defaults import model_identity

    digest = hashlib.sha256()
    for path in training_inputs(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    # The sentiment model is copied into the Rasa model, so a different one means a new Rasa model.
    digest.update(model_identity(sentiment_model).encode())
    return digest.hexdigest()[:16]


def train_if_changed(
    models_dir: Path,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    sentiment_model: Path | None = None,
    background: bool = False,
) -> Path:
    """The model for the current data: reused if it exists, else trained (progress goes to `log` or stdout).

    `sentiment_model` overrides the one the environment names; `background` trains at low CPU priority, beside
    an assistant that is serving."""
    from bot.sentiment.defaults import ENV as SENTIMENT_ENV

    models_dir.mkdir(parents=True, exist_ok=True)
    key = fingerprint(sentiment_model=sentiment_model)
    model = models_dir / f"tandem-{key}.tar.gz"
    if model.exists():
        print(f"model {model.name} is up to date", flush=True)
        return model
    where = f"; Rasa's output goes to {log}" if log is not None else ""
    print(f"training {model.name} (about a minute{where})...", flush=True)
    started = time.monotonic()
    # bot.rasa_cli: Rasa's `rasa train`, without the warnings about responses that only actions send.
    command = [
        sys.executable,
        "-m",
        "bot.rasa_cli",
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain",
        "--data",
        "data",
        "--out",
        str(models_dir),
        "--fixed-model-name",
        model.name[: -len(".tar.gz")],
    ]
    if background:
        command = ["nice", "-n", "10", *command]
    run_env = dict(env if env is not None else os.environ)
    if sentiment_model is not None:
        run_env[SENTIMENT_ENV] = str(sentiment_model)
    # Training stops with the process that asked for it (`tandem up` stopped during a background training).
    if log is None:
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=run_env, preexec_fn=die_with_parent)
    else:
        with log.open("w") as out:
            result = subprocess.run(
                command, cwd=PROJECT_ROOT, env=run_env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )
    if result.returncode != 0 or not model.exists():
        tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"rasa train failed with exit code {result.returncode}\n{tail}")
    print(f"trained in {time.monotonic() - started:.0f} s", flush=True)
    return model
