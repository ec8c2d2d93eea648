"""Churn-risk model quality on customers it never saw: AUC, base rate, sizes, and the confusion at 0.5.

On the synthetic shop (default) the generator's own churn flag is also compared with the risk scored at
"now" (`ground_truth_auc`): the behavioural label is a proxy, the flag is what really happened. With
`--database-url` it trains on a real shop's database (consenting customers only, unless `--ignore-consent`
for a demo database that has no consent rows).

    python bench/churn.py [--customers 20000] [--seed 7] [--horizon-days 90] [--out bench/results/churn.json]
    python bench/churn.py --database-url sqlite:///.tandem/tandem.db [--now 2026-11-01T12:00]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.personalization.jobs.churn import ChurnModel, train_churn_model  # noqa: E402
from bot.personalization.jobs.customer_activity import (  # noqa: E402
    ACCESSORY_CATEGORIES,
    ActivityBuilder,
    EventLog,
    to_datetime,
    to_unix,
)
from bot.personalization.jobs.shop_activity import load_activity  # noqa: E402
from bot.shop.catalog import DEVICE_CATEGORIES  # noqa: E402


def synthetic_source(customers: int, seed: int) -> tuple[ActivityBuilder, float, dict[str, Any], Any]:
    """The synthetic shop's events as an activity builder, its clock, and its description."""
    from bench.personalization.synthetic import generate_shop

    shop = generate_shop(n_customers=customers, seed=seed)
    ev = shop.events
    categories = shop.catalog.categories[ev.items]
    purchase = ev.kinds == "purchase"
    log = EventLog(
        customer_ids=shop.customer_ids,
        users=ev.users,
        kinds=ev.kinds,
        amounts=np.where(purchase, shop.amounts, 0.0),
        timestamps=ev.timestamps,
        created_at=shop.signup_at,
        device=np.isin(categories, DEVICE_CATEGORIES),
        accessory=np.isin(categories, ACCESSORY_CATEGORIES),
        initial_devices=(shop.owned_devices >= 0).sum(axis=1),
    )
    info = {
        "source": "synthetic",
        "customers": customers,
        "seed": seed,
        "events": len(ev),
        "true_churn_share": round(float(shop.churned.mean()), 4),
    }
    return log, float(shop.now), info, shop


def database_source(url: str, now: str | None, ignore_consent: bool) -> tuple[ActivityBuilder, float, dict[str, Any]]:
    """A real shop's activity (aggregated in SQL) as a builder; `now` defaults to its newest order or event."""
    from sqlalchemy import func, select

    from bot.db.models import BehaviourEvent, Order
    from bot.db.session import session_factory
    from bot.personalization.jobs.segment_refresh import consented_mask

    session = session_factory(url)()
    if now is None:
        newest = [session.execute(select(func.max(c))).scalar() for c in (Order.placed_at, BehaviourEvent.occurred_at)]
        newest = [t for t in newest if t is not None]
        if not newest:
            raise SystemExit("the database holds no orders or behaviour events")
        when = max(newest)
    else:
        when = datetime.fromisoformat(now)
    first = load_activity(session, when)
    keep = np.ones(first.n_customers, bool) if ignore_consent else consented_mask(session, first)

    def build(t: Any) -> Any:
        activity = first if to_unix(t) == first.now else load_activity(session, t)
        return activity.subset(keep)

    info = {"source": "database", "customers": int(keep.sum()), "consent_respected": not ignore_consent}
    return build, to_unix(when), info


def report(model: ChurnModel) -> dict[str, Any]:
    confusion = model.confusion(0.5)
    predicted_churn = confusion["tp"] + confusion["fp"]
    actual_churn = confusion["tp"] + confusion["fn"]
    return {
        "model": model.kind,
        "auc_held_out": round(model.auc, 4),
        "cv_auc_train": {k: round(v, 4) for k, v in model.cv_auc.items()},
        "n_train": model.n_train,
        "n_test": model.n_test,
        "base_rate": round(model.base_rate, 4),
        "confusion_at_0.5": confusion,
        "precision_at_0.5": round(confusion["tp"] / predicted_churn, 4) if predicted_churn else None,
        "recall_at_0.5": round(confusion["tp"] / actual_churn, 4) if actual_churn else None,
        "accuracy_at_0.5": round((confusion["tp"] + confusion["tn"]) / max(model.n_test, 1), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--horizon-days", type=float, default=90.0)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--database-url", help="train on this shop database instead of the synthetic shop")
    parser.add_argument("--now", help="ISO time the database's label window ends (default: its newest event)")
    parser.add_argument("--ignore-consent", action="store_true", help="database: use every customer (demo data)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "churn.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    shop = None
    if args.database_url:
        builder, now, info = database_source(args.database_url, args.now, args.ignore_consent)
    else:
        builder, now, info, shop = synthetic_source(args.customers, args.seed)
    prepared = time.perf_counter() - started

    started = time.perf_counter()
    model = train_churn_model(
        builder, now, horizon_days=args.horizon_days, test_fraction=args.test_fraction, seed=args.seed
    )
    trained = time.perf_counter() - started

    result: dict[str, Any] = {
        **info,
        "now": to_datetime(now).isoformat(),
        "horizon_days": args.horizon_days,
        "test_fraction": args.test_fraction,
        **report(model),
        "seconds_data": round(prepared, 2),
        "seconds_train": round(trained, 2),
    }
    if shop is not None:
        started = time.perf_counter()
        risk = model.predict_risk(builder(now))
        result["ground_truth_auc"] = round(float(roc_auc_score(shop.churned, risk)), 4)
        result["seconds_score_all"] = round(time.perf_counter() - started, 2)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
