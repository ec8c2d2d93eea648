"""Where Tandem's default sentiment model lives on this machine.

`TANDEM_SENTIMENT_MODEL` names any model folder (or hub id) to use instead; otherwise it is the build of
the `default` recipe (or the one `TANDEM_SENTIMENT_RECIPE` names) under `<models dir>/sentiment/`, made by
`tandem sentiment build`, and by `tandem up` in the background while it serves a quicker build.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bot.sentiment.data import SentimentDataMissing
from bot.sentiment.model import SentimentModelError, model_signature

if TYPE_CHECKING:
    from bot.sentiment.training import Recipe

ENV = "TANDEM_SENTIMENT_MODEL"
RECIPE_ENV = "TANDEM_SENTIMENT_RECIPE"


def default_recipe() -> Recipe:
    """The recipe whose build serves when no model is named: `default` unless TANDEM_SENTIMENT_RECIPE says."""
    from bot.sentiment.training import RECIPES

    name = os.environ.get(RECIPE_ENV) or "default"
    if name not in RECIPES:
        raise SentimentModelError(f"{RECIPE_ENV}={name!r} is not a sentiment recipe (one of {', '.join(RECIPES)})")
    return RECIPES[name]


def default_model_path() -> Path | str:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured) if Path(configured).exists() or configured.startswith((".", "/")) else configured
    from bot.sentiment.training import METADATA_FILE, model_dir
    from bot.settings import get_settings

    try:
        path = model_dir(get_settings().models_dir, default_recipe())
    except SentimentDataMissing as exc:
        raise SentimentModelError(f"cannot locate the default sentiment model: {exc}; or set {ENV}") from exc
    if not (path / METADATA_FILE).exists():
        raise SentimentModelError(
            f"Tandem's default sentiment model is not built yet ({path}): run `./tandem sentiment build` "
            f"(`./tandem up` does it for you), or set {ENV} to a model folder"
        )
    return path


def model_identity(source: Path | str | None = None) -> str:
    """Names the sentiment model a Rasa model would be trained with (part of `bot.training.fingerprint`):
    `source`, else the one the environment names."""
    if source is None:
        try:
            source = default_model_path()
        except SentimentModelError as exc:
            return f"unavailable: {exc}"
    return model_signature(source)
