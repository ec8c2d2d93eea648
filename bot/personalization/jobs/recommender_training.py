"""`tandem recs train`: fit every strategy's recommender on the database and publish the bundle.

The action servers pick the new bundle up within seconds (bot.personalization.model_store.ModelCache).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bot.db.models import utcnow
from bot.personalization.model_store import ModelBundle, publish
from bot.personalization.recommenders import HybridRecommender
from bot.personalization.shop_training_data import load_catalog, load_training_data

# What the engine can serve: the hybrid for personalized traffic, and its popularity component for
# customers without consent and as the experiment's baseline strategy.
STRATEGIES = ("hybrid", "popularity")


def _version(now: datetime, data_digest: str) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{data_digest[:8]}"


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes() if a.dtype != object else "\x1f".join(map(str, a)).encode())
    return h.hexdigest()


def train(
    session: Session,
    models_dir: Path,
    *,
    now: datetime | None = None,
    history_days: float = 365.0,
    progress: bool = True,
) -> ModelBundle:
    """Load consented behaviour, fit the strategies, publish; returns the published bundle."""
    now = now or utcnow()
    stages = tqdm(total=3, desc="recs train", unit="step", disable=not progress)
    started = time.perf_counter()
    stages.set_postfix_str("loading behaviour")
    data = load_training_data(session, now=now, history_days=history_days)
    _, product_ids = load_catalog(session)
    stages.update()
    with threadpool_limits(1, "blas"):  # implicit's ALS is faster (and quiet) with single-threaded BLAS
        stages.set_postfix_str("fitting the hybrid")
        t0 = time.perf_counter()
        hybrid = HybridRecommender().fit(data)
        fit_seconds = round(time.perf_counter() - t0, 2)
    stages.update()
    fitted = {"hybrid": hybrid, "popularity": hybrid.popularity}
    interactions = data.interactions
    bundle = ModelBundle(
        version=_version(
            now, _digest(interactions.users, interactions.items, interactions.weights, data.catalog.item_ids)
        ),
        trained_at=now,
        recommenders=fitted,
        catalog=data.catalog,
        product_ids=product_ids,
        user_ids=interactions.user_ids,
        metrics={
            "customers": interactions.n_users,
            "items": interactions.n_items,
            "events": interactions.n_events,
            "fit_seconds": fit_seconds,
        },
    )
    stages.set_postfix_str("publishing")
    publish(bundle, models_dir)
    stages.update()
    stages.close()
    bundle.metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    return bundle
