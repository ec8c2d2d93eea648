"""Published models are swapped in by running processes without a restart, and a bad publish never
takes serving down."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from bot.personalization import model_store
from bot.personalization.model_store import ModelBundle, ModelCache, NoModelError
from bot.personalization.training_data import ItemCatalog


def _catalog() -> ItemCatalog:
    return ItemCatalog(
        item_ids=np.array(["PHN-0001", "PAC-0001"], dtype=object),
        names=np.array(["Phone", "Case"], dtype=object),
        categories=np.array(["phones", "phone_accessories"], dtype=object),
        brands=np.array(["Apple", "Spigen"], dtype=object),
        prices=np.array([799.0, 19.0]),
        text=np.array(["phone", "case"], dtype=object),
        family=np.array(["iphone", None], dtype=object),
        fits=(frozenset(), frozenset({"iphone"})),
        active=np.array([True, True]),
    )


def _bundle(version: str, marker: str = "m") -> ModelBundle:
    return ModelBundle(
        version=version,
        trained_at=datetime(2026, 11, 23),
        recommenders={"popularity": {"marker": marker}},
        catalog=_catalog(),
        product_ids=np.array([11, 12]),
        user_ids=np.array(["CUST-00001"], dtype=object),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_without_a_published_model_loading_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(NoModelError, match="tandem recs train"):
        model_store.load(tmp_path)
    assert ModelCache(tmp_path).get() is None


def test_a_bundle_round_trips_with_its_lookups(tmp_path: Path) -> None:
    model_store.publish(_bundle("v1"), tmp_path)
    loaded = model_store.load(tmp_path)
    assert loaded.version == "v1"
    assert loaded.index_of_product(12) == 1 and loaded.index_of_sku("pac-0001") == 1
    assert loaded.row_of_user("CUST-00001") == 0 and loaded.row_of_user("CUST-99999") is None
    assert (tmp_path / "personalization" / "v1" / "manifest.json").exists()


def test_a_running_process_picks_up_a_refreshed_model_after_its_check_interval(tmp_path: Path) -> None:
    clock = Clock()
    cache = ModelCache(tmp_path, check_seconds=2.0, clock=clock)
    model_store.publish(_bundle("v1", "old"), tmp_path)
    assert cache.get().recommenders["popularity"]["marker"] == "old"
    model_store.publish(_bundle("v2", "new"), tmp_path)
    clock.now = 1.0
    assert cache.get().version == "v1"  # not re-checked yet: no file system access per request
    clock.now = 2.5
    assert cache.get().version == "v2"


def test_a_broken_publish_keeps_the_previous_model_serving(tmp_path: Path) -> None:
    clock = Clock()
    cache = ModelCache(tmp_path, check_seconds=1.0, clock=clock)
    model_store.publish(_bundle("v1"), tmp_path)
    assert cache.get().version == "v1"
    broken = tmp_path / "personalization" / "v2"
    broken.mkdir()
    (broken / model_store.BUNDLE).write_bytes(b"not a joblib file")
    (tmp_path / "personalization" / model_store.CURRENT).write_text("v2")
    clock.now = 5.0
    assert cache.get().version == "v1"


def test_only_the_newest_versions_are_kept_on_disk(tmp_path: Path) -> None:
    for k in range(6):
        model_store.publish(_bundle(f"v{k}"), tmp_path)
    kept = sorted(p.name for p in (tmp_path / "personalization").iterdir() if p.is_dir())
    assert len(kept) == model_store.KEEP_VERSIONS and "v5" in kept
    assert model_store.current_version(tmp_path) == "v5"
