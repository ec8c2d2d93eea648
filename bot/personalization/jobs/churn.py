"""Churn risk: how likely a customer is to do nothing at all in the next `horizon_days`.

Training looks back in time: features are the activity snapshot at `cutoff = now - horizon` (built by the
same `churn_features` that scores customers today), the label is "no purchase and no engagement between
cutoff and now". Customers are split, not events: the reported AUC is on customers the model never saw, and
the choice between a linear and a boosted model is made by cross-validation on the training customers only,
so that choice does not flatter the held-out figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bot.personalization.jobs.customer_activity import (
    DAY,
    ActivityBuilder,
    CustomerActivity,
    TimeLike,
    to_datetime,
    to_unix,
)

FEATURE_NAMES = (
    "days_inactive",
    "days_since_purchase",
    "purchases",
    "monetary",
    "spend_365d",
    "purchases_90d",
    "events_30d",
    "events_90d",
    "views",
    "clicks",
    "mentions",
    "impressions",
    "dismissals",
    "return_rate",
    "tenure_days",
    "devices",
    "accessories",
    "has_purchased",
)


def churn_features(activity: CustomerActivity) -> np.ndarray:
    """Customers x FEATURE_NAMES, relative to `activity.now` only (so a past snapshot gives past features).

    Counts, money and day spans are log1p'd. "Never" (no purchase, no engagement) is read as "not since
    they joined", which keeps the features finite for the linear model.
    """
    tenure = activity.tenure_days
    inactive = np.where(np.isnan(activity.inactive_days), tenure, activity.inactive_days)
    since_purchase = np.where(np.isnan(activity.recency_days), tenure, activity.recency_days)
    logged = np.column_stack(
        [
            inactive,
            since_purchase,
            activity.purchases,
            activity.monetary,
            activity.spend_365d,
            activity.purchases_90d,
            activity.events_30d,
            activity.events_90d,
            activity.views,
            activity.clicks,
            activity.mentions,
            activity.impressions,
            activity.dismissals,
        ]
    ).astype(np.float64)
    return np.column_stack(
        [
            np.log1p(np.clip(logged, 0, None)),
            activity.return_rate,
            np.log1p(tenure),
            np.log1p(activity.devices),
            np.log1p(activity.accessories),
            (activity.purchases > 0).astype(np.float64),
        ]
    )


@dataclass(frozen=True)
class ChurnDataset:
    """One row per customer known at the cutoff: features at the cutoff, label 1 = churned in the horizon."""

    customer_ids: np.ndarray
    X: np.ndarray
    y: np.ndarray  # int64 0/1
    cutoff: float  # Unix seconds
    now: float
    horizon_days: float

    def with_labels(self, y: np.ndarray) -> ChurnDataset:
        """The same customers with other labels (e.g. shuffled, to check a model learns nothing from noise)."""
        return replace(self, y=np.asarray(y, dtype=np.int64))


def churn_dataset(builder: ActivityBuilder, now: TimeLike, horizon_days: float = 90.0) -> ChurnDataset:
    """Features from the snapshot at `now - horizon_days`; labels from what happened after it, up to `now`.

    The builder is called twice (at the cutoff and at `now`) and must list the same customers both times.
    Customers who did not exist at the cutoff are left out.
    """
    t_now = to_unix(now)
    cutoff = t_now - horizon_days * DAY
    before = builder(cutoff)
    after = builder(t_now)
    if not np.array_equal(before.customer_ids, after.customer_ids):
        raise ValueError("the activity builder listed different customers at the cutoff and at now")
    known = before.exists
    active_after = after.last_activity_at > cutoff  # NaN (never active) compares False
    return ChurnDataset(
        customer_ids=before.customer_ids[known],
        X=churn_features(before)[known],
        y=(~active_after[known]).astype(np.int64),
        cutoff=cutoff,
        now=t_now,
        horizon_days=horizon_days,
    )


def candidate_models(seed: int = 0) -> dict[str, ClassifierMixin]:
    """The two contenders: a scaled logistic regression and gradient-boosted trees."""
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed
        ),
    }


@dataclass
class ChurnModel:
    """A fitted churn classifier plus how it was evaluated (figures are on held-out customers)."""

    estimator: ClassifierMixin | Pipeline
    kind: str  # "logistic", "gradient_boosting" or "constant" (one class only: nothing to learn)
    horizon_days: float
    cutoff: float  # Unix seconds of the training snapshot
    trained_now: float  # Unix seconds of the end of the label window
    auc: float  # roc_auc_score on held-out customers (NaN when they hold one class only)
    cv_auc: dict[str, float]  # per candidate, cross-validated on training customers
    n_train: int
    n_test: int
    base_rate: float  # share of churned customers among all labelled ones
    train_customers: np.ndarray
    test_customers: np.ndarray
    test_labels: np.ndarray
    test_scores: np.ndarray
    feature_names: tuple[str, ...] = FEATURE_NAMES

    @property
    def version(self) -> str:
        """Short tag stored with every segment row (fits `customer_segments.model_version`)."""
        short = {"logistic": "lr", "gradient_boosting": "gb", "constant": "const"}.get(self.kind, self.kind)
        return f"churn-{short}-{to_datetime(self.trained_now):%Y%m%d}"

    def predict_risk(self, activity: CustomerActivity) -> np.ndarray:
        """Probability (0..1) that each customer does nothing in the next `horizon_days` after `activity.now`."""
        if activity.n_customers == 0:
            return np.zeros(0)
        return _positive_proba(self.estimator, churn_features(activity))

    def confusion(self, threshold: float = 0.5) -> dict[str, int]:
        """Held-out confusion counts when "churn" means risk >= threshold."""
        predicted = (self.test_scores >= threshold).astype(np.int64)
        tn, fp, fn, tp = confusion_matrix(self.test_labels, predicted, labels=[0, 1]).ravel()
        return {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)}


def _threads(n_rows: int) -> int:
    """OpenMP threads for boosting: below ~20k rows the per-iteration work is too small to share, and on a
    busy 2-core machine the threads' spin-waiting made fits 5x slower than one thread."""
    return 1 if n_rows < 20_000 else 2


def _positive_proba(estimator: ClassifierMixin, X: np.ndarray) -> np.ndarray:
    with threadpool_limits(limits=_threads(len(X))):
        proba = estimator.predict_proba(X)
    classes = list(estimator.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return proba[:, classes.index(1)].astype(np.float64)


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(y, scores)) if len(np.unique(y)) == 2 else float("nan")


MIN_CUSTOMERS = 10  # below this there is no held-out set worth the name


class NotEnoughCustomers(ValueError):
    """Too few customers were known at the cutoff to train and evaluate a churn model."""


def fit_churn_model(data: ChurnDataset, test_fraction: float = 0.25, seed: int = 0) -> ChurnModel:
    """Split customers, pick the candidate with the best cross-validated AUC on the training part, report AUC
    on the held-out part."""
    n = len(data.y)
    if n < MIN_CUSTOMERS:
        raise NotEnoughCustomers(f"{n} customers known at the cutoff; a churn model needs {MIN_CUSTOMERS}")
    index = np.arange(n)
    stratify = data.y if np.bincount(data.y, minlength=2).min() >= 2 else None
    train, test = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=stratify)
    X_train, y_train = data.X[train], data.y[train]
    smallest_class = np.bincount(y_train, minlength=2).min()
    cv_auc: dict[str, float] = {}
    if smallest_class == 0:
        kind, estimator = "constant", DummyClassifier(strategy="prior")
    else:
        candidates = candidate_models(seed)
        if smallest_class >= 2:
            folds = StratifiedKFold(n_splits=min(3, smallest_class), shuffle=True, random_state=seed)
            with threadpool_limits(limits=_threads(len(y_train))):
                for name, model in candidates.items():
                    cv_auc[name] = float(np.mean(cross_val_score(model, X_train, y_train, cv=folds, scoring="roc_auc")))
            kind = max(cv_auc, key=cv_auc.__getitem__)
        else:
            kind = "logistic"  # too few of one class to cross-validate: the simpler model
        estimator = clone(candidates[kind])
    with threadpool_limits(limits=_threads(len(y_train))):
        estimator.fit(X_train, y_train)
    scores = _positive_proba(estimator, data.X[test])
    return ChurnModel(
        estimator=estimator,
        kind=kind,
        horizon_days=data.horizon_days,
        cutoff=data.cutoff,
        trained_now=data.now,
        auc=_auc(data.y[test], scores),
        cv_auc=cv_auc,
        n_train=len(train),
        n_test=len(test),
        base_rate=float(data.y.mean()) if n else float("nan"),
        train_customers=data.customer_ids[train],
        test_customers=data.customer_ids[test],
        test_labels=data.y[test],
        test_scores=scores,
    )


def train_churn_model(
    builder: ActivityBuilder,
    now: TimeLike | datetime,
    horizon_days: float = 90.0,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> ChurnModel:
    """Train on behaviour up to `now - horizon_days`, labelled by the `horizon_days` that followed.

    `builder(t)` returns the activity snapshot at time t: an `EventLog`, or `lambda t: load_activity(session, t)`.
    """
    return fit_churn_model(churn_dataset(builder, now, horizon_days), test_fraction=test_fraction, seed=seed)
