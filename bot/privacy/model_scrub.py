"""The recommender's model bundles hold customers' external ids (`ModelBundle.user_ids`, the training rows):
an erased customer's id is blanked in every kept version.

No per-customer factors are stored: ALS keeps item factors only and folds a customer in from their history
at request time (bot.personalization.recommenders.als), and that history is deleted with the customer. The
item factors, similarities and popularity lists are aggregates over everyone and stay.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import joblib
import numpy as np

from bot.personalization import model_store

log = logging.getLogger(__name__)


class ModelScrubFailed(Exception):
    """A model bundle that holds the customer's id could not be rewritten."""


def _bundle_files(models_dir: Path) -> list[Path]:
    root = model_store.store_dir(models_dir)
    if not root.is_dir():
        return []
    return sorted(
        p / model_store.BUNDLE
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / model_store.BUNDLE).exists()
    )


def forget_customer(models_dir: Path, external_id: str) -> int:
    """Blank `external_id` in every stored bundle's training rows (written to a temporary file, then swapped
    in); how many bundles held it. A running process keeps the copy it loaded until its next reload."""
    changed = 0
    for path in _bundle_files(models_dir):
        try:
            bundle = joblib.load(path)
            user_ids = np.asarray(bundle.user_ids, dtype=object)
            hits = user_ids == external_id
            if not hits.any():
                continue
            user_ids[hits] = ""
            bundle.user_ids = user_ids
            staging = path.with_name(f".{path.name}.tmp")
            joblib.dump(bundle, staging, compress=3)
            os.replace(staging, path)
        except Exception as exc:
            raise ModelScrubFailed(f"could not rewrite {path}: {exc}") from exc
        changed += 1
        log.info("blanked an erased customer's id in %s", path)
    return changed
