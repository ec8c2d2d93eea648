"""Trained recommender bundles on disk, and a cache that swaps in a refreshed one without a restart.

Layout under `<models>/personalization/`: one folder per version (`bundle.joblib` + `manifest.json`) and a
`CURRENT` file naming the live version. Publishing writes the folder first and replaces `CURRENT`
atomically last, so a reader sees the old model or the new one, never half of one. Every process (any
number of action servers) watches `CURRENT` and reloads on change.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from bot.personalization.recommenders.ranking import CatalogRules
from bot.personalization.training_data import ItemCatalog

logger = logging.getLogger(__name__)

CURRENT = "CURRENT"
BUNDLE = "bundle.joblib"
MANIFEST = "manifest.json"
KEEP_VERSIONS = 3


class NoModelError(RuntimeError):
    """No personalization model has been trained yet (`tandem recs train`)."""


@dataclass
class ModelBundle:
    """Everything the engine needs to serve: the fitted recommenders and the catalog they index."""

    version: str
    trained_at: datetime
    recommenders: Mapping[str, Any]  # strategy name -> fitted recommender ("hybrid", "popularity", ...)
    catalog: ItemCatalog
    product_ids: np.ndarray  # catalog index -> products.id
    user_ids: np.ndarray  # training row -> customer external id
    metrics: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rules: CatalogRules | None = None
        self._index_of_product = {int(pid): i for i, pid in enumerate(self.product_ids)}
        self._index_of_sku = {str(sku): i for i, sku in enumerate(self.catalog.item_ids)}
        self._row_of_user = {str(u): r for r, u in enumerate(self.user_ids)}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for derived in ("_rules", "_index_of_product", "_index_of_sku", "_row_of_user"):
            state.pop(derived, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def rules(self) -> CatalogRules:
        """The catalog's hard-filter tables, built once per loaded bundle (not per request)."""
        if self._rules is None:
            self._rules = CatalogRules.from_catalog(self.catalog)
        return self._rules

    def index_of_product(self, product_id: int) -> int | None:
        return self._index_of_product.get(int(product_id))

    def index_of_sku(self, sku: str) -> int | None:
        return self._index_of_sku.get(sku.strip().upper()) if sku else None

    def row_of_user(self, external_id: str) -> int | None:
        return self._row_of_user.get(external_id)


def store_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "personalization"


def publish(bundle: ModelBundle, models_dir: Path) -> Path:
    """Write `bundle` as a new version and make it the live one; older versions beyond a few are removed."""
    root = store_dir(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / bundle.version
    staging = root / f".{bundle.version}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    joblib.dump(bundle, staging / BUNDLE, compress=3)
    manifest = {
        "version": bundle.version,
        "trained_at": bundle.trained_at.isoformat(),
        "strategies": sorted(bundle.recommenders),
        "items": int(bundle.catalog.n_items),
        "users": int(len(bundle.user_ids)),
        "metrics": bundle.metrics,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    pointer = root / f".{CURRENT}.tmp"
    pointer.write_text(bundle.version)
    os.replace(pointer, root / CURRENT)
    _prune(root, keep=bundle.version)
    return final


def _prune(root: Path, keep: str) -> None:
    versions = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in versions[KEEP_VERSIONS:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(models_dir: Path) -> str | None:
    try:
        return (store_dir(models_dir) / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def load(models_dir: Path, version: str | None = None) -> ModelBundle:
    """The live bundle (or a given version); NoModelError when none was published."""
    version = version or current_version(models_dir)
    if version is None:
        raise NoModelError(f"no personalization model in {store_dir(models_dir)}: run `./tandem recs train`")
    path = store_dir(models_dir) / version / BUNDLE
    if not path.exists():
        raise NoModelError(f"personalization model {version} is missing its {BUNDLE} ({path})")
    return joblib.load(path)


class ModelCache:
    """The live bundle for a long-running process: re-reads `CURRENT` at most every `check_seconds` and
    loads a new version when it changed. A broken new version is logged and the old one kept serving."""

    def __init__(
        self,
        models_dir: Path,
        *,
        check_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._models_dir = Path(models_dir)
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._bundle: ModelBundle | None = None
        self._checked_at: float | None = None

    def get(self) -> ModelBundle | None:
        """The live bundle, or None while no model has been trained."""
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self._check_seconds:
            return self._bundle
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < self._check_seconds:
                return self._bundle
            self._checked_at = now
            version = current_version(self._models_dir)
            if version is None or (self._bundle is not None and self._bundle.version == version):
                return self._bundle
            try:
                self._bundle = load(self._models_dir, version)
                logger.info("personalization model %s loaded", version)
            except Exception:
                logger.exception(
                    "personalization model %s failed to load; keeping %s",
                    version,
                    self._bundle.version if self._bundle else "none",
                )
            return self._bundle
