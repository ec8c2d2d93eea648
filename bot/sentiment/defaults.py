"""Where Tandem's default sentiment model lives on this machine.

`TANDEM_SENTIMENT_MODEL` names any model folder (or hub id) to use instead; otherwise it is the build of
the `default` recipe under `<models dir>/sentiment/`, made by `tandem sentiment build` (and by
`tandem up` when it is missing).
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.sentiment.data import SentimentDataMissing
from bot.sentiment.model import SentimentModelError, model_signature

ENV = "TANDEM_SENTIMENT_MODEL"


def default_model_path() -> Path | str:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured) if Path(configured).exists() or configured.startswith((".", "/")) else configured
    from bot.sentiment.training import RECIPES, METADATA_FILE, model_dir
    from bot.settings import get_settings

    try:
        path = model_dir(get_settings().models_dir, RECIPES["default"])
    except SentimentDataMissing as exc:
        raise SentimentModelError(f"cannot locate the default sentiment model: {exc}; or set {ENV}") from exc
    if not (path / METADATA_FILE).exists():
        raise SentimentModelError(
            f"Tandem's default sentiment model is not built yet ({path}): run `./tandem sentiment build` "
            f"(`./tandem up` does it for you), or set {ENV} to a model folder"
        )
    return path


def model_identity() -> str:
    """Names the sentiment model a Rasa model would be trained with (part of `bot.training.fingerprint`)."""
    try:
        source = default_model_path()
    except SentimentModelError as exc:
        return f"unavailable: {exc}"
    return model_signature(source)
