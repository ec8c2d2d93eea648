"""The churn model learns real signal, not noise, from customers it is then evaluated apart from, and it never
looks past its cutoff."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from bot.personalization.jobs.churn import (
    NotEnoughCustomers,
    churn_dataset,
    churn_features,
    fit_churn_model,
    train_churn_model,
)
from bot.personalization.jobs.customer_activity import DAY, EventLog

END = 500 * DAY  # "now" of the generated shop
HORIZON = 90


def shop_with_churn(n: int = 600, seed: int = 0) -> EventLog:
    """Customers join over 450 days, act at a personal rate and leave at a random time (exponential, mean
    250 days): whether someone is still active after the cutoff is predictable from how they behaved before."""
    rng = np.random.default_rng(seed)
    joined = rng.uniform(0, 450, n)
    rate = rng.lognormal(np.log(0.08), 0.8, n)  # events per day
    stop = np.minimum(joined + rng.exponential(250, n), END / DAY)
    users = np.repeat(np.arange(n), rng.poisson(rate * (stop - joined)))
    days = rng.uniform(joined[users], stop[users])
    kinds = np.where(rng.random(len(users)) < 0.25, "purchase", "view")
    amounts = np.where(kinds == "purchase", rng.lognormal(4, 1, len(users)), 0.0)
    return EventLog(
        customer_ids=np.array([f"C{i}" for i in range(n)], dtype=object),
        users=users,
        kinds=kinds,
        amounts=amounts,
        timestamps=days * DAY,
        created_at=joined * DAY,
    )


@pytest.fixture(scope="module")
def log() -> EventLog:
    return shop_with_churn()


@pytest.fixture(scope="module")
def model(log: EventLog):
    return train_churn_model(log, END, horizon_days=HORIZON, test_fraction=0.25, seed=0)


def test_model_ranks_held_out_customers_well_above_chance(model, log):
    assert model.auc > 0.75
    assert model.n_train + model.n_test == int((log.created_at <= END - HORIZON * DAY).sum())
    assert 0.2 < model.base_rate < 0.8
    assert model.kind in model.cv_auc  # picked by cross-validation on the training customers


def test_model_learns_nothing_from_shuffled_labels(log):
    data = churn_dataset(log, END, HORIZON)
    shuffled = data.with_labels(np.random.default_rng(1).permutation(data.y))
    assert abs(fit_churn_model(shuffled, seed=0).auc - 0.5) < 0.12


def test_held_out_customers_are_never_seen_in_training(model):
    train, test = set(model.train_customers), set(model.test_customers)
    assert not train & test
    assert len(train) == model.n_train and len(test) == model.n_test


def test_features_at_the_cutoff_ignore_everything_after_it(log):
    cutoff = END - HORIZON * DAY
    late = 40
    later = EventLog(
        customer_ids=log.customer_ids,
        users=np.concatenate([log.users, np.arange(late)]),
        kinds=np.concatenate([log.kinds, np.full(late, "purchase")]),
        amounts=np.concatenate([log.amounts, np.full(late, 999.0)]),
        timestamps=np.concatenate([log.timestamps, np.full(late, cutoff + DAY)]),
        created_at=log.created_at,
    )
    assert np.array_equal(churn_features(log(cutoff)), churn_features(later(cutoff)))
    before, after = churn_dataset(log, END, HORIZON), churn_dataset(later, END, HORIZON)
    assert np.array_equal(before.X, after.X)
    assert not np.array_equal(before.y, after.y)  # the late purchases only change labels


def test_label_is_one_exactly_for_customers_inactive_after_the_cutoff():
    cutoff_day = (END / DAY) - HORIZON
    log = EventLog(
        customer_ids=np.array(["active", "gone", "never"], dtype=object),
        users=np.array([0, 0, 1]),
        kinds=np.array(["view", "view", "purchase"]),
        amounts=np.array([0.0, 0.0, 50.0]),
        timestamps=np.array([cutoff_day - 10, cutoff_day + 5, cutoff_day - 10]) * DAY,
        created_at=np.array([0.0, 0.0, 0.0]),
    )
    data = churn_dataset(log, END, HORIZON)
    assert dict(zip(data.customer_ids, data.y.tolist())) == {"active": 0, "gone": 1, "never": 1}


def test_customers_who_signed_up_after_the_cutoff_are_not_trained_on(log):
    cutoff = END - HORIZON * DAY
    data = churn_dataset(log, END, HORIZON)
    joined_late = set(log.customer_ids[log.created_at > cutoff])
    assert joined_late  # the generated shop has some
    assert not joined_late & set(data.customer_ids)


def test_model_survives_a_joblib_round_trip(model, log, tmp_path):
    path = tmp_path / "churn.joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path)
    activity = log(END)
    risk = loaded.predict_risk(activity)
    assert np.array_equal(risk, model.predict_risk(activity))
    assert risk.shape == (600,) and risk.min() >= 0 and risk.max() <= 1


def test_risk_is_higher_for_customers_who_went_quiet(model, log):
    activity = log(END)
    risk = model.predict_risk(activity)
    quiet = activity.inactive_days > 120
    assert risk[quiet].mean() > risk[~quiet].mean() + 0.3


def test_confusion_counts_add_up_to_the_held_out_customers(model):
    confusion = model.confusion(0.5)
    assert sum(confusion.values()) == model.n_test
    assert confusion["tp"] + confusion["fn"] == int(model.test_labels.sum())


def test_too_few_customers_is_an_explicit_error():
    with pytest.raises(NotEnoughCustomers):
        train_churn_model(shop_with_churn(n=5), END, HORIZON)
