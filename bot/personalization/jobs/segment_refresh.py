"""The nightly segment refresh (`tandem recs segments`): RFM, clusters, churn risk and next-best-action for
every customer, written to `customer_segments` (one customer's row: `bot.personalization.store.segment_of`).

Only customers who consented to personalization are segmented from behaviour, and only their behaviour
shapes the quintiles, the clusters and the churn model. Everyone else gets a neutral row (scores 1,
segment "no_consent", risk 0, no action) so the table always has one row per customer and the console never
mistakes "no consent" for "not refreshed yet". Open issues are not known here: the engine checks them when
it serves the action.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.db.models import CustomerSegment, utcnow
from bot.personalization.jobs.behaviour_clusters import cluster_customers
from bot.personalization.jobs.churn import ChurnModel, NotEnoughCustomers, train_churn_model
from bot.personalization.jobs.customer_activity import ActivityBuilder, CustomerActivity, TimeLike, to_unix
from bot.personalization.jobs.next_best_action import (
    DEFAULT_RULES,
    NONE,
    REASON_NO_CONSENT,
    NextBestActionRules,
    next_best_actions,
)
from bot.personalization.jobs.rfm import rfm_scores
from bot.personalization.jobs.shop_activity import load_activity
from bot.personalization.store import consented_customer_ids

NO_CONSENT_SEGMENT = "no_consent"
NO_CONSENT_CLUSTER = -1
NO_CONSENT_LABEL = "no consent"
_CHUNK = 5_000  # rows per INSERT executemany


@dataclass(frozen=True)
class RefreshSummary:
    """What a refresh wrote (printed by `tandem recs segments`)."""

    customers: int
    consented: int
    segments: dict[str, int]
    clusters: dict[str, int]  # cluster label -> customers
    actions: dict[str, int]
    churn_auc: float | None  # the model's held-out AUC (from its training); None without a model
    churn_base_rate: float | None
    churn_model: str | None  # kind of model used (None: too few customers, everyone scored 0)
    model_version: str
    model_path: str | None
    seconds: float

    def __str__(self) -> str:
        def counts(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))

        churn = "no churn model (too few consenting customers)"
        if self.churn_model is not None:
            auc = "n/a" if self.churn_auc is None or self.churn_auc != self.churn_auc else f"{self.churn_auc:.3f}"
            rate = "n/a" if self.churn_base_rate is None else f"{self.churn_base_rate:.2f}"
            churn = f"churn model {self.churn_model} (held-out AUC {auc}, base rate {rate})"
        saved = f", saved to {self.model_path}" if self.model_path else ""
        return (
            f"Segmented {self.customers} customers ({self.consented} consenting) in {self.seconds:.1f} s; "
            f"{churn}{saved}.\n"
            f"  RFM segments: {counts(self.segments)}\n"
            f"  clusters: {counts(self.clusters)}\n"
            f"  next-best-action: {counts(self.actions)}"
        )


def consented_mask(session: Session, activity: CustomerActivity) -> np.ndarray:
    """Which customers of a database-built activity consented to personalization."""
    assert activity.db_ids is not None, "an activity built from the database knows its customers' ids"
    granted = np.fromiter(consented_customer_ids(session), dtype=np.int64)
    return np.isin(activity.db_ids, granted)


def _builder(session: Session, loaded: CustomerActivity, keep: np.ndarray) -> ActivityBuilder:
    """Consenting customers' activity at any time, reusing the snapshot already loaded for `now`."""

    def build(when: TimeLike) -> CustomerActivity:
        activity = loaded if to_unix(when) == loaded.now else load_activity(session, when)
        return activity.subset(keep)

    return build


def _chunks(rows: list[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def refresh_segments(
    session: Session,
    now: datetime | None = None,
    progress: bool = True,
    k: int = 6,
    *,
    churn_model: ChurnModel | str | Path | None = None,
    model_path: str | Path | None = None,
    horizon_days: float = 90.0,
    rules: NextBestActionRules = DEFAULT_RULES,
    seed: int = 0,
) -> RefreshSummary:
    """Recompute and replace every `customer_segments` row in the session's transaction (the caller commits).

    `churn_model` (a model or a joblib file) is used as is; otherwise one is trained on consenting customers
    (features at `now - horizon_days`, labels from the days after) and saved to `model_path` when given.
    """
    started = time.perf_counter()
    now = now or utcnow()
    stages = iter(("loading activity", "RFM and clusters", "churn model", "risk and next-best-action", "writing"))
    bar = tqdm(total=5, desc="segments", unit="stage", disable=not progress, leave=False)

    def step(done: bool = True) -> None:
        """Tick the finished stage and name the next one."""
        if done:
            bar.update(1)
        bar.set_postfix_str(next(stages, "done"))

    step(done=False)
    activity = load_activity(session, now)
    keep = consented_mask(session, activity)
    mine = activity.subset(keep)
    assert activity.db_ids is not None and mine.db_ids is not None, "load_activity gives the customers' ids"
    step()

    rfm = rfm_scores(mine)
    clusters = cluster_customers(mine, k=k, random_state=seed)
    step()

    saved_to: str | None = None
    model: ChurnModel | None
    if isinstance(churn_model, (str, Path)):
        model = joblib.load(churn_model)
    elif churn_model is None:
        try:
            model = train_churn_model(_builder(session, activity, keep), now, horizon_days, seed=seed)
        except NotEnoughCustomers:
            model = None
        if model is not None and model_path is not None:
            Path(model_path).parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(model, model_path)
            saved_to = str(model_path)
    else:
        model = churn_model
    step()

    risk = model.predict_risk(mine) if model is not None else np.zeros(mine.n_customers)
    actions, reasons = next_best_actions(
        churn_risk=risk,
        recency_score=rfm.recency,
        monetary_score=rfm.monetary,
        spend_12m=mine.spend_365d,
        devices=mine.devices,
        accessories=mine.accessories,
        days_since_device=mine.days_since_device,
        rules=rules,
    )
    step()

    version = f"k{k}-{model.version if model is not None else 'no-churn-model'}"[:32]
    refreshed_at = utcnow()
    neutral = {
        "recency_score": 1,
        "frequency_score": 1,
        "monetary_score": 1,
        "rfm_segment": NO_CONSENT_SEGMENT,
        "cluster": NO_CONSENT_CLUSTER,
        "cluster_label": NO_CONSENT_LABEL,
        "churn_risk": 0.0,
        "next_best_action": NONE,
        "next_best_action_reason": REASON_NO_CONSENT,
        "refreshed_at": refreshed_at,
        "model_version": version,
    }
    rows = [{"customer_id": cid, **neutral} for cid in activity.db_ids[~keep].tolist()]
    cluster_labels = clusters.label_of()
    columns = zip(
        mine.db_ids.tolist(),
        rfm.recency.tolist(),
        rfm.frequency.tolist(),
        rfm.monetary.tolist(),
        rfm.segment.tolist(),
        clusters.labels.tolist(),
        cluster_labels.tolist(),
        risk.tolist(),
        actions.tolist(),
        reasons,
    )
    rows += [
        {
            "customer_id": cid,
            "recency_score": r,
            "frequency_score": f,
            "monetary_score": m,
            "rfm_segment": seg,
            "cluster": c,
            "cluster_label": label,
            "churn_risk": p,
            "next_best_action": action,
            "next_best_action_reason": reason[:200],
            "refreshed_at": refreshed_at,
            "model_version": version,
        }
        for cid, r, f, m, seg, c, label, p, action, reason in columns
    ]
    session.execute(delete(CustomerSegment))
    for chunk in _chunks(rows):
        session.execute(insert(CustomerSegment), chunk)
    session.flush()
    step()
    bar.close()

    return RefreshSummary(
        customers=activity.n_customers,
        consented=mine.n_customers,
        segments=dict(Counter(r["rfm_segment"] for r in rows)),
        clusters=dict(Counter(r["cluster_label"] for r in rows)),
        actions=dict(Counter(r["next_best_action"] for r in rows)),
        churn_auc=model.auc if model is not None else None,
        churn_base_rate=model.base_rate if model is not None else None,
        churn_model=model.kind if model is not None else None,
        model_version=version,
        model_path=saved_to,
        seconds=round(time.perf_counter() - started, 2),
    )
